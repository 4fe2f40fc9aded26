"""The lot's invariants I1-I7 under random sequences of every actor's actions, over the in-memory adapters."""

from __future__ import annotations

from hypothesis import HealthCheck, settings

from domain.reminder import Slot
from functions.bootstrap import Services
from tests.fakes import fake_services, memory_of
from tests.lot_machine import START, LotMachine


def reminders_in_memory(s: Services) -> list[tuple[Slot, str]]:
    db = memory_of(s)
    return [(slot, db.slot_states[key]) for key, slot in db.slots.items()]


class InMemory(LotMachine):
    services = staticmethod(lambda: fake_services(START))
    stored_reminders = staticmethod(reminders_in_memory)


InMemory.TestCase.settings = settings(
    max_examples=1000, stateful_step_count=30, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
test_the_lots_invariants_hold_on_every_path = InMemory.TestCase
