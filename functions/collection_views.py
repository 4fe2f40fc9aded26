"""Door-to-door collection as JSON: a slot, a booking (its state in words, its slot as the community's clock shows
it; `*_text` in the mini-program's answers, `*_label` in the office's)."""

from __future__ import annotations

from typing import Any

from domain.collection import Booking
from domain.labels import label, local_time
from handlers.collection import OpenSlot


def slot_json(s: OpenSlot) -> dict[str, Any]:
    return {"starts": s.slot.starts.isoformat(), "ends": s.slot.ends.isoformat(), "free": s.free}


def booking_json(b: Booking, zone: str, lang: str, words: str = "text") -> dict[str, Any]:
    return {
        "id": b.id, "community_id": b.community_id, "unit_id": b.unit_id, "slot": b.slot.isoformat(),
        "slot_local": local_time(b.slot, zone, lang), "bill_ids": list(b.bill_ids), "notes": b.notes,
        "state": b.state.value, f"state_{words}": label("booking_state", b.state.value, lang), "collector": b.collector,
    }  # fmt: skip
