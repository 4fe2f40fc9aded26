"""Door-to-door collection bookings through the handlers, over the in-memory store here and over DynamoDB in
tests/integration/test_collection_bookings_dynamodb.py: a booking holds its bills (an online order or the till is
refused meanwhile, and a booking racing an online order for one bill: exactly one wins), owners racing for a slot's
last visit, the cut-off, a cancel that gives the bills back, the same form twice."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from domain.errors import BillInOrder, DomainError, InvalidInput, SlotFull
from domain.order import Channel
from domain.owner import Owner
from functions.bootstrap import Services
from tests.fakes import FakeMessenger, FixedClock, NoPayments, fake_services
from tests.unit.test_property_bills import BOSS, NOW, PHONE, community

SHANGHAI = ZoneInfo("Asia/Shanghai")
EVENING = datetime(2027, 1, 20, 19, 30, tzinfo=SHANGHAI)  # Wednesday; NOW is 10:00 that day
Make = Callable[[FixedClock], Services]


@pytest.fixture
def make() -> Make:
    return lambda clock: fake_services(NOW, clock)


@pytest.fixture
def s(make: Make) -> Services:
    services = make(FixedClock(NOW))
    community(services)
    run, _ = services.bill_runs.run(BOSS, "c1", "2027-01", ["mgmt"])
    services.bill_runs.publish(BOSS, run.id)
    for n, phone in enumerate((PHONE, "13900000003", PHONE)):
        services.owners.add(Owner(f"o-{n}", f"openid-{n}", phone=phone, oa_openid=f"oa-{n}"))
    return services


def u1_bill(s: Services) -> str:
    return next(b.id for b in s.billing.bills_of_unit("u1"))


def test_a_booking_holds_its_bills_so_they_are_paid_at_the_door_or_online_never_both(s: Services) -> None:
    bill = u1_bill(s)
    slots = s.collecting.slots("c1", EVENING.date())
    half_hours = [EVENING + timedelta(minutes=m) for m in (-30, 0, 30, 60)]  # 19:00 to 20:30, two visits each
    assert [(x.slot.starts, x.free) for x in slots] == [(at, 2) for at in half_hours]
    booked = s.collecting.book("o-0", "u1", EVENING, [bill], "现金，老人独居请先电话", "book-0001")
    assert s.collecting.book("o-0", "u1", EVENING, [bill], "现金，老人独居请先电话", "book-0001") == booked  # once
    if isinstance(s.messenger, FakeMessenger):  # the owner is told once (the same form twice books once)
        assert [(to, data["thing1"]["value"], data["time2"]["value"]) for _, to, data in s.messenger.sent] == [
            ("oa-0", "幸福小区 1栋101", "2027-01-20 19:30 北京时间")
        ]
    with pytest.raises(BillInOrder):
        s.bill_payments.order_bills("o-0", [bill], Channel.WECHAT, "pay-0001", NoPayments())
    with pytest.raises(BillInOrder):
        s.bill_payments.take_at_office(BOSS, [bill], Channel.CASH, "till-0001")
    assert [x.free for x in s.collecting.slots("c1", EVENING.date()) if x.slot.starts == EVENING] == [1]
    s.collecting.cancel("o-0", booked.id)
    s.collecting.cancel("o-0", booked.id)  # twice: once
    assert s.bill_payments.order_bills("o-0", [bill], Channel.WECHAT, "pay-0002", NoPayments()).order.amount_fen > 0


def test_a_booking_racing_an_online_order_for_one_bill_exactly_one_wins(s: Services) -> None:
    bill = u1_bill(s)
    outcomes: list[str] = []
    start = threading.Barrier(2)

    def booking() -> None:
        start.wait()
        try:
            s.collecting.book("o-0", "u1", EVENING, [bill], "", "race-book-1")
            outcomes.append("booked")
        except DomainError as e:
            outcomes.append(e.code)

    def online() -> None:
        start.wait()
        try:
            s.bill_payments.order_bills("o-2", [bill], Channel.WECHAT, "race-pay-1", NoPayments())
            outcomes.append("ordered")
        except DomainError as e:
            outcomes.append(e.code)

    threads = [threading.Thread(target=booking), threading.Thread(target=online)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) in (["bill_in_order", "booked"], ["bill_in_order", "ordered"])


def test_owners_racing_for_the_last_visits_of_a_slot_take_them_once(s: Services) -> None:
    won: list[str] = []
    lost: list[str] = []

    def take(owner: str, unit: str, key: str) -> None:
        try:
            won.append(s.collecting.book(owner, unit, EVENING, [], "", key).id)
        except SlotFull:
            lost.append(owner)

    threads = [threading.Thread(target=take, args=(o, u, f"seat-{n:04d}"))
               for n, (o, u) in enumerate((("o-0", "u1"), ("o-1", "u3"), ("o-2", "u1")))]  # fmt: skip
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert (len(won), len(lost)) == (2, 1)  # two visits a slot
    seats = sorted(b.seat for b in s.collection.bookings_between("c1", EVENING, EVENING + timedelta(minutes=30)))
    assert seats == [1, 2]


def test_an_owner_books_only_their_own_units_open_slots_and_cancels_only_before_the_cut_off(
    s: Services, make: Make
) -> None:
    with pytest.raises(DomainError):
        s.collecting.book("o-1", "u1", EVENING, [], "", "other-0001")  # u1 is not o-1's
    with pytest.raises(InvalidInput):
        s.collecting.book("o-0", "u1", EVENING + timedelta(minutes=10), [], "", "odd-0001")  # not a slot
    with pytest.raises(InvalidInput):
        s.collecting.book("o-0", "u1", EVENING.replace(hour=11), [], "", "noon-0001")  # no window at noon
    booked = s.collecting.book("o-0", "u1", EVENING, [], "", "late-0001")
    s.clock._now = EVENING.astimezone(UTC) - timedelta(hours=1)  # type: ignore[attr-defined]
    with pytest.raises(InvalidInput):
        s.collecting.cancel("o-0", booked.id)


def test_the_office_assigns_the_evening_to_a_collector_who_walks_it_nearest_building_next(s: Services) -> None:
    from domain.admin import Role, Staff
    from domain.bill_run import Unit
    from domain.collection import Building, CollectionHours

    s.staff.add(Staff("wang@t1.cn", "t1", Role.CASHIER, frozenset({"lot-1"}), "plain$a long password 1"))
    s.staff.add(Staff("x@t2.cn", "t2", Role.CASHIER, frozenset(), "plain$a long password 1"))
    for unit, building in (("u4", "3栋"), ("u5", "5栋")):
        s.records.add_unit(BOSS, Unit(unit, "c1", building, "101", 8000), [PHONE])
    places = (Building("物业", 0, 0), Building("1栋", 10, 0), Building("3栋", 300, 0), Building("5栋", 40, 0))
    s.collecting.set_hours(BOSS, CollectionHours("c1", visits_per_slot=3, buildings=places))
    made = {u: s.collecting.book("o-0", u, EVENING, [], "", f"evening-{u}") for u in ("u4", "u1", "u5")}
    with pytest.raises(InvalidInput):
        s.collecting.assign(BOSS, made["u1"].id, "x@t2.cn")  # another company's account
    for booking in made.values():
        assigned = s.collecting.assign(BOSS, booking.id, "wang@t1.cn")
    assert (assigned.state.value, assigned.collector) == ("assigned", "wang@t1.cn")
    walk = s.collecting.evening(BOSS, "c1", EVENING.date(), "wang@t1.cn")
    assert [b.unit_id for b in walk] == ["u1", "u5", "u4"]  # 1栋 (10 m), 5栋 (30 m on), 3栋 last (260 m on)
    assert [b.unit_id for b in s.collecting.my_bookings("o-0")] == sorted(["u1", "u4", "u5"], key=lambda u: made[u].id,
                                                                          reverse=True)  # fmt: skip


def test_the_owner_is_reminded_an_hour_before_the_visit_once_and_not_after_a_cancel(s: Services) -> None:
    from domain.admin import Role, Staff
    from handlers.bill_reminders import BillReminding

    s.staff.add(Staff("wang@t1.cn", "t1", Role.COLLECTOR, frozenset({"lot-1"}), "plain$a long password 1"))
    kept = s.collecting.book("o-0", "u1", EVENING, [], "", "remind-0001")
    gone = s.collecting.book("o-0", "u1", EVENING + timedelta(minutes=30), [], "", "remind-0002")
    unassigned = s.collecting.book("o-0", "u1", EVENING + timedelta(minutes=60), [], "", "remind-0003")
    for booking in (kept, gone):
        s.collecting.assign(BOSS, booking.id, "wang@t1.cn")
    s.collecting.cancel("o-0", gone.id)
    reminding = BillReminding(s.billing, s.owners, s.sealer, s.consents, s.messenger, bookings=s.collection)
    if isinstance(s.messenger, FakeMessenger):
        s.messenger.sent.clear()  # the confirmations
    def tick(at: datetime) -> tuple[list[str], list[str]]:
        report = reminding.send_due(at)
        return report.sent + report.failed, report.skipped  # over DynamoDB no WeChat answers: tried, failed

    assert tick(EVENING - timedelta(hours=1, minutes=5)) == ([], [])  # not yet
    assert tick(EVENING - timedelta(minutes=58)) == ([f"{kept.id}#0"], [])
    assert tick(EVENING - timedelta(minutes=50)) == ([], [])  # once
    assert tick(EVENING - timedelta(minutes=28)) == ([], [f"{gone.id}#0"])  # cancelled: not reminded
    assert tick(EVENING + timedelta(minutes=2)) == ([], [f"{unassigned.id}#0"])  # no collector: nobody comes
    if isinstance(s.messenger, FakeMessenger):
        [(_, to, data)] = s.messenger.sent
        assert (to, data["time2"]["value"], data["thing3"]["value"]) == ("oa-0", "2027-01-20 19:30 北京时间",
                                                                         "收费员一小时后上门")  # fmt: skip


def test_an_owner_moves_a_booking_to_another_slot_keeping_its_bills_until_the_cut_off(s: Services) -> None:
    from handlers.bill_reminders import BillReminding

    bill = u1_bill(s)
    later = EVENING + timedelta(minutes=60)
    from domain.admin import Role, Staff

    s.staff.add(Staff("wang@t1.cn", "t1", Role.COLLECTOR, frozenset({"lot-1"}), "plain$a long password 1"))
    booked = s.collecting.book("o-0", "u1", EVENING, [bill], "现金", "move-0001")
    s.collecting.assign(BOSS, booked.id, "wang@t1.cn")
    for n, (owner, unit) in enumerate((("o-1", "u3"), ("o-2", "u1"))):  # the 19:00 slot fills up
        s.collecting.book(owner, unit, EVENING - timedelta(minutes=30), [], "", f"full-000{n}")
    with pytest.raises(SlotFull):
        s.collecting.change("o-0", booked.id, EVENING - timedelta(minutes=30), None)
    with pytest.raises(DomainError):
        s.collecting.change("o-1", booked.id, later, None)  # not theirs
    moved = s.collecting.change("o-0", booked.id, later, "现金，请先电话")
    assert s.collecting.change("o-0", booked.id, later, "现金，请先电话") == moved  # twice: once
    assert (moved.id, moved.slot, moved.bill_ids, moved.notes) == (booked.id, later, (bill,), "现金，请先电话")
    free = {x.slot.starts: x.free for x in s.collecting.slots("c1", EVENING.date())}
    assert (free[EVENING], free[later]) == (2, 1)  # the old seat given back, one taken in the new slot
    with pytest.raises(BillInOrder):  # still held for the visit
        s.bill_payments.order_bills("o-0", [bill], Channel.WECHAT, "pay-0001", NoPayments())
    reminding = BillReminding(s.billing, s.owners, s.sealer, s.consents, s.messenger, bookings=s.collection)
    tried = reminding.send_due(EVENING - timedelta(minutes=58))
    assert f"{booked.id}#0" not in tried.sent + tried.failed  # not at the old time
    tried = reminding.send_due(later - timedelta(minutes=58))
    assert tried.sent + tried.failed == [f"{booked.id}#0"]  # an hour before the new one
    s.clock._now = later.astimezone(UTC) - timedelta(hours=1)  # type: ignore[attr-defined]
    with pytest.raises(InvalidInput):
        s.collecting.change("o-0", booked.id, later + timedelta(minutes=30), None)
