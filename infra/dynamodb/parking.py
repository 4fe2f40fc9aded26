"""Parking at the barrier in DynamoDB (the parking table): records as JSON under `<kind>#<id>`, found by key.

Passages, stays, visits, the count of cars inside, exemptions and visit orders are written by the unit of work only
(`*_write` build its items and conditions); the lot's setup is written here.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Any

from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action

from domain.barrier import BarrierPolicy, ExpiredCard, Kind, UnpaidVisit
from domain.order import Channel, OrderState
from domain.parking import (
    Occupancy,
    ParkedVisit,
    ParkingPass,
    ParkingSetup,
    PassageRecord,
    PassKind,
    Spaces,
    Stay,
)
from domain.plan import OccupancyMove
from domain.visit_payment import VisitOrder
from domain.visitor_fee import NightPrice, VisitorFeeRule
from domain.visits import Direction, Flag
from handlers.ports import AtGate
from infra.dynamodb.tables import ParkingItem


class DynamoParking:
    def setup(self, lot_id: str) -> ParkingSetup:
        body = self._body(f"setup#{lot_id}")
        return setup_of(body) if body else ParkingSetup(lot_id)

    def save_setup(self, setup: ParkingSetup) -> None:
        ParkingItem(id=f"setup#{setup.lot_id}", kind="setup", body=_setup(setup)).save()

    def passage(self, lot_id: str, gate_id: str, event_id: str) -> PassageRecord | None:
        body = self._body(f"passage#{lot_id}#{gate_id}#{event_id}")
        return passage_of(body) if body else None

    def at_gate(self, lot_id: str, gate_id: str, event_id: str, plate: str) -> AtGate:
        ids = (f"passage#{lot_id}#{gate_id}#{event_id}", f"stay#{lot_id}#{plate}", f"occupancy#{lot_id}",
               f"setup#{lot_id}", *_pass_ids(lot_id, plate))  # fmt: skip
        found = {i.id: i for i in ParkingItem.batch_get(ids, consistent_read=True)}
        passage, stay, count, setup = (found.get(x) for x in ids[:4])
        return AtGate(
            passage_of(passage.body) if passage else None,
            stay_of(stay.body, int(stay.version or 0)) if stay else Stay(lot_id, plate),
            Occupancy(lot_id, int(count.inside or 0), int(count.visitors or 0)) if count else Occupancy(lot_id),
            setup_of(setup.body) if setup else ParkingSetup(lot_id),
            [pass_of(found[x].body) for x in ids[4:] if x in found],
        )

    def stay(self, lot_id: str, plate: str) -> Stay:
        try:
            i = ParkingItem.get(f"stay#{lot_id}#{plate}", consistent_read=True)
        except ParkingItem.DoesNotExist:
            return Stay(lot_id, plate)
        return stay_of(i.body, int(i.version or 0))

    def visit(self, visit_id: str) -> ParkedVisit | None:
        try:
            i = ParkingItem.get(f"visit#{visit_id}", consistent_read=True)
        except ParkingItem.DoesNotExist:
            return None
        return visit_of(i.body, int(i.version or 0))

    def visits_on(self, lot_id: str, day: date) -> list[ParkedVisit]:
        return [visit_of(i.body, int(i.version or 0)) for i in ParkingItem.by_key.query(f"visits#{lot_id}#{day}")]

    def open_visits(self, lot_id: str) -> list[ParkedVisit]:
        return [visit_of(i.body, int(i.version or 0)) for i in ParkingItem.by_open.query(f"inside#{lot_id}")]

    def owing(self, lot_id: str) -> list[Stay]:
        return [stay_of(i.body, int(i.version or 0)) for i in ParkingItem.by_key.query(f"owing#{lot_id}")]

    def occupancy(self, lot_id: str) -> Occupancy:
        try:
            i = ParkingItem.get(f"occupancy#{lot_id}", consistent_read=True)
        except ParkingItem.DoesNotExist:
            return Occupancy(lot_id)
        return Occupancy(lot_id, int(i.inside or 0), int(i.visitors or 0))

    def passes(self, lot_id: str) -> list[ParkingPass]:
        return [pass_of(i.body) for i in ParkingItem.by_key.query(f"passes#{lot_id}")]

    def passes_of(self, lot_id: str, plate: str) -> list[ParkingPass]:
        """By their keys (a consistent read: a pass just made is there)."""
        found = {i.id: i for i in ParkingItem.batch_get(_pass_ids(lot_id, plate), consistent_read=True)}
        return [pass_of(found[x].body) for x in _pass_ids(lot_id, plate) if x in found]

    def guests(self, lot_id: str, owner_id: str) -> list[ParkingPass]:
        return [p for p in self.passes(lot_id) if p.owner_id == owner_id]

    def visit_order(self, order_id: str) -> VisitOrder | None:
        body = self._body(f"vorder#{order_id}")
        return visit_order_of(body) if body else None

    def pending_visit_orders(self, created_before: datetime) -> list[VisitOrder]:
        query = ParkingItem.by_key.query("pending-visit-orders", ParkingItem.sort <= created_before.isoformat())
        return [visit_order_of(i.body) for i in query]

    def _body(self, item_id: str) -> dict[str, Any] | None:
        try:
            return ParkingItem.get(item_id, consistent_read=True).body  # type: ignore[no-any-return]
        except ParkingItem.DoesNotExist:
            return None


# --- what the unit of work writes
def passage_write(r: PassageRecord) -> tuple[ParkingItem, Condition]:
    item = ParkingItem(id=f"passage#{r.id}", kind="passage", body=_passage(r))
    return item, ParkingItem.id.does_not_exist()


def stay_write(stay: Stay, expected: int) -> tuple[ParkingItem, Condition]:
    owing = stay.owed_fen > 0
    item = ParkingItem(
        id=f"stay#{stay.lot_id}#{stay.plate}", kind="stay", body=_stay(stay), version=expected + 1,
        key=f"owing#{stay.lot_id}" if owing else None, sort=stay.plate if owing else None,
    )  # fmt: skip
    return item, ParkingItem.id.does_not_exist() if expected == 0 else ParkingItem.version == expected


def visit_write(v: ParkedVisit, expected: int | None) -> tuple[ParkingItem, Condition]:
    item = ParkingItem(
        id=f"visit#{v.id}", kind="visit", body=_visit(v), version=(expected or 0) + 1,
        key=f"visits#{v.lot_id}#{v.day}", sort=f"{v.first_at.isoformat()}#{v.id}",
        open_key=f"inside#{v.lot_id}" if v.open else None, state="open" if v.open else "closed",
    )  # fmt: skip
    return item, ParkingItem.id.does_not_exist() if expected is None else ParkingItem.version == expected


def occupancy_update(o: OccupancyMove) -> tuple[ParkingItem, list[Action], Condition | None]:
    item = ParkingItem(id=f"occupancy#{o.lot_id}")
    actions: list[Action] = [ParkingItem.kind.set("occupancy")]
    condition: Condition | None = None

    def also(c: Condition) -> None:
        nonlocal condition
        condition = c if condition is None else condition & c

    if o.inside:
        actions.append(ParkingItem.inside.add(o.inside))
    if o.visitors:
        actions.append(ParkingItem.visitors.add(o.visitors))
    if o.was is not None:
        also(_is(ParkingItem.inside, o.was[0]) & _is(ParkingItem.visitors, o.was[1]))
    if o.inside < 0:
        also(ParkingItem.inside >= -o.inside)
    if o.visitors < 0:
        also(ParkingItem.visitors >= -o.visitors)
    if o.visitors > 0 and o.visitors_below is not None:
        also(ParkingItem.visitors.does_not_exist() | (ParkingItem.visitors < o.visitors_below))
    if o.inside > 0 and o.inside_below is not None:
        also(ParkingItem.inside.does_not_exist() | (ParkingItem.inside < o.inside_below))
    if not o.inside and not o.visitors:  # a count set to what it was: nothing moves, the check still holds
        actions.append(ParkingItem.inside.set(ParkingItem.inside | 0))
    return item, actions, condition


def _is(attribute: Any, n: int) -> Condition:
    held: Condition = attribute == n
    return held | attribute.does_not_exist() if n == 0 else held


def _pass_ids(lot_id: str, plate: str) -> list[str]:
    return [f"pass#{lot_id}#{kind.value}#{plate}" for kind in PassKind]


def pass_write(p: ParkingPass) -> ParkingItem:
    return ParkingItem(id=f"pass#{p.lot_id}#{p.kind.value}#{p.plate}", kind="pass", body=_pass(p),
                       key=f"passes#{p.lot_id}", sort=f"{p.plate}#{p.kind.value}")  # fmt: skip


def visit_order_write(o: VisitOrder, was: tuple[OrderState, ...]) -> tuple[ParkingItem, Condition]:
    pending = o.state is OrderState.PENDING
    item = ParkingItem(
        id=f"vorder#{o.id}", kind="visit-order", state=o.state.value, body=_visit_order(o),
        key="pending-visit-orders" if pending else None, sort=o.created_at.isoformat() if pending else None,
    )  # fmt: skip
    return item, ParkingItem.state.is_in(*(s.value for s in was)) if was else ParkingItem.id.does_not_exist()


# --- records as JSON
def _t(at: datetime | None) -> str | None:
    return at.isoformat() if at else None


def _at(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text).astimezone(UTC) if text else None


def _when(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def _d(day: date | None) -> str | None:
    return day.isoformat() if day else None


def _day(text: str | None) -> date | None:
    return date.fromisoformat(text) if text else None


def _setup(s: ParkingSetup) -> dict[str, Any]:
    return {
        "lot_id": s.lot_id,
        "rules": [
            {"starts": r.starts.isoformat(), "free_minutes": r.free_minutes, "period_minutes": r.period_minutes,
             "price_fen": r.price_fen, "cap_fen_per_24h": r.cap_fen_per_24h,
             "night": None if r.night is None else {"starts": r.night.starts.isoformat(),
                                                    "ends": r.night.ends.isoformat(), "price_fen": r.night.price_fen}}
            for r in s.rules
        ],
        "policy": {"expired_card": s.policy.expired_card.value, "unpaid_visit": s.policy.unpaid_visit.value,
                   "leave_minutes": s.policy.leave_minutes},
        "spaces": {"total": s.spaces.total, "visitor": s.spaces.visitor},
        "guests_per_month": s.guests_per_month,
    }  # fmt: skip


def setup_of(d: dict[str, Any]) -> ParkingSetup:
    rules = tuple(
        VisitorFeeRule(date.fromisoformat(r["starts"]), int(r["free_minutes"]), int(r["period_minutes"]),
                       int(r["price_fen"]), None if r["cap_fen_per_24h"] is None else int(r["cap_fen_per_24h"]),
                       None if r["night"] is None else NightPrice(time.fromisoformat(r["night"]["starts"]),
                                                                  time.fromisoformat(r["night"]["ends"]),
                                                                  int(r["night"]["price_fen"])))
        for r in d["rules"]
    )  # fmt: skip
    p, sp = d["policy"], d["spaces"]
    policy = BarrierPolicy(ExpiredCard(p["expired_card"]), UnpaidVisit(p["unpaid_visit"]), int(p["leave_minutes"]))
    spaces = Spaces(
        None if sp["total"] is None else int(sp["total"]), None if sp["visitor"] is None else int(sp["visitor"])
    )
    return ParkingSetup(d["lot_id"], rules, policy, spaces, int(d["guests_per_month"]))


def _passage(r: PassageRecord) -> dict[str, Any]:
    return {"lot_id": r.lot_id, "gate_id": r.gate_id, "event_id": r.event_id, "plate": r.plate,
            "direction": r.direction.value, "at": r.at.isoformat(), "allow": r.allow, "kind": r.kind.value,
            "display": r.display, "recorded_at": r.recorded_at.isoformat(), "visit_id": r.visit_id,
            "fee_fen": r.fee_fen, "opened": r.opened, "photo": r.photo}  # fmt: skip


def passage_of(d: dict[str, Any]) -> PassageRecord:
    return PassageRecord(d["lot_id"], d["gate_id"], d["event_id"], d["plate"], Direction(d["direction"]),
                         _when(d["at"]), bool(d["allow"]), Kind(d["kind"]), d["display"], _when(d["recorded_at"]),
                         d.get("visit_id"), int(d.get("fee_fen") or 0), d.get("opened"), d.get("photo"))  # fmt: skip


def _stay(s: Stay) -> dict[str, Any]:
    return {"lot_id": s.lot_id, "plate": s.plate, "visit_id": s.visit_id, "owed_fen": s.owed_fen,
            "last_at": _t(s.last_at), "owed_visit": s.owed_visit}  # fmt: skip


def stay_of(d: dict[str, Any], version: int) -> Stay:
    return Stay(d["lot_id"], d["plate"], d.get("visit_id"), int(d.get("owed_fen") or 0), _at(d.get("last_at")),
                d.get("owed_visit"), version)  # fmt: skip


def _visit(v: ParkedVisit) -> dict[str, Any]:
    return {"id": v.id, "lot_id": v.lot_id, "plate": v.plate, "kind": v.kind.value, "entered_at": _t(v.entered_at),
            "left_at": _t(v.left_at), "fee_fen": v.fee_fen, "paid_fen": v.paid_fen, "paid_at": _t(v.paid_at),
            "flag": v.flag.value if v.flag else None, "day": _d(v.day)}  # fmt: skip


def visit_of(d: dict[str, Any], version: int) -> ParkedVisit:
    return ParkedVisit(d["id"], d["lot_id"], d["plate"], Kind(d["kind"]), _at(d.get("entered_at")),
                       _at(d.get("left_at")), int(d.get("fee_fen") or 0), int(d.get("paid_fen") or 0),
                       _at(d.get("paid_at")), Flag(d["flag"]) if d.get("flag") else None, _day(d.get("day")),
                       version)  # fmt: skip


def _pass(p: ParkingPass) -> dict[str, Any]:
    return {"lot_id": p.lot_id, "plate": p.plate, "kind": p.kind.value, "reason": p.reason,
            "starts": p.starts.isoformat(), "until": _d(p.until), "by": p.by, "at": p.at.isoformat(),
            "lifted": p.lifted, "owner_id": p.owner_id}  # fmt: skip


def pass_of(d: dict[str, Any]) -> ParkingPass:
    return ParkingPass(d["lot_id"], d["plate"], PassKind(d["kind"]), d["reason"], date.fromisoformat(d["starts"]),
                       _day(d.get("until")), d["by"], _when(d["at"]), bool(d.get("lifted")),
                       d.get("owner_id"))  # fmt: skip


def _visit_order(o: VisitOrder) -> dict[str, Any]:
    return {"id": o.id, "owner_id": o.owner_id, "lot_id": o.lot_id, "visit_id": o.visit_id, "plate": o.plate,
            "visit_fen": o.visit_fen, "owed_fen": o.owed_fen, "channel": o.channel.value, "state": o.state.value,
            "created_at": o.created_at.isoformat(), "expires_at": o.expires_at.isoformat(), "paid_at": _t(o.paid_at),
            "transaction_id": o.transaction_id}  # fmt: skip


def visit_order_of(d: dict[str, Any]) -> VisitOrder:
    return VisitOrder(d["id"], d["owner_id"], d["lot_id"], d["visit_id"], d["plate"], int(d["visit_fen"]),
                      int(d["owed_fen"]), Channel(d["channel"]), OrderState(d["state"]), _when(d["created_at"]),
                      _when(d["expires_at"]), _at(d.get("paid_at")), d.get("transaction_id"))  # fmt: skip
