"""One contract for every port, run over the in-memory adapters and over the DynamoDB adapters (moto over HTTP).

The unit tests trust the fakes; this keeps them honest: the same plans, the same
failed conditions, the same errors, the same reads, in both.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest

from domain.admin import Role, Staff
from domain.application import Application, ApplicationState
from domain.card import Card, CardState, PauseState
from domain.card_change import AuditEntry, card_plan, plate_claim
from domain.entitlement import entitlements_of
from domain.errors import (
    ApplicationClosed,
    CardExists,
    Conflict,
    LotFull,
    OrderKeyUsed,
    OrderSettled,
    PlateTaken,
    StaleCard,
    StaleLot,
    TooManyVehicles,
    UnpaidOrderExists,
)
from domain.invoice import Invoice, InvoiceRequest, InvoiceState, InvoiceType
from domain.login_limits import ACCOUNT_ADDRESS, Turn, take_turn
from domain.lot import Lot
from domain.order import Channel, LedgerEntry, OrderState, place_order
from domain.owner import Owner
from domain.plan import (
    Absent,
    ApplicationWrite,
    CardWrite,
    Claim,
    Holder,
    LotMove,
    OrderWrite,
    Plan,
    Release,
    Take,
)
from domain.receipt import GENESIS, SignedReceipt, receipt_for
from domain.reminder import ReminderPrefs, slots_for
from functions.bootstrap import Services
from handlers.ports import Gate
from tests.builders import a_card, a_pause, a_pending_order, months
from tests.fakes import fake_services

NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
LOT = Lot("lot-1", "Test Lot", quota=2, tenant_id="t1")


@pytest.fixture(params=["memory", "dynamodb"])
def s(request: pytest.FixtureRequest) -> Services:
    services: Services = fake_services(NOW) if request.param == "memory" else request.getfixturevalue("dynamo_services")
    services.lots.add(LOT)
    services.packages.add(months(1))
    return services


def lot(s: Services) -> Lot:
    found = s.lots.get("lot-1")
    assert found is not None
    return found


def issue(s: Services, card: Card, override: bool = False) -> Card:
    s.uow.commit(card_plan(None, card, lot(s), NOW, "system", "issue", override_quota=override))
    stored = s.cards.get(card.id)
    assert stored is not None
    return stored


def card(n: int = 1, **kw: object) -> Card:
    return a_card(date(2026, 12, 31), **{"card_id": f"card-{n}", "owner_id": f"owner-{n}", **kw})  # type: ignore[arg-type]


# The unit of work: each declared condition, its error, all or nothing.


def test_a_new_card_takes_a_place_its_plates_and_the_next_feed_version(s: Services) -> None:
    stored = issue(s, card(1))
    assert stored == replace(card(1), version=1)
    assert (lot(s).held, lot(s).entitlement_version) == (1, 1)
    assert s.cards.card_for_plate("lot-1", card(1).plates[0]) == stored
    assert [(g.version, g.plate, g.state) for g in s.feed.since("lot-1", 0, 10)] == [(1, card(1).plates[0], "active")]
    assert [e.action for e in s.card_queries.history("card-1")] == ["issue"]
    with pytest.raises(CardExists):
        issue(s, card(1))
    assert s.cards.get_with_lot("card-1", "lot-1") == (stored, lot(s))  # as they are after the commit
    assert s.cards.get_with_lot("card-9", "lot-1") == (None, lot(s))
    assert s.cards.get_with_lot("card-1", "lot-9") == (stored, None)


def test_a_plan_that_fails_writes_nothing_and_names_its_condition(s: Services) -> None:
    issue(s, card(1))
    taken = card(2, plates=(card(3).plates[0], card(1).plates[0]))  # its second plate is card-1's
    with pytest.raises(PlateTaken) as failed:
        issue(s, taken)
    assert failed.value.plate == card(1).plates[0]
    assert s.cards.get("card-2") is None and s.cards.card_for_plate("lot-1", card(3).plates[0]) is None
    assert (lot(s).held, lot(s).entitlement_version) == (1, 1)
    assert s.card_queries.history("card-2") == []


def test_a_stale_card_or_lot_is_refused(s: Services) -> None:
    read = issue(s, card(1))
    s.uow.commit(card_plan(read, replace(read, valid_until=date(2027, 1, 31)), lot(s), NOW, "system", "fix"))
    with pytest.raises(StaleCard):
        s.uow.commit(Plan(cards=(CardWrite(replace(read, valid_until=date(2027, 2, 28)), read.version),)))
    fresh = s.cards.get("card-1")
    assert fresh is not None and fresh.valid_until == date(2027, 1, 31)
    behind = replace(lot(s), entitlement_version=0)
    with pytest.raises(StaleLot):
        s.uow.commit(card_plan(fresh, replace(fresh, valid_until=date(2027, 3, 31)), behind, NOW, "system", "fix"))


def test_places_are_taken_within_the_quota_unless_overridden(s: Services) -> None:
    issue(s, card(1))
    issue(s, card(2))
    with pytest.raises(LotFull):
        s.uow.commit(card_plan(None, replace(card(3), valid_until=None, valid_from=None, state=CardState.PENDING),
                               lot(s), NOW, "system", "approve"))  # fmt: skip
    issue(s, card(4), override=True)  # the office's explicit, audited override
    assert lot(s).held == 3
    gone = s.cards.get("card-4")
    assert gone is not None
    s.uow.commit(card_plan(gone, replace(gone, state=CardState.CANCELLED), lot(s), NOW, "admin:x", "cancel"))
    assert lot(s).held == 2 and s.cards.card_for_plate("lot-1", card(4).plates[0]) is None


def test_a_recount_moves_places_only_from_the_count_it_read(s: Services) -> None:
    issue(s, card(1))
    with pytest.raises(StaleLot):
        s.uow.commit(Plan(lot=LotMove("lot-1", held=2, within_quota=False, held_at=0)))
    s.uow.commit(Plan(lot=LotMove("lot-1", held=2, within_quota=False, held_at=1)))
    assert lot(s).held == 3


def test_claims_take_release_and_absence(s: Services) -> None:
    key = "unpaid:card-1"
    mine, theirs = Holder("order_id", "order-1"), Holder("order_id", "order-2")
    s.uow.commit(Plan(takes=(Take(Claim(key, "owner-1", "card-1", order_id="order-1"), UnpaidOrderExists("o")),)))
    with pytest.raises(UnpaidOrderExists):
        s.uow.commit(Plan(takes=(Take(Claim(key, "owner-1", "card-1", order_id="order-2"), UnpaidOrderExists("o")),)))
    s.uow.commit(Plan(takes=(Take(Claim(key, "owner-1", "card-1", order_id="order-1"), Conflict("x"), mine),)))
    with pytest.raises(Conflict, match="absent"):
        s.uow.commit(Plan(absent=(Absent(key, Conflict("absent")),)))
    with pytest.raises(Conflict, match="not yours"):
        s.uow.commit(Plan(releases=(Release(key, theirs, Conflict("not yours")),)))
    s.uow.commit(Plan(releases=(Release(key, mine, Conflict("x")),)))
    s.uow.commit(Plan(absent=(Absent(key, Conflict("absent")),)))
    s.uow.commit(Plan(releases=(Release(key, mine, Conflict("x")),)))  # releasing a free claim is fine


def test_orders_move_only_from_the_states_they_declare_and_keys_answer_the_first(s: Services) -> None:
    issue(s, card(1, owner_id="owner-1"))
    first = a_pending_order("order-1", date(2027, 1, 1), date(2027, 1, 31), NOW, owner_id="owner-1")
    s.uow.commit(place_order(first, "key-0001", 1))
    with pytest.raises(OrderKeyUsed):
        s.uow.commit(place_order(replace(first, id="order-2"), "key-0001", 1))
    with pytest.raises(UnpaidOrderExists):
        s.uow.commit(place_order(replace(first, id="order-3"), "key-0003", 1))
    with pytest.raises(StaleCard):  # the card changed since the order was quoted
        s.uow.commit(place_order(replace(first, id="order-4", channel=Channel.CASH), "key-0004", 9))
    assert s.orders.made_with("owner:owner-1", "key-0001") == first
    assert s.orders.made_with("admin:owner-1", "key-0001") is None  # keys are per who made them
    assert s.orders.waiting_for("card-1") == first
    assert s.orders.get("order-2") is None and s.orders.get("order-3") is None
    closed = replace(first, state=OrderState.CLOSED)
    with pytest.raises(OrderSettled):
        s.uow.commit(Plan(orders=(OrderWrite(closed, (OrderState.PAID,)),)))
    s.uow.commit(Plan(orders=(OrderWrite(closed, (OrderState.PENDING,)),)))
    assert s.orders.get("order-1") == closed
    assert s.orders.pending(NOW + timedelta(hours=1)) == []
    assert [o.id for o in s.orders.for_card("card-1")] == ["order-1"]


def test_an_owners_orders_come_newest_first_a_page_at_a_time(s: Services) -> None:
    issue(s, card(1, owner_id="owner-1"))
    issue(s, card(2, owner_id="owner-2"))
    for n in range(5):  # a minute apart; order-3 and order-x at the same moment (the id decides)
        o = a_pending_order(f"order-{n}", date(2027, 1, 1), date(2027, 1, 31), NOW + timedelta(minutes=min(n, 3)))
        s.uow.commit(Plan(orders=(OrderWrite(replace(o, channel=Channel.CASH)),)))
    theirs = a_pending_order("order-x", date(2027, 1, 1), date(2027, 1, 31), NOW, owner_id="owner-2", card_id="card-2")
    s.uow.commit(Plan(orders=(OrderWrite(theirs),)))
    newest_first = ["order-4", "order-3", "order-2", "order-1", "order-0"]
    assert [o.id for o in s.orders.for_owner("owner-1", 10)] == newest_first
    pages, after = [], None
    while page := s.orders.for_owner("owner-1", 2, after):
        pages.append([o.id for o in page])
        after = (page[-1].created_at, page[-1].id)
    assert pages == [["order-4", "order-3"], ["order-2", "order-1"], ["order-0"]]
    assert [o.id for o in s.orders.for_owner("owner-2", 10)] == ["order-x"]
    named = s.orders.for_owner("owner-2", 10, (NOW + timedelta(minutes=3), "order-4"))  # another owner's order
    assert [o.id for o in named] == ["order-x"]  # only the owner's, whatever the cursor names
    assert s.orders.for_owner("owner-9", 10) == []


def test_the_first_failed_condition_in_plan_order_names_the_error(s: Services) -> None:
    read = issue(s, card(1))
    order = a_pending_order("order-1", date(2027, 1, 1), date(2027, 1, 31), NOW)
    s.uow.commit(place_order(order, "key-0001", 1))
    s.uow.commit(Plan(orders=(OrderWrite(replace(order, state=OrderState.CLOSED), (OrderState.PENDING,)),)))
    stale = CardWrite(replace(read, valid_until=date(2027, 1, 31)), read.version + 5)
    with pytest.raises(OrderSettled):  # the order's condition comes before the card's
        s.uow.commit(Plan(orders=(OrderWrite(order, (OrderState.PENDING,)),), cards=(stale,)))


def test_a_ledger_line_and_a_receipt_are_written_once_and_the_chain_moves_at_its_head(s: Services) -> None:
    order = replace(
        a_pending_order("order-1", date(2027, 1, 1), date(2027, 1, 31), NOW),
        state=OrderState.PAID, paid_at=NOW, transaction_id="tx-1",
        new_valid_from=date(2027, 1, 1), new_valid_until=date(2027, 1, 31),
    )  # fmt: skip
    line = LedgerEntry("payment:order-1", "lot-1", "order-1", "card-1", "owner-1", 300_00, order.channel, "tx-1", NOW)
    receipt = receipt_for(order, "Test Lot", ("粤B1",), 1, GENESIS)
    plan = Plan(ledger=(line,), receipt=receipt, lot=LotMove("lot-1", receipt_at=0))
    s.uow.commit(plan.with_signature(SignedReceipt(receipt, b"sig")))
    assert (lot(s).receipt_seq, lot(s).receipt_hash) == (1, receipt.hash)
    assert s.receipts.get(receipt.id) == SignedReceipt(receipt, b"sig") and s.receipts.in_chain("lot-1", 1) == receipt
    with pytest.raises(OrderSettled):
        s.uow.commit(Plan(ledger=(line,)))
    second = receipt_for(replace(order, id="order-2"), "Test Lot", ("粤B1",), 2, receipt.hash)
    with pytest.raises(StaleLot):  # read at the old head
        s.uow.commit(
            Plan(receipt=second, lot=LotMove("lot-1", receipt_at=0)).with_signature(SignedReceipt(second, b"s"))
        )
    assert s.ledger.around("lot-1", NOW - timedelta(hours=1), NOW + timedelta(hours=1)) == [line]
    assert s.ledger.around("lot-1", NOW + timedelta(days=3), NOW + timedelta(days=4)) == []


def test_applications_move_only_from_the_states_they_declare_and_hold_their_plates(s: Services) -> None:
    a = Application("app-1", "lot-1", "owner-1", ("粤B00001",), "m1", "", ApplicationState.SUBMITTED, NOW)
    claim = Claim(plate_claim("lot-1", "粤B00001"), "owner-1", application_id="app-1")
    s.uow.commit(Plan(applications=(ApplicationWrite(a),), takes=(Take(claim, PlateTaken("粤B00001")),)))
    with pytest.raises(ApplicationClosed):
        s.uow.commit(Plan(applications=(ApplicationWrite(a),)))
    assert s.applications.holding("lot-1", "粤B00001") == a
    assert s.applications.queue("lot-1") == [a]
    later = replace(a, id="app-2", plates=("粤B00002",), applied_at=NOW + timedelta(seconds=1))
    s.uow.commit(Plan(applications=(ApplicationWrite(later),)))
    waiting = [replace(x, state=ApplicationState.WAITLISTED, decided_at=NOW, decided_by="x") for x in (later, a)]
    for w in waiting:
        s.uow.commit(Plan(applications=(ApplicationWrite(w, (ApplicationState.SUBMITTED,)),)))
    assert [w.id for w in s.applications.waiting("lot-1")] == ["app-1", "app-2"]  # arrival order
    assert [w.id for w in s.applications.waiting("lot-1", limit=1)] == ["app-1"]
    assert s.applications.queue("lot-1") == []
    with pytest.raises(ApplicationClosed):
        s.uow.commit(Plan(applications=(ApplicationWrite(waiting[0], (ApplicationState.APPROVED,)),)))
    assert [x.id for x in s.applications.list_for_owner("owner-1")] == ["app-2", "app-1"]  # newest first


def test_reminders_follow_the_current_end_and_a_sent_one_stays_sent(s: Services) -> None:
    read = issue(s, card(1))
    slots = slots_for(read, lot(s))
    first = slots[0]
    bucket = first.bucket
    assert s.reminders.due(bucket, first.due_at) == [first]
    assert s.reminders.claim(first, first.due_at) and not s.reminders.claim(first, first.due_at)
    s.reminders.finish(first, "sent")
    s.uow.commit(Plan(reminders=tuple(slots)))  # written again: the sent one stays sent
    assert s.reminders.due(bucket, first.due_at) == []
    assert s.reminders.states(bucket) == {"sent": 1}
    moved = replace(read, valid_until=date(2027, 1, 31))
    s.uow.commit(card_plan(read, moved, lot(s), NOW, "system", "renew"))
    for old in slots[1:]:  # the old end's reminders not yet due are gone
        assert s.reminders.due(old.bucket, old.due_at) == []
    s.reminders.finish(slots[1], "sent")  # a consumer that had it before it went finishes: no stub is left
    assert s.reminders.states(slots[1].bucket) == {}
    new = slots_for(moved, lot(s))[0]
    assert s.reminders.due(new.bucket, new.due_at) == [new]
    s.reminders.retry_later(new, "busy", max_attempts=2)
    assert s.reminders.due(new.bucket, new.due_at) == [new]
    s.reminders.retry_later(new, "busy", max_attempts=2)
    assert s.reminders.states(new.bucket) == {"failed": 1}


def test_a_claimed_reminder_whose_lease_ran_out_is_due_again(s: Services) -> None:
    read = issue(s, card(1))
    slot = slots_for(read, lot(s))[0]
    assert s.reminders.claim(slot, slot.due_at)
    later = slot.due_at + timedelta(hours=1)
    assert s.reminders.held(slot, slot.due_at) and not s.reminders.held(slot, later)
    assert s.reminders.due(slot.bucket, later) == [slot]
    assert s.reminders.claim(slot, later)
    s.reminders.release(slot)  # WeChat asked us to slow down: given back untried
    assert s.reminders.due(slot.bucket, later) == [slot] and not s.reminders.held(slot, later)


def test_an_audit_entry_is_written_once(s: Services) -> None:
    entry = AuditEntry("lot:lot-1", f"{NOW.isoformat()}#edit", NOW, "admin:x", "edit", None, None, {"a": 1})
    s.uow.commit(Plan(audit=(entry,)))
    with pytest.raises(Conflict):
        s.uow.commit(Plan(audit=(entry,)))
    s.audit.record(replace(entry, entry=f"{NOW.isoformat()}#other"))
    assert [e.action for e in s.audit.history("lot:lot-1")] == ["edit", "edit"]  # type: ignore[attr-defined]


# The reads.


def test_cards_are_found_by_id_owner_lot_and_plate(s: Services) -> None:
    one, two = issue(s, card(1)), issue(s, card(2, owner_id="owner-1"))
    assert s.cards.get_many({"card-1", "card-2", "card-9"}) == {"card-1": one, "card-2": two}
    assert sorted(c.id for c in s.cards.list_for_owner("owner-1")) == ["card-1", "card-2"]
    assert sorted(c.id for c in s.cards.list_for_lot("lot-1")) == ["card-1", "card-2"]
    assert s.cards.card_for_plate("lot-1", "粤Z00000") is None
    assert s.cards.get("card-9") is None


def test_the_jobs_find_ended_cards_unpaid_approvals_and_pauses_to_approve(s: Services) -> None:
    ended = issue(s, a_card(date(2026, 11, 20), card_id="card-ended"), override=True)
    issue(s, a_card(date(2026, 12, 20), card_id="card-running"), override=True)
    unpaid = replace(a_card(None, state=CardState.PENDING, card_id="card-unpaid"), pay_by=date(2026, 11, 21))
    issue(s, unpaid, override=True)
    asked = replace(
        a_card(date(2026, 12, 31), card_id="card-asks"),
        pauses=(a_pause(date(2026, 12, 2), date(2026, 12, 5), PauseState.REQUESTED),),
    )
    issue(s, asked, override=True)
    assert [c.id for c in s.card_queries.ended_before(date(2026, 11, 23))] == [ended.id]
    assert [c.id for c in s.card_queries.unpaid_before(date(2026, 11, 23))] == ["card-unpaid"]
    assert [c.id for c in s.card_queries.pauses_to_approve("lot-1")] == ["card-asks"]


def test_the_feed_pages_in_version_order(s: Services) -> None:
    read = issue(s, card(1, plates=("粤B00001", "粤B00002")))
    s.uow.commit(card_plan(read, replace(read, valid_until=date(2027, 1, 31)), lot(s), NOW, "system", "renew"))
    assert [g.version for g in s.feed.since("lot-1", 0, 10)] == [1, 2, 3, 4]
    assert [g.version for g in s.feed.since("lot-1", 1, 2)] == [2, 3]
    news = entitlements_of(replace(read, valid_until=date(2027, 1, 31)), lot(s), NOW)[0]
    assert s.feed.since("lot-1", 2, 1)[0].valid_until == news.valid_until


def test_lots_keep_their_counters_when_their_settings_change(s: Services) -> None:
    issue(s, card(1))
    s.lots.save_settings(replace(lot(s), name="改名", held=0, entitlement_version=0))  # type: ignore[attr-defined]
    assert (lot(s).name, lot(s).held, lot(s).entitlement_version) == ("改名", 1, 1)
    assert not s.lots.add(replace(LOT, name="again"))
    assert [x.id for x in s.lots.list_for_tenant("t1")] == ["lot-1"]  # type: ignore[attr-defined]
    assert set(s.lots.get_many({"lot-1", "lot-9"})) == {"lot-1"}


def test_an_office_forms_key_staff_by_company_and_phones_by_their_last_4_digits(s: Services) -> None:
    from domain.errors import RecordedAlready
    from domain.plan import form_claim, once

    key = form_claim("admin:a@b.cn", "form-0001")
    assert s.uow.claimed(key) is None
    s.uow.commit(once(Claim(key, card_id="card-1")))
    entry = AuditEntry("lot:lot-1", "2026-11-23T02:00:00#update_lot#1", NOW, "admin:a@b.cn", "update_lot", None, None,
                       {})  # fmt: skip
    with pytest.raises(RecordedAlready):  # the same form again: nothing of its plan is written
        s.uow.commit(once(Claim(key)) + Plan(audit=(entry,)))
    assert s.uow.claimed(key) == Claim(key, card_id="card-1") and s.audit.history("lot:lot-1") == []  # type: ignore[attr-defined]

    for email, tenant in (("b@t1.cn", "t1"), ("a@t1.cn", "t1"), ("c@t2.cn", "t2")):
        assert s.staff.add(Staff(email, tenant, Role.CASHIER, frozenset({"lot-1"}), "hash"))
    assert [a.email for a in s.staff.list_for_tenant("t1")] == ["a@t1.cn", "b@t1.cn"]
    read = s.staff.get("a@t1.cn")
    assert read is not None and read.revision == 0 and not read.disabled
    off = replace(read, disabled=True, role=Role.LOT_MANAGER, lot_ids=frozenset({"lot-1", "lot-2"}))
    assert s.staff.save(off, read) and not s.staff.save(replace(off, disabled=False), read)  # read before the save
    assert s.staff.get("a@t1.cn") == replace(off, revision=1)
    assert s.staff.save(replace(off, role=Role.TENANT_ADMIN, lot_ids=frozenset()), replace(off, revision=1))
    assert s.staff.get("a@t1.cn") == replace(off, role=Role.TENANT_ADMIN, lot_ids=frozenset(), revision=2)

    for owner_id, phone in (("owner-1", "13800001234"), ("owner-2", "13912341234"), ("owner-3", "13700005678")):
        s.owners.add(Owner(owner_id, f"openid-{owner_id}"))
        s.owners.set_phone(owner_id, phone)
    s.owners.add(Owner("owner-4", "openid-owner-4"))  # no phone
    assert s.owners.with_phone_ending("1234") == {"owner-1", "owner-2"}
    assert s.owners.with_phone_ending("5678") == {"owner-3"} and s.owners.with_phone_ending("0000") == set()


def test_packages_owners_gates_staff_prefs_consents_invoices_and_rates(s: Services) -> None:
    assert not s.packages.add(replace(months(1), price_fen=1))
    s.packages.save(replace(months(1), price_fen=123))  # type: ignore[attr-defined]
    assert [p.price_fen for p in s.packages.list_for_lot("lot-1")] == [123]
    assert s.owners.add(Owner("owner-1", "openid-1", "union-1")) and not s.owners.add(Owner("owner-2", "openid-1"))
    assert s.owners.find_by_wechat("openid-1", None) == Owner("owner-1", "openid-1", "union-1")
    s.owners.set_phone("owner-1", "13800000000")
    s.owners.add_vehicle("owner-1", "粤B1", 1)
    with pytest.raises(TooManyVehicles):
        s.owners.add_vehicle("owner-1", "粤B2", 1)
    s.owners.remove_vehicle("owner-1", "粤B1")
    assert s.owners.get("owner-1") == Owner("owner-1", "openid-1", "union-1", "13800000000", ())
    assert s.gates.record_applied("gate-1", 1, "x") is False  # no such gate
    s.gates.add(Gate("gate-1", "lot-1", "secret"))  # type: ignore[attr-defined]
    assert s.gates.record_applied("gate-1", 5, "a") and not s.gates.record_applied("gate-1", 3, "b")
    assert s.gates.sync_states("lot-1") == [("gate-1", 5, "a")]
    staff = Staff("a@b.cn", "t1", Role.CASHIER, frozenset({"lot-1"}), "hash")
    assert s.staff.add(staff) and not s.staff.add(staff)
    assert s.staff.get("a@b.cn") == staff
    s.reminder_prefs.put(ReminderPrefs("card-1", True))
    assert s.reminder_prefs.get("card-1") == ReminderPrefs("card-1", True)
    s.consents.record("owner-1", "tpl")
    assert s.consents.spend("owner-1", "tpl") and not s.consents.spend("owner-1", "tpl")
    request = InvoiceRequest(InvoiceType.PERSONAL, "张三", "zs@example.cn")
    invoice = Invoice("order-1", "owner-1", "lot-1", 300_00, request, InvoiceState.REQUESTED, NOW)
    assert s.invoices.add(invoice) == invoice and s.invoices.add(replace(invoice, amount_fen=1)) == invoice
    issuing = replace(invoice, state=InvoiceState.ISSUING)
    assert s.invoices.move(issuing, InvoiceState.REQUESTED) and not s.invoices.move(issuing, InvoiceState.REQUESTED)
    assert s.invoices.unfinished() == [issuing] and s.invoices.requested("lot-1") == []
    assert s.invoices.get_many({"order-1", "order-9"}) == {"order-1": issuing} and s.invoices.get_many(set()) == {}
    assert s.rates.count("k") == 0
    assert [s.rates.hit("k", NOW + timedelta(minutes=1)) for _ in range(3)] == [1, 2, 3]
    assert s.rates.count("k") == 3


def test_sessions_start_move_on_once_per_generation_and_end_once(s: Services) -> None:
    from domain.session import Ending, Session

    started = Session("session-1", "owner-1")
    s.sessions.start(started, NOW + timedelta(days=30))
    assert s.sessions.get("session-1") == started and s.sessions.get("session-9") is None
    assert s.sessions.rotate(started, NOW + timedelta(days=31))
    assert not s.sessions.rotate(started, NOW + timedelta(days=31))  # that generation moved on already
    moved = replace(started, generation=1)
    assert s.sessions.get("session-1") == moved
    s.sessions.end("session-1", Ending.REUSE)
    s.sessions.end("session-1", Ending.LOGOUT)  # ended already: the first reason stays
    assert s.sessions.get("session-1") == replace(moved, ended=Ending.REUSE)
    assert not s.sessions.rotate(moved, NOW + timedelta(days=32))  # an ended session never moves on
    s.sessions.end("session-9", Ending.LOGOUT)  # none: nothing is made
    assert s.sessions.get("session-9") is None


def test_an_accounts_session_epoch_moves_on_by_one_per_logout_or_change_that_ends_sessions(s: Services) -> None:
    assert s.staff.add(Staff("a@t1.cn", "t1", Role.CASHIER, frozenset({"lot-1"}), "hash"))
    read = s.staff.get("a@t1.cn")
    assert read is not None and read.session_epoch == 0
    s.staff.end_sessions("a@t1.cn")  # a logout after the read ...
    assert s.staff.save(replace(read, password_hash="new", session_epoch=1), read)  # ... is not undone by a save
    after = s.staff.get("a@t1.cn")
    assert after is not None and (after.session_epoch, after.revision, after.password_hash) == (2, 1, "new")
    assert s.staff.save(replace(after, role=Role.LOT_MANAGER), after)  # a role change ends no session
    assert s.staff.get("a@t1.cn") == replace(after, role=Role.LOT_MANAGER, revision=2)


def test_login_tries_are_taken_only_over_what_was_read(s: Services) -> None:
    first = take_turn(ACCOUNT_ADDRESS, None, NOW)
    assert isinstance(first, Turn) and s.login_tries.take("login:x", first)
    assert not s.login_tries.take("login:x", first)  # taken meanwhile: read again
    stored = s.login_tries.get("login:x")
    assert stored == first.after and s.login_tries.get_many(["login:x", "login:y"]) == {"login:x": first.after}
    second = take_turn(ACCOUNT_ADDRESS, stored, NOW + timedelta(seconds=1))
    assert isinstance(second, Turn) and s.login_tries.take("login:x", second)
    assert not s.login_tries.take("login:x", second)
    assert s.login_tries.get("login:x") == second.after
    s.login_tries.forget("login:x")
    assert s.login_tries.get("login:x") is None and s.login_tries.get_many(["login:x"]) == {}
    s.login_tries.forget("login:never")  # nothing there: nothing to do


def test_bills_bill_orders_and_balances_move_only_as_their_plans_declare(s: Services) -> None:
    from decimal import Decimal

    from domain.bill_order import BillCharge, BillOrder, credit_balance, pay_bills, place_bill_order
    from domain.bill_run import Bill, BillLine, BillState, FeeItem, FeeKind, Unit
    from domain.community import Community, Meter, ReadingKind, next_reading
    from domain.errors import BalanceTooLow, BillChanged, BillingExists, BillInOrder, BillNotPayable
    from domain.fee_rules import PricePoint
    from domain.plan import BalanceMove, BillWrite

    s.billing.add_community(Community("c1", "t1", "一号小区", ("lot-1",)))
    with pytest.raises(BillingExists):
        s.billing.add_community(Community("c1", "t1", "again"))
    s.billing.add_unit(Unit("u1", "c1", "1栋", "101", 8850, owners=("139****0001",)), ["fp-1"])
    s.billing.add_unit(Unit("u2", "c1", "1栋", "102", 5000), ["fp-1"])
    assert [u.id for u in s.billing.units("c1")] == ["u1", "u2"] and sorted(s.billing.units_of_phone("fp-1")) == [
        "u1", "u2"]  # fmt: skip
    assert s.billing.unit("u1") == Unit("u1", "c1", "1栋", "101", 8850, owners=("139****0001",))
    item = FeeItem("mgmt", "c1", "物业费", FeeKind.AREA, (PricePoint(date(2027, 1, 1), 250),))
    s.billing.add_fee_item(item)
    assert s.billing.fee_item("mgmt") == (item, 0)
    s.billing.save_fee_item(replace(item, name="物业服务费"), 0)
    with pytest.raises(BillChanged):
        s.billing.save_fee_item(item, 0)
    s.billing.add_meter(Meter("w1", "c1", "water", "u1"))
    first = next_reading("w1", None, date(2026, 12, 31), Decimal("100.50"), ReadingKind.NORMAL, None)
    s.billing.add_reading(first)
    s.billing.add_reading(next_reading("w1", first, date(2027, 1, 31), Decimal("123"), ReadingKind.NORMAL, None))
    assert [str(r.use) for r in s.billing.readings("w1")] == ["0", "22.50"]

    bill = Bill("b1", "c1", "u1", "mgmt", "2027-01", (BillLine("base", "物业费 2027-01", 22_125),), 22_125,
                date(2027, 1, 31))  # fmt: skip
    s.uow.commit(Plan(bills=(BillWrite(bill),)))
    with pytest.raises(BillChanged):
        s.uow.commit(Plan(bills=(BillWrite(bill),)))  # a bill is drafted once
    with pytest.raises(BillNotPayable):
        s.uow.commit(Plan(bills=(BillWrite(bill, (BillState.UNPAID,), BillNotPayable("b1")),)))
    s.uow.commit(Plan(bills=(BillWrite(replace(bill, state=BillState.UNPAID), (BillState.DRAFT,)),)))
    unpaid = s.billing.bill("b1")
    assert unpaid is not None and unpaid.state is BillState.UNPAID and s.billing.bills_of_unit("u1") == [unpaid]

    order = BillOrder("bo-1", "o-1", "c1", (BillCharge("b1", "u1", "mgmt", 22_125, 0),), 22_125, Channel.WECHAT,
                      OrderState.PENDING, NOW, NOW + timedelta(minutes=15))  # fmt: skip
    s.uow.commit(place_bill_order(order, [unpaid], "owner:o-1", "key-0001"))
    assert s.billing.bill_order("bo-1") == order and s.billing.pending_bill_orders(NOW) == [order]
    other = replace(order, id="bo-2")
    with pytest.raises(BillInOrder):
        s.uow.commit(place_bill_order(other, [unpaid], "owner:o-1", "key-0002"))
    s.uow.commit(pay_bills(order, [unpaid], NOW, "tx-1"))
    paid = s.billing.bill("b1")
    assert paid is not None and (paid.state, paid.paid_fen, paid.order_id) == (BillState.PAID, 22_125, "bo-1")
    assert s.uow.claimed("bill-unpaid:b1") is None and s.billing.pending_bill_orders(NOW) == []
    with pytest.raises(OrderSettled):
        s.uow.commit(pay_bills(order, [unpaid], NOW, "tx-1"))
    with pytest.raises(OrderSettled):  # the second credit of one payment
        s.uow.commit(credit_balance(replace(order, state=OrderState.CLOSED), NOW, "tx-1"))

    s.uow.commit(Plan(balances=(BalanceMove("u2", 300),)))
    with pytest.raises(BalanceTooLow):
        s.uow.commit(Plan(balances=(BalanceMove("u2", -301),)))
    s.uow.commit(Plan(balances=(BalanceMove("u2", -300),)))
    assert s.billing.balance("u2") == 0 and s.billing.balance("u1") == 0


def test_bill_reminders_are_filed_by_hour_claimed_once_and_never_reset(s: Services) -> None:
    from domain.bill_reminder import reminders_for
    from domain.bill_run import Bill, BillLine

    bill = Bill("b1", "c1", "u1", "mgmt", "2027-01", (BillLine("base", "x", 100),), 100, date(2027, 1, 31))
    first, *_ = reminders_for(bill, "Asia/Shanghai")
    assert first.due_at == datetime(2027, 1, 28, 2, tzinfo=UTC)
    s.uow.commit(Plan(bill_reminders=reminders_for(bill, "Asia/Shanghai")))
    window = first.due_at - timedelta(hours=6)
    assert s.billing.due_bill_reminders(window, first.due_at - timedelta(minutes=1)) == []
    assert s.billing.due_bill_reminders(window, first.due_at) == [(first, "pending")]
    # Across midnight UTC: two days' queries, one window.
    assert s.billing.due_bill_reminders(first.due_at - timedelta(days=1), first.due_at + timedelta(hours=23)) == [
        (first, "pending")]  # fmt: skip
    at = first.due_at
    assert s.billing.claim_bill_reminder(first, at) and not s.billing.claim_bill_reminder(first, at)
    assert s.billing.bill_reminder_held(first, at)
    assert s.billing.due_bill_reminders(window, at) == [(first, "sending")]
    # Its consumer died: once the lease has run out it is due again, and taken again once.
    later = at + timedelta(minutes=6)
    assert not s.billing.bill_reminder_held(first, later)
    assert s.billing.due_bill_reminders(window, later) == [(first, "pending")]
    assert s.billing.claim_bill_reminder(first, later) and not s.billing.claim_bill_reminder(first, later)
    s.billing.finish_bill_reminder(first, "sent")
    assert not s.billing.bill_reminder_held(first, later) and not s.billing.claim_bill_reminder(first, later)
    s.uow.commit(Plan(bill_reminders=reminders_for(bill, "Asia/Shanghai")))  # written again: a sent one stays sent
    assert s.billing.due_bill_reminders(window, first.due_at) == [(first, "sent")]
