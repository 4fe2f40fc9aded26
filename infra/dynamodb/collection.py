"""Door-to-door collection in DynamoDB (the billing table): a community's hours (`hours#<community>`) written here,
bookings (`booking#<id>`) only by the unit of work (`booking_write`), found by community and slot time, or by unit."""

from __future__ import annotations

from datetime import UTC, datetime, time
from typing import Any

from pynamodb.expressions.condition import Condition

from domain.collection import Booking, BookingState, Building, CollectionHours, Window
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


def booking_write(b: Booking, was: tuple[BookingState, ...]) -> tuple[BillingItem, Condition]:
    # One sort for both indexes: the community's bookings by slot time (by_key), the unit's (by_unit).
    item = BillingItem(
        id=f"booking#{b.id}", kind="booking", key=f"bookings#{b.community_id}", sort=f"booking#{_utc(b.slot)}#{b.id}",
        unit_id=b.unit_id, state=b.state.value, body=_booking(b),
    )  # fmt: skip
    condition = BillingItem.state.is_in(*(s.value for s in was)) if was else BillingItem.id.does_not_exist()
    return item, condition


def _utc(at: datetime) -> str:
    return at.astimezone(UTC).isoformat()


def _hours(h: CollectionHours) -> dict[str, Any]:
    return {"community_id": h.community_id, "slot_minutes": h.slot_minutes, "visits_per_slot": h.visits_per_slot,
            "change_until_hours": h.change_until_hours,
            "windows": [[w.weekday, w.starts.isoformat(), w.ends.isoformat()] for w in h.windows],
            "buildings": [[b.id, b.x_m, b.y_m] for b in h.buildings]}  # fmt: skip


def hours_of(d: dict[str, Any]) -> CollectionHours:
    windows = tuple(Window(int(day), time.fromisoformat(a), time.fromisoformat(b)) for day, a, b in d["windows"])
    buildings = tuple(Building(str(n), float(x), float(y)) for n, x, y in d.get("buildings", []))
    return CollectionHours(d["community_id"], windows, int(d["slot_minutes"]), int(d["visits_per_slot"]),
                           int(d["change_until_hours"]), buildings)  # fmt: skip


def _booking(b: Booking) -> dict[str, Any]:
    return {"id": b.id, "community_id": b.community_id, "unit_id": b.unit_id, "owner_id": b.owner_id,
            "slot": b.slot.isoformat(), "bill_ids": list(b.bill_ids), "card_id": b.card_id,
            "package_id": b.package_id, "notes": b.notes, "state": b.state.value, "collector": b.collector,
            "seat": b.seat}  # fmt: skip


def booking_of(d: dict[str, Any]) -> Booking:
    return Booking(d["id"], d["community_id"], d["unit_id"], d["owner_id"], datetime.fromisoformat(d["slot"]),
                   tuple(d["bill_ids"]), d.get("card_id"), d.get("package_id"), d.get("notes") or "",
                   BookingState(d["state"]), d.get("collector"), int(d.get("seat") or 0))  # fmt: skip
