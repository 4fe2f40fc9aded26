"""Door-to-door collection in DynamoDB (the billing table): a community's hours (`hours#<community>`) written here,
bookings (`booking#<id>`) only by the unit of work (`booking_write`), found by community and slot time, or by unit."""

from __future__ import annotations

import base64
from dataclasses import replace
from datetime import UTC, datetime, time
from typing import Any

from pynamodb.expressions.condition import Condition

from domain.collection import Booking, BookingState, Building, CollectionHours, Window
from domain.door import CashEntry, CashMove
from infra.dynamodb.billing import check_in_json, check_in_of
from infra.dynamodb.tables import BillingItem


class DynamoCollection:
    def hours(self, community_id: str) -> CollectionHours:
        try:
            body = BillingItem.get(f"hours#{community_id}", consistent_read=True).body
        except BillingItem.DoesNotExist:
            return CollectionHours(community_id)
        return hours_of(body)

    def save_hours(self, hours: CollectionHours) -> None:
        BillingItem(id=f"hours#{hours.community_id}", kind="collection-hours", body=_hours(hours)).save()

    def booking(self, booking_id: str) -> Booking | None:
        try:
            return booking_of(BillingItem.get(f"booking#{booking_id}", consistent_read=True).body)
        except BillingItem.DoesNotExist:
            return None

    def bookings_between(self, community_id: str, start: datetime, end: datetime) -> list[Booking]:
        low, high = f"booking#{_utc(start)}", f"booking#{_utc(end)}"
        query = BillingItem.by_key.query(f"bookings#{community_id}", BillingItem.sort.between(low, high))
        return [b for b in (booking_of(i.body) for i in query) if start <= b.slot < end]

    def bookings_of_unit(self, unit_id: str) -> list[Booking]:
        query = BillingItem.by_unit.query(unit_id, BillingItem.sort.startswith("booking#"))
        return [booking_of(i.body) for i in query]

    def cash_in_hand(self, collector: str) -> int:
        try:
            return int(BillingItem.get(f"custody#{collector}", consistent_read=True).balance or 0)
        except BillingItem.DoesNotExist:
            return 0

    def cash_moves(self, collector: str, start: datetime, end: datetime) -> list[CashEntry]:
        low, high = _utc(start), _utc(end)
        query = BillingItem.by_key.query(f"custody#{collector}", BillingItem.sort.between(low, high))
        return [e for e in (cash_of(i.body) for i in query) if start <= e.at < end]

    def cash_entry(self, entry_id: str) -> CashEntry | None:
        try:
            return cash_of(BillingItem.get(f"cash#{entry_id}", consistent_read=True).body)
        except BillingItem.DoesNotExist:
            return None

    def signature(self, order_id: str) -> bytes | None:
        try:
            return base64.b64decode(BillingItem.get(f"signature#{order_id}", consistent_read=True).body["png"])
        except BillingItem.DoesNotExist:
            return None


def cash_write(e: CashEntry) -> tuple[BillingItem, Condition]:
    item = BillingItem(id=f"cash#{e.id}", kind="cash", key=f"custody#{e.collector}", sort=f"{_utc(e.at)}#{e.id}",
                       body=_cash(e))  # fmt: skip
    return item, BillingItem.id.does_not_exist()


def custody_update(collector: str, fen: int) -> tuple[BillingItem, list[Any], Condition | None]:
    item = BillingItem(id=f"custody#{collector}")
    actions = [BillingItem.balance.add(fen), BillingItem.kind.set("custody")]
    return item, actions, (BillingItem.balance >= -fen) if fen < 0 else None


def signature_write(order_id: str, image: bytes) -> tuple[BillingItem, Condition]:
    item = BillingItem(id=f"signature#{order_id}", kind="signature", body={"png": base64.b64encode(image).decode()})
    return item, BillingItem.id.does_not_exist()


def _cash(e: CashEntry) -> dict[str, Any]:
    return {"id": e.id, "collector": e.collector, "kind": e.kind.value, "fen": e.fen, "at": e.at.isoformat(),
            "community_id": e.community_id, "order_id": e.order_id, "booking_id": e.booking_id, "cashier": e.cashier,
            "counted_fen": e.counted_fen}  # fmt: skip


def cash_of(d: dict[str, Any]) -> CashEntry:
    counted = d.get("counted_fen")
    return CashEntry(d["id"], d["collector"], CashMove(d["kind"]), int(d["fen"]), datetime.fromisoformat(d["at"]),
                     d.get("community_id") or "", d.get("order_id"), d.get("booking_id"), d.get("cashier"),
                     None if counted is None else int(counted))  # fmt: skip


def booking_write(b: Booking, was: tuple[BookingState, ...]) -> tuple[BillingItem, Condition]:
    """A new booking, or a change written over the version read (the stored one moves on by one)."""
    stored = replace(b, version=b.version + 1) if was else b
    # One sort for both indexes: the community's bookings by slot time (by_key), the unit's (by_unit).
    item = BillingItem(
        id=f"booking#{b.id}", kind="booking", key=f"bookings#{b.community_id}", sort=f"booking#{_utc(b.slot)}#{b.id}",
        unit_id=b.unit_id, state=b.state.value, body=_booking(stored), revision=stored.version,
    )  # fmt: skip
    if not was:
        return item, BillingItem.id.does_not_exist()
    read = BillingItem.revision == b.version
    if b.version == 0:  # written before bookings had versions
        read = read | BillingItem.revision.does_not_exist()
    return item, BillingItem.state.is_in(*(s.value for s in was)) & read


def _utc(at: datetime) -> str:
    return at.astimezone(UTC).isoformat()


def _hours(h: CollectionHours) -> dict[str, Any]:
    return {"community_id": h.community_id, "slot_minutes": h.slot_minutes, "visits_per_slot": h.visits_per_slot,
            "change_until_hours": h.change_until_hours,
            "windows": [[w.weekday, w.starts.isoformat(), w.ends.isoformat()] for w in h.windows],
            "buildings": [[b.id, b.x_m, b.y_m] for b in h.buildings],
            "origin": list(h.origin) if h.origin else None}  # fmt: skip


def hours_of(d: dict[str, Any]) -> CollectionHours:
    windows = tuple(Window(int(day), time.fromisoformat(a), time.fromisoformat(b)) for day, a, b in d["windows"])
    buildings = tuple(Building(str(n), float(x), float(y)) for n, x, y in d.get("buildings", []))
    origin = d.get("origin")
    return CollectionHours(d["community_id"], windows, int(d["slot_minutes"]), int(d["visits_per_slot"]),
                           int(d["change_until_hours"]), buildings,
                           (float(origin[0]), float(origin[1])) if origin else None)  # fmt: skip


def _booking(b: Booking) -> dict[str, Any]:
    return {"id": b.id, "community_id": b.community_id, "unit_id": b.unit_id, "owner_id": b.owner_id,
            "slot": b.slot.isoformat(), "bill_ids": list(b.bill_ids), "card_id": b.card_id,
            "package_id": b.package_id, "notes": b.notes, "state": b.state.value, "collector": b.collector,
            "seat": b.seat, "tries": b.tries, "order_id": b.order_id, "outcome": b.outcome,
            "check_in": check_in_json(b.check_in) if b.check_in else None, "version": b.version}  # fmt: skip


def booking_of(d: dict[str, Any]) -> Booking:
    return Booking(d["id"], d["community_id"], d["unit_id"], d["owner_id"], datetime.fromisoformat(d["slot"]),
                   tuple(d["bill_ids"]), d.get("card_id"), d.get("package_id"), d.get("notes") or "",
                   BookingState(d["state"]), d.get("collector"), int(d.get("seat") or 0), int(d.get("tries") or 0),
                   d.get("order_id"), d.get("outcome") or "",
                   check_in_of(d["check_in"]) if d.get("check_in") else None, int(d.get("version") or 0))  # fmt: skip
