"""A gate's whitelist and its allow/deny, and the signed message it trusts."""

from __future__ import annotations

import json
import os
from dataclasses import replace
from datetime import date

import pytest

from domain.gate import Applied, Grant, Reason, Whitelist
from infra.gate_messages import BadMessage, MessageSigner, verified_grant

TODAY = date(2026, 11, 23)


def grant(version: int, plate: str = "粤B12345", **kw: object) -> Grant:
    base = Grant("demo-lot", version, plate, "card-1", date(2026, 11, 4), date(2026, 12, 3), "active")
    return replace(base, **kw)  # type: ignore[arg-type]


def test_grants_apply_in_version_order_only() -> None:
    w = Whitelist("demo-lot")
    assert w.apply(grant(1)) is Applied.APPLIED
    assert w.apply(grant(1)) is Applied.STALE  # a duplicate (QoS 1 delivers at least once)
    assert w.apply(grant(3, valid_until=date(2027, 3, 3))) is Applied.GAP  # 2 is missing
    assert w.version == 1 and w.entries["粤B12345"].valid_until == date(2026, 12, 3)
    assert w.apply(grant(2, plate="粤A00001")) is Applied.APPLIED
    assert w.apply(grant(3, valid_until=date(2027, 3, 3))) is Applied.APPLIED
    assert w.apply(grant(2, valid_until=date(2026, 1, 1))) is Applied.STALE  # late and out of order
    assert w.entries["粤B12345"].valid_until == date(2027, 3, 3)
    with pytest.raises(ValueError):
        w.apply(grant(4, lot_id="other-lot"))


@pytest.mark.parametrize(
    ("g", "today", "allow", "reason"),
    [
        (grant(1), TODAY, True, None),
        (grant(1), date(2026, 12, 3), True, None),  # the whole last day
        (grant(1), date(2026, 12, 4), False, Reason.EXPIRED),
        (grant(1), date(2026, 11, 3), False, Reason.NOT_YET_VALID),
        (grant(1, state="paused"), TODAY, False, Reason.PAUSED),
        (grant(1, state="cancelled"), TODAY, False, Reason.REVOKED),
        (grant(1, state="pending", valid_from=None, valid_until=None), TODAY, False, Reason.REVOKED),
        (grant(1, paused_from=date(2026, 11, 20), paused_until=TODAY), TODAY, False, Reason.PAUSED),
        (grant(1, paused_from=date(2026, 11, 20), paused_until=TODAY), date(2026, 11, 24), True, None),
        (grant(1, paused_from=date(2026, 11, 24), paused_until=date(2026, 11, 30)), TODAY, True, None),
        (grant(1, grace_until=date(2026, 12, 6)), date(2026, 12, 6), True, None),  # the lot's grace days
        (grant(1, grace_until=date(2026, 12, 6)), date(2026, 12, 7), False, Reason.EXPIRED),
        (grant(1, state="expired", grace_until=date(2026, 12, 6)), date(2026, 12, 5), True, None),
        (grant(1, inside="粤A00001"), TODAY, False, Reason.OCCUPIED),  # the card's other car is in
        (grant(1, inside="粤B12345"), TODAY, True, None),
    ],
)
def test_a_gate_decides_from_its_whitelist_alone(g: Grant, today: date, allow: bool, reason: Reason | None) -> None:
    w = Whitelist("demo-lot")
    w.apply(g)
    decision = w.check("粤B12345", today)
    assert (decision.allow, decision.reason) == (allow, reason)
    assert w.check("粤A99999", today).reason is Reason.UNKNOWN


def test_five_days_or_fewer_left_warns() -> None:
    w = Whitelist("demo-lot")
    w.apply(grant(1))
    assert w.check("粤B12345", date(2026, 11, 28)).warning is None  # 6 days left
    near = w.check("粤B12345", date(2026, 11, 29))
    assert near.allow and near.days_left == 5 and near.warning is not None


def test_messages_verify_only_when_signed_by_the_key_and_for_the_lot() -> None:
    signer = MessageSigner(os.urandom(32))
    fields = {"lot_id": "demo-lot", "version": 7, "plate": "粤B12345", "card_id": "card-1",
              "valid_from": "2026-11-04", "valid_until": "2027-03-03", "state": "active", "issued_at": "x"}  # fmt: skip
    signed = signer.sign(fields)
    good = verified_grant(json.dumps(signed).encode(), signer.public_key(), "demo-lot")
    assert (good.version, good.valid_until) == (7, date(2027, 3, 3))

    for bad in (
        {**signed, "valid_until": "2099-12-31"},  # tampered
        {k: v for k, v in signed.items() if k != "sig"},  # unsigned
        MessageSigner(os.urandom(32)).sign(fields),  # someone else's key
    ):
        with pytest.raises(BadMessage):
            verified_grant(json.dumps(bad).encode(), signer.public_key(), "demo-lot")
    with pytest.raises(BadMessage, match="another lot"):
        verified_grant(json.dumps(signed).encode(), signer.public_key(), "other-lot")
    with pytest.raises(BadMessage):
        verified_grant(b"not json", signer.public_key(), "demo-lot")


def test_the_grant_round_trips_through_its_signed_fields() -> None:
    g = grant(7, paused_from=date(2026, 12, 1), paused_until=date(2026, 12, 5), grace_until=date(2026, 12, 6))
    g = replace(g, inside="粤A00001", issued_at="2026-11-23T10:00:00+08:00")
    signer = MessageSigner(os.urandom(32))
    assert verified_grant(json.dumps(signer.sign(g.fields())).encode(), signer.public_key(), "demo-lot") == g


def test_a_grant_of_another_feed_epoch_is_a_new_feed_whatever_its_version() -> None:
    w = Whitelist("demo-lot")
    assert w.apply(grant(1, epoch="e1")) is Applied.APPLIED and w.epoch == "e1"  # the first grant sets it
    assert w.apply(grant(2, epoch="e1")) is Applied.APPLIED
    assert w.apply(grant(1, epoch="e2")) is Applied.NEW_FEED  # below our version: no duplicate, a new feed
    assert w.apply(grant(3, epoch="e2")) is Applied.NEW_FEED  # "next" by number, but of another feed
    assert (w.version, w.epoch) == (2, "e1")
    w.replace_all([grant(1, epoch="e2")], 1, "e2")
    assert (w.version, w.epoch) == (1, "e2") and w.apply(grant(2, epoch="e2")) is Applied.APPLIED


def test_a_message_without_an_epoch_reads_and_verifies_as_before() -> None:
    signer = MessageSigner(os.urandom(32))
    legacy = grant(1)
    assert "epoch" not in legacy.fields()  # a lot from before epochs: the same bytes are signed as before
    assert verified_grant(json.dumps(signer.sign(legacy.fields())).encode(), signer.public_key(), "demo-lot") == legacy
    new = grant(1, epoch="e1")
    assert new.fields()["epoch"] == "e1"
    assert verified_grant(signer.sign(new.fields()), signer.public_key(), "demo-lot").epoch == "e1"
    assert Grant.from_fields({k: v for k, v in new.fields().items() if k != "epoch"}).epoch == ""


def test_every_change_a_gate_learns_carries_its_lots_feed_epoch() -> None:
    from datetime import UTC, datetime

    from domain.entitlement import entitlements_of, news_between
    from domain.lot import Lot
    from tests.builders import a_card

    lot, at = Lot(id="demo-lot", name="D", feed_epoch="e1"), datetime(2026, 11, 23, tzinfo=UTC)
    card = a_card(date(2026, 12, 3), lot_id="demo-lot", plates=("粤B12345", "粤B54321"))
    assert {e.epoch for e in entitlements_of(card, lot, at)} == {"e1"}
    dropped = news_between(card, replace(card, plates=("粤B12345",)), lot, at)
    assert [(e.plate, e.epoch) for e in dropped] == [("粤B54321", "e1")]
