"""The lot's invariants I1-I7 under random sequences of every actor's actions, on DynamoDB (moto over HTTP).

Fewer examples than over the in-memory adapters (each starts from empty tables); the
same machine, so the DynamoDB unit of work is held to the same invariants.
"""

from __future__ import annotations

from datetime import date, datetime

import requests
from hypothesis import HealthCheck, settings
from hypothesis.stateful import run_state_machine_as_test

from domain.reminder import Slot
from functions.bootstrap import Services, bind_dynamodb, dynamodb_services
from infra.dynamodb.tables import ReminderItem, create_tables
from infra.settings import Settings
from tests.conftest import TEST_REGION, TEST_SECRETS
from tests.fakes import FixedClock
from tests.lot_machine import START, LotMachine


def reminders_in_dynamodb(s: Services) -> list[tuple[Slot, str]]:
    return [
        (
            Slot(i.card_id, i.owner_id, i.lot_id, date.fromisoformat(i.cycle), int(i.offset),
                 datetime.fromisoformat(i.due_at)),
            i.state,
        )
        for i in ReminderItem.scan()  # a test's look at everything stored; no request path scans
    ]  # fmt: skip


def on_dynamodb(moto_server: str) -> type[LotMachine]:
    settings_ = Settings("test", TEST_REGION, moto_server, wechat_api_base="http://127.0.0.1:9/")

    def fresh() -> Services:
        requests.post(f"{moto_server}/moto-api/reset", timeout=10).raise_for_status()
        bind_dynamodb(settings_)
        create_tables()
        return dynamodb_services(settings_, TEST_SECRETS, FixedClock(START))

    class OnDynamoDB(LotMachine):
        services = staticmethod(fresh)
        stored_reminders = staticmethod(reminders_in_dynamodb)

    return OnDynamoDB


def checked(machine: LotMachine) -> None:
    for check in (machine.i1_places, machine.i2_plates, machine.i3_gates, machine.i4_reminders, machine.i5_audit,
                  machine.i6_money, machine.i7_periods):  # fmt: skip
        check()


def test_the_races_the_machine_found_hold_in_dynamodb(moto_server: str) -> None:
    """Sequences the machine shrank to when a condition was removed on purpose, replayed on DynamoDB."""
    machine_type = on_dynamodb(moto_server)
    races: list[list[tuple[str, dict[str, object]]]] = [
        [  # two approvals for the last place
            ("some_owners_applied", {"waiting": 3, "one_approved": True}),
            ("approvals_at_once", {"first": 0, "second": 1}),
        ],
        [  # an application for an imported card's plate
            ("some_owners_applied", {"waiting": 0, "one_approved": False}),
            ("import_cards", {"ends_in": 0, "plates": ["粤B10006"], "phone_of": None}),
            ("apply", {"owner": "owner-0", "plates": ["粤B10006"]}),
        ],
        [  # duplicate notifications, a pause during a payment, a restore during an approval for its plate
            ("some_owners_applied", {"waiting": 1, "one_approved": True}),
            ("payment_raced", {"pick": 0, "pause_meanwhile": False}),
            ("payment_raced", {"pick": 0, "pause_meanwhile": True}),
            ("office_cancel", {"pick": 0, "twice": True}),
            ("restore_raced_by_an_application", {"pick": 0, "owner": "owner-1"}),
        ],
        [  # an owner's cancel raced by a second cancel, by the notification of a payment made just before, the sweep
            ("some_owners_applied", {"waiting": 1, "one_approved": True}),
            *[
                ("owner_cancels", dict(zip(("pick", "fresh", "paid_first", "meanwhile", "by_other"), s, strict=True)))
                for s in [
                    (0, True, False, "cancel", False),
                    (0, True, True, "payment", False),
                    (0, True, False, "sweep", True),
                    (1, False, False, "sweep", False),
                ]
            ],
        ],
    ]
    for steps in races:
        machine = machine_type()
        for name, arguments in steps:
            getattr(machine, name)(**arguments)
            checked(machine)


def test_the_lots_invariants_hold_on_every_path_in_dynamodb(moto_server: str) -> None:
    run_state_machine_as_test(
        on_dynamodb(moto_server),
        settings=settings(
            max_examples=25, stateful_step_count=20, deadline=None, suppress_health_check=list(HealthCheck)
        ),
    )
