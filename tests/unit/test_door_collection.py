"""At the door, through the handlers, over the in-memory store here and over DynamoDB in
tests/integration/test_door_collection_dynamodb.py: the collector's route with what is due, cash for exactly that
amount sealed with the signature and the check-in in the receipt, a QR code (a new order each time, closing the one
before), a QR payment racing cash at the door (the bills are paid once), uploads retried and raced, nobody at home,
cash custody and a handover with a difference, the day's report, the office opening the evidence."""

from __future__ import annotations

import io
import threading
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from PIL import Image, ImageDraw

from domain.admin import Role, Staff
from domain.bill_run import BillState
from domain.collection import BookingState, Building, CheckIn, CollectionHours
from domain.door import signature_hash
from domain.errors import BookingChanged, BookingNotFound, DomainError, Forbidden, InvalidInput
from domain.order import Channel, OrderState
from domain.owner import Owner
from domain.receipt import receipt_id_for
from functions.bootstrap import Services
from handlers.ports import PaymentNotice
from handlers.receipts import receipt_standing
from tests.fakes import FakeMessenger, FakeQr, FixedClock, fake_services
from tests.unit.test_property_bills import BOSS, NOW, PHONE, community

SHANGHAI = ZoneInfo("Asia/Shanghai")
EVENING = datetime(2027, 1, 20, 19, 30, tzinfo=SHANGHAI)  # Wednesday; NOW is 10:00 that day
AT_DOOR = EVENING.astimezone(UTC) + timedelta(minutes=5)
WANG = Staff("wang@t1.cn", "t1", Role.COLLECTOR, frozenset({"lot-1"}), "plain$a long password 1")
LI = Staff("li@t1.cn", "t1", Role.COLLECTOR, frozenset({"lot-1"}), "plain$a long password 1")
CASHIER = Staff("cash@t1.cn", "t1", Role.CASHIER, frozenset({"lot-1"}), "plain$a long password 1")
ORIGIN = (31.2304, 121.4737)
"""The community's gate on the map; 1栋 stands 10 m east of it."""
Make = Callable[[FixedClock], Services]


def signature(stroke: int = 0) -> bytes:
    """A signature as the page draws it: black strokes on white, PNG."""
    image = Image.new("RGB", (300, 120), "white")
    draw = ImageDraw.Draw(image)
    draw.line([(20, 80), (80, 20 + stroke), (140, 90), (260, 30)], fill="black", width=4)
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def here(metres_east: float = 10, accuracy: float = 15) -> CheckIn:
    return CheckIn(ORIGIN[0], ORIGIN[1] + metres_east / (111_320 * 0.8549), accuracy, AT_DOOR)


@pytest.fixture
def make() -> Make:
    return lambda clock: fake_services(NOW, clock)


@pytest.fixture
def s(make: Make) -> Services:
    services = make(FixedClock(NOW))
    community(services)
    run, _ = services.bill_runs.run(BOSS, "c1", "2027-01", ["mgmt", "water"])
    services.bill_runs.publish(BOSS, run.id)
    for n, phone in enumerate((PHONE, "13900000003")):
        services.owners.add(Owner(f"o-{n}", f"openid-{n}", phone=phone, oa_openid=f"oa-{n}"))
    for account in (WANG, LI, CASHIER):
        services.staff.add(account)
    places = (Building("物业", 0, 0), Building("1栋", 10, 0))
    services.collecting.set_hours(BOSS, CollectionHours("c1", buildings=places, origin=ORIGIN))
    return replace(services, wechatpay=FakeQr())  # type: ignore[arg-type]


def booked(s: Services, unit: str = "u1", owner: str = "o-0", collector: str = "wang@t1.cn") -> str:
    bills = [b.id for b in s.billing.bills_of_unit(unit) if b.state is BillState.UNPAID]
    booking = s.collecting.book(owner, unit, EVENING, bills, "现金，请先电话", f"book-{unit}-{owner}")
    s.collecting.assign(BOSS, booking.id, collector)
    s.clock._now = AT_DOOR  # type: ignore[attr-defined]
    return booking.id


def due(s: Services, booking_id: str) -> int:
    return s.doorstep.visit(WANG, booking_id).due_fen


def test_the_collector_takes_cash_for_exactly_what_is_due_sealed_with_signature_and_check_in(s: Services) -> None:
    booking_id = booked(s)
    stops = s.doorstep.route(WANG)
    assert [(x.booking.id, x.unit.building if x.unit else "", x.due_fen) for x in stops] == [
        (booking_id, "1栋", 22_125 + 10_300)  # 物业费 and 水费 (its share of the shared meter included)
    ]
    assert s.doorstep.route(LI) == []  # another collector's evening
    with pytest.raises(InvalidInput) as wrong:
        s.doorstep.take_cash(WANG, booking_id, 32_000, here(), signature(), "cash-0001")
    assert wrong.value.params["due"] == 32_425  # said, and nothing stored
    assert s.collection.cash_in_hand("wang@t1.cn") == 0 and s.collection.booking(booking_id).state.value == "assigned"  # type: ignore[union-attr]
    with pytest.raises(InvalidInput):
        s.doorstep.take_cash(WANG, booking_id, 32_425, here(), b"not a png" * 20, "cash-0002")

    order = s.doorstep.take_cash(WANG, booking_id, 32_425, here(), signature(), "cash-0003")
    assert s.doorstep.take_cash(WANG, booking_id, 32_425, here(), signature(), "cash-0003") == order  # retried
    assert (order.state, order.channel, order.staff, order.booking_id) == (OrderState.PAID, Channel.CASH,
                                                                           "wang@t1.cn", booking_id)  # fmt: skip
    assert {b.state for b in s.billing.bills_of_unit("u1")} == {BillState.PAID}
    assert s.collection.booking(booking_id).state is BookingState.COLLECTED  # type: ignore[union-attr]
    assert s.collection.cash_in_hand("wang@t1.cn") == 32_425
    signed = s.receipts.get(receipt_id_for(order.id))
    assert signed is not None
    evidence = signed.receipt.evidence
    assert evidence is not None
    assert (evidence["signature_sha256"], evidence["collector"], evidence["accuracy_m"], evidence["far"]) == (
        signature_hash(signature()),
        "wa***@t1.cn",  # the receipt names the collector, masked
        "15",
        False,
    )
    assert evidence["checked_in_at"] == AT_DOOR.isoformat() and evidence["away_m"] == "0"
    assert [p.split(" / ")[0] for p in signed.receipt.plates] == ["[物业费] 1栋101", "[代收代付] 1栋101"]  # by kind
    assert s.collection.signature(order.id) == signature()
    if isinstance(s.messenger, FakeMessenger):  # the booking's confirmation, then the receipt at once
        assert [data["thing3"]["value"] for _, _, data in s.messenger.sent] == [
            "现金，请先电话",
            "上门收费 已收 324.25 元",
        ]


def test_the_verify_check_proves_the_signature_image_and_fails_when_it_was_changed(s: Services) -> None:
    booking_id = booked(s)
    order = s.doorstep.take_cash(WANG, booking_id, due(s, booking_id), here(), signature(), "cash-0001")
    rid = receipt_id_for(order.id)
    assert s.receipt_signer is not None
    standing = receipt_standing(rid, s.receipts, s.receipt_signer, s.lots, s.orders, s.collection.signature)
    assert (standing.valid, standing.evidence_valid) == (True, True)
    tampered = {order.id: signature(stroke=40)}  # another drawing stored in its place
    standing = receipt_standing(rid, s.receipts, s.receipt_signer, s.lots, s.orders, tampered.get)
    assert (standing.valid, standing.signature_valid, standing.evidence_valid) == (False, True, False)
    missing = receipt_standing(rid, s.receipts, s.receipt_signer, s.lots, s.orders, {}.get)
    assert missing.valid is False


def test_a_check_in_far_from_the_building_is_flagged_not_refused(s: Services) -> None:
    booking_id = booked(s)
    order = s.doorstep.take_cash(WANG, booking_id, due(s, booking_id), here(metres_east=900), signature(), "far-0001")
    assert order.evidence is not None and order.evidence.far and order.evidence.away_m == 890
    near_but_vague = replace(here(metres_east=300, accuracy=250))
    assert not replace(order.evidence, check_in=near_but_vague, away_m=290).far  # within what the phone is sure of


def test_uploads_of_one_cash_collection_raced_and_retried_pay_once(s: Services) -> None:
    booking_id = booked(s)
    amount = due(s, booking_id)
    results: list[str] = []
    start = threading.Barrier(6)

    def upload(key: str) -> None:
        start.wait()
        try:
            results.append(s.doorstep.take_cash(WANG, booking_id, amount, here(), signature(), key).id)
        except DomainError as e:
            results.append(e.code)

    # the offline page's one key sent four times at once, and two other taps of the collector
    keys = ["offline-0001"] * 4 + ["tap-00000002", "tap-00000003"]
    threads = [threading.Thread(target=upload, args=(k,)) for k in keys]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    paid = [r for r in results if r.startswith("bo-")]
    assert len(set(paid)) == 1 and set(results) - set(paid) <= {"booking_changed"}
    assert s.collection.cash_in_hand("wang@t1.cn") == amount
    assert sum(b.paid_fen for b in s.billing.bills_of_unit("u1")) == amount


def test_a_new_qr_code_closes_the_one_before_and_the_owner_s_payment_collects_the_visit(s: Services) -> None:
    booking_id = booked(s)
    qr = s.wechatpay
    assert isinstance(qr, FakeQr)
    first = s.doorstep.show_qr(WANG, booking_id, Channel.WECHAT, here(), signature(), "qr-00000001")
    assert first.code == f"weixin://wxpay/bizpayurl?pr={first.order.id}"
    assert s.doorstep.show_qr(WANG, booking_id, Channel.WECHAT, here(), signature(), "qr-00000001").order == first.order
    second = s.doorstep.show_qr(WANG, booking_id, Channel.WECHAT, here(), signature(), "qr-00000002")
    assert first.order.id in qr.closed and s.billing.bill_order(first.order.id).state is OrderState.CLOSED  # type: ignore[union-attr]
    assert s.doorstep.door_order(WANG, second.order.id).state is OrderState.PENDING
    with pytest.raises(DomainError):  # the bills are the booking's: not online meanwhile
        s.bill_payments.order_bills("o-0", list(second.order.bill_ids), Channel.WECHAT, "pay-0001", qr)
    s.bill_payments.fulfil(PaymentNotice(second.order.id, "wx-1", second.order.amount_fen, AT_DOOR, True))
    s.bill_payments.fulfil(PaymentNotice(second.order.id, "wx-1", second.order.amount_fen, AT_DOOR, True))  # again
    assert s.doorstep.door_order(WANG, second.order.id).state is OrderState.PAID
    assert s.collection.booking(booking_id).state is BookingState.COLLECTED  # type: ignore[union-attr]
    assert {b.state for b in s.billing.bills_of_unit("u1")} == {BillState.PAID}
    assert s.collection.cash_in_hand("wang@t1.cn") == 0  # the money went to the property's account
    signed = s.receipts.get(receipt_id_for(second.order.id))
    assert signed is not None and signed.receipt.evidence is not None
    with pytest.raises(BookingChanged):  # paid: no cash after it
        s.doorstep.take_cash(WANG, booking_id, second.order.amount_fen, here(), signature(), "cash-late-01")


def test_the_owner_s_qr_payment_racing_cash_at_the_door_pays_the_bills_once(s: Services) -> None:
    booking_id = booked(s)
    shown = s.doorstep.show_qr(WANG, booking_id, Channel.WECHAT, here(), signature(), "qr-00000001")
    amount = shown.order.amount_fen
    start = threading.Barrier(2)
    outcomes: list[str] = []

    def owner_scans() -> None:
        start.wait()
        try:
            s.bill_payments.fulfil(PaymentNotice(shown.order.id, "wx-1", amount, AT_DOOR, True))
            outcomes.append("qr")
        except DomainError as e:
            outcomes.append(e.code)

    def collector_takes_cash() -> None:
        start.wait()
        try:
            s.doorstep.take_cash(WANG, booking_id, amount, here(), signature(), "cash-00000001")
            outcomes.append("cash")
        except DomainError as e:
            outcomes.append(e.code)

    threads = [threading.Thread(target=owner_scans), threading.Thread(target=collector_takes_cash)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    bills = s.billing.bills_of_unit("u1")
    assert {b.state for b in bills} == {BillState.PAID} and sum(b.paid_fen for b in bills) == amount
    orders = {o for o in (s.billing.bill_order(b.order_id) for b in bills if b.order_id)}
    assert len(orders) == 1  # one order paid them
    taken = amount * outcomes.count("qr") + amount * outcomes.count("cash")
    assert taken == amount + s.billing.balance("u1")  # money taken twice is kept as the unit's balance, not lost


def test_nobody_at_home_ends_the_visit_with_its_reason_and_frees_the_bills(s: Services) -> None:
    booking_id = booked(s)
    with pytest.raises(InvalidInput):
        s.doorstep.not_home(WANG, booking_id, " ", None)
    done = s.doorstep.not_home(WANG, booking_id, "不在家", here())
    assert s.doorstep.not_home(WANG, booking_id, "不在家", here()) == done  # said twice: once
    assert (done.state, done.outcome) == (BookingState.NOT_HOME, "不在家")
    bills = [b.id for b in s.billing.bills_of_unit("u1")]
    assert s.bill_payments.order_bills("o-0", bills, Channel.WECHAT, "pay-0001", FakeQr()).order.amount_fen > 0


def test_only_the_collector_it_was_given_to_works_a_visit(s: Services) -> None:
    booking_id = booked(s)
    with pytest.raises(BookingNotFound):
        s.doorstep.take_cash(LI, booking_id, due(s, booking_id), here(), signature(), "cash-0001")
    with pytest.raises(Forbidden):
        s.doorstep.route(CASHIER)
    outsider = Staff("x@t2.cn", "t2", Role.COLLECTOR, frozenset(), "plain$a long password 1")
    with pytest.raises(BookingNotFound):
        s.doorstep.visit(outsider, booking_id)


def test_a_handover_with_a_difference_shows_in_the_day_s_report(s: Services) -> None:
    first = booked(s)
    s.clock._now = NOW  # type: ignore[attr-defined]
    second = booked(s, "u3", "o-1")
    s.clock._now = AT_DOOR  # type: ignore[attr-defined]
    paid = s.doorstep.take_cash(WANG, first, due(s, first), here(), signature(), "cash-0001")
    s.doorstep.not_home(WANG, second, "不在家", here())
    assert s.doorstep.cash_in_hand(WANG) == paid.amount_fen == s.doorstep.cash_in_hand(CASHIER, "wang@t1.cn")
    with pytest.raises(Forbidden):
        s.doorstep.hand_over(WANG, "wang@t1.cn", 1, "hand-0001")  # a collector does not sign for their own cash
    s.clock._now = AT_DOOR + timedelta(hours=2)  # type: ignore[attr-defined]
    handover = s.doorstep.hand_over(CASHIER, "wang@t1.cn", paid.amount_fen - 500, "hand-0001")
    assert s.doorstep.hand_over(CASHIER, "wang@t1.cn", paid.amount_fen - 500, "hand-0001") == handover
    assert (handover.fen, handover.counted_fen, handover.difference_fen) == (paid.amount_fen, paid.amount_fen - 500,
                                                                             -500)  # fmt: skip
    assert s.doorstep.cash_in_hand(WANG) == 0
    [day] = s.doorstep.day_report(BOSS, "c1", EVENING.date())
    assert (day.collector, day.visits, day.collected, day.cash_fen, day.qr_fen) == ("wang@t1.cn", 2, 1,
                                                                                    paid.amount_fen, 0)  # fmt: skip
    assert [(b.id, why) for b, why in day.unpaid] == [(second, "不在家")]
    assert (day.handed_over_fen, day.counted_fen, day.difference_fen, day.in_hand_fen) == (
        paid.amount_fen,
        paid.amount_fen - 500,
        -500,
        0,
    )


def test_two_cashiers_counting_one_collector_at_once_take_the_cash_once(s: Services) -> None:
    booking_id = booked(s)
    paid = s.doorstep.take_cash(WANG, booking_id, due(s, booking_id), here(), signature(), "cash-0001")
    other = Staff("cash2@t1.cn", "t1", Role.CASHIER, frozenset({"lot-1"}), "plain$a long password 1")
    s.staff.add(other)
    start = threading.Barrier(2)
    done: list[Any] = []

    def count(cashier: Staff, key: str) -> None:
        start.wait()
        done.append(s.doorstep.hand_over(cashier, "wang@t1.cn", paid.amount_fen, key))

    threads = [threading.Thread(target=count, args=(c, k)) for c, k in ((CASHIER, "hand-0001"), (other, "hand-0002"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(h.fen for h in done) == [0, paid.amount_fen]  # the second found nothing left to take
    assert s.collection.cash_in_hand("wang@t1.cn") == 0


def test_the_office_opens_a_payment_s_evidence_and_that_is_audited(s: Services) -> None:
    booking_id = booked(s)
    order = s.doorstep.take_cash(WANG, booking_id, due(s, booking_id), here(), signature(), "cash-0001")
    with pytest.raises(Forbidden):
        s.doorstep.evidence(CASHIER, order.id)
    shown, image = s.doorstep.evidence(BOSS, order.id)
    assert image == signature() and shown.evidence is not None and shown.evidence.collector == "wang@t1.cn"
    trail = s.audit.history(f"bill-order:{order.id}")
    assert [(e.actor, e.action) for e in trail] == [("admin:boss@t1.cn", "evidence_opened")]


def test_a_check_in_from_the_future_or_days_old_is_refused_and_nothing_is_stored(s: Services) -> None:
    booking_id = booked(s)
    for at in (AT_DOOR + timedelta(minutes=30), AT_DOOR - timedelta(days=4)):
        with pytest.raises(InvalidInput):
            s.doorstep.take_cash(WANG, booking_id, due(s, booking_id), replace(here(), at=at), signature(), "cash-0001")
    assert s.collection.cash_in_hand("wang@t1.cn") == 0
    hours_later = replace(here(), at=AT_DOOR - timedelta(hours=5))  # an upload that waited for the signal
    assert s.doorstep.take_cash(WANG, booking_id, due(s, booking_id), hours_later, signature(), "cash-0001").paid_at


def test_an_office_change_read_before_a_qr_code_was_shown_cannot_undo_it(s: Services) -> None:
    from domain.collection import assign

    booking_id = booked(s)
    stale = s.collection.booking(booking_id)
    assert stale is not None
    s.doorstep.show_qr(WANG, booking_id, Channel.WECHAT, here(), signature(), "qr-00000001")
    with pytest.raises(BookingChanged):  # written over the version it read: refused, not a lost try
        s.uow.commit(assign(stale, "li@t1.cn"))
    after = s.collection.booking(booking_id)
    assert after is not None and (after.tries, after.collector) == (1, "wang@t1.cn")


def test_a_cancel_while_a_qr_code_is_shown_closes_it_first(s: Services) -> None:
    booking_id = booked(s)
    shown = s.doorstep.show_qr(WANG, booking_id, Channel.WECHAT, here(), signature(), "qr-00000001")
    s.collecting.cancel_at_office(BOSS, booking_id, "业主改到物业缴费")
    qr = s.wechatpay
    assert isinstance(qr, FakeQr) and shown.order.id in qr.closed  # the owner can no longer pay it
    assert s.billing.bill_order(shown.order.id).state is OrderState.CLOSED  # type: ignore[union-attr]


def test_a_refused_try_leaves_the_code_shown_before_open(s: Services) -> None:
    booking_id = booked(s)
    shown = s.doorstep.show_qr(WANG, booking_id, Channel.WECHAT, here(), signature(), "qr-00000001")
    with pytest.raises(InvalidInput):
        s.doorstep.take_cash(WANG, booking_id, shown.order.amount_fen, here(), b"\x89PNG\r\n\x1a\n", "cash-0001")
    qr = s.wechatpay
    assert isinstance(qr, FakeQr) and shown.order.id not in qr.closed
    assert s.billing.bill_order(shown.order.id).state is OrderState.PENDING  # type: ignore[union-attr]


def test_a_key_sent_again_for_another_payment_is_refused(s: Services) -> None:
    from domain.errors import Conflict

    booking_id = booked(s)
    s.doorstep.show_qr(WANG, booking_id, Channel.WECHAT, here(), signature(), "same-key-01")
    with pytest.raises(Conflict):  # the QR code's key, for an Alipay code
        s.doorstep.show_qr(WANG, booking_id, Channel.ALIPAY, here(), signature(), "same-key-01")
    with pytest.raises(Conflict):  # ... or for cash
        s.doorstep.take_cash(WANG, booking_id, due(s, booking_id), here(), signature(), "same-key-01")


def test_cash_uploaded_after_midnight_is_priced_as_at_the_door(s: Services) -> None:
    bill_day = datetime(2027, 2, 22, 19, 30, tzinfo=SHANGHAI)  # a Monday: January's bills are overdue by then
    s.clock._now = bill_day.astimezone(UTC) - timedelta(hours=9)  # type: ignore[attr-defined]
    bills = [b.id for b in s.billing.bills_of_unit("u1")]
    booking = s.collecting.book("o-0", "u1", bill_day, bills, "", "book-late-01")
    s.collecting.assign(BOSS, booking.id, "wang@t1.cn")
    at_door = bill_day.astimezone(UTC) + timedelta(hours=4)  # 23:30 local
    s.clock._now = at_door  # type: ignore[attr-defined]
    seen = s.doorstep.visit(WANG, booking.id).due_fen
    s.clock._now = at_door + timedelta(hours=1)  # type: ignore[attr-defined]
    assert s.doorstep.visit(WANG, booking.id).due_fen > seen  # a new day's late fee
    door = CheckIn(ORIGIN[0], ORIGIN[1], 20, at_door)
    assert s.doorstep.take_cash(WANG, booking.id, seen, door, signature(), "late-cash-01").amount_fen == seen


def test_a_handover_counted_against_cash_that_moved_meanwhile_is_counted_again(s: Services) -> None:
    from domain.errors import CustodyChanged

    booking_id = booked(s)
    paid = s.doorstep.take_cash(WANG, booking_id, due(s, booking_id), here(), signature(), "cash-0001")
    with pytest.raises(CustodyChanged):  # the cashier was shown 0.00 before the upload came in
        s.doorstep.hand_over(CASHIER, "wang@t1.cn", paid.amount_fen, "hand-0001", expected_fen=0)
    done = s.doorstep.hand_over(CASHIER, "wang@t1.cn", paid.amount_fen, "hand-0002", expected_fen=paid.amount_fen)
    assert (done.fen, done.difference_fen) == (paid.amount_fen, 0)
