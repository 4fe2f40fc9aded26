"""Reminders, their preferences and subscribe consents in DynamoDB."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from pynamodb.exceptions import UpdateError
from pynamodb.expressions.update import Action

from domain.lot import Lot
from domain.reminder import SEND_LEASE, ReminderChannel, ReminderContext, ReminderPrefs, Slot
from infra.dynamodb.repositories import (
    DynamoCardRepository,
    DynamoLotRepository,
    DynamoOwnerRepository,
    card_of,
    lot_of,
)
from infra.dynamodb.tables import (
    CardItem,
    ConsentItem,
    LotItem,
    OwnerItem,
    ReminderItem,
    ReminderPrefsItem,
    transaction_connection,
)

PENDING, SENDING = "pending", "sending"
LEASE = SEND_LEASE


def slot_actions(slot: Slot) -> list[Action]:
    """An upsert that never resets a reminder that was already sent or skipped."""
    return [
        ReminderItem.card_id.set(slot.card_id),
        ReminderItem.owner_id.set(slot.owner_id),
        ReminderItem.lot_id.set(slot.lot_id),
        ReminderItem.cycle.set(slot.cycle.isoformat()),
        ReminderItem.offset.set(slot.offset),
        ReminderItem.due_at.set(slot.due_at.isoformat()),
        ReminderItem.state.set(ReminderItem.state | PENDING),
    ]


def slot_item(slot: Slot) -> ReminderItem:
    return ReminderItem(bucket=slot.bucket, slot=slot.key)


class DynamoReminderStore:
    def __init__(self, lease: timedelta = LEASE) -> None:
        self._lease = lease

    def schedule(self, slots: list[Slot]) -> None:
        for slot in slots:
            slot_item(slot).update(actions=slot_actions(slot))

    def due(self, bucket: str, at: datetime) -> list[Slot]:
        now = at.astimezone(UTC).isoformat()
        query = ReminderItem.query(
            bucket,
            filter_condition=(ReminderItem.due_at <= now)
            & ((ReminderItem.state == PENDING) | ((ReminderItem.state == SENDING) & (ReminderItem.lease_until < now))),
            consistent_read=True,
        )
        return [_slot(item) for item in query]

    def claim(self, slot: Slot, at: datetime) -> bool:
        now = at.astimezone(UTC)
        claimable = (ReminderItem.state == PENDING) | (
            (ReminderItem.state == SENDING) & (ReminderItem.lease_until < now.isoformat())
        )
        try:
            slot_item(slot).update(
                actions=[
                    ReminderItem.state.set(SENDING),
                    ReminderItem.lease_until.set((now + self._lease).isoformat()),
                ],
                condition=claimable,
            )
        except UpdateError as e:
            if e.cause_response_code == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def held(self, slot: Slot, at: datetime) -> bool:
        try:
            item = ReminderItem.get(slot.bucket, slot.key, consistent_read=True)
        except ReminderItem.DoesNotExist:
            return False
        return item.state == SENDING and (item.lease_until or "") >= at.astimezone(UTC).isoformat()

    def release(self, slot: Slot) -> None:
        _update_if_there(slot, [ReminderItem.state.set(PENDING), ReminderItem.lease_until.remove()])

    def finish(self, slot: Slot, state: str, reason: str | None = None) -> None:
        actions: list[Action] = [ReminderItem.state.set(state), ReminderItem.lease_until.remove()]
        if reason:
            actions.append(ReminderItem.reason.set(reason))
        _update_if_there(slot, actions)

    def retry_later(self, slot: Slot, reason: str, max_attempts: int) -> None:
        item = slot_item(slot)
        if not _update_if_there(slot, [ReminderItem.attempts.add(1), ReminderItem.reason.set(reason)], item):
            return
        state = "failed" if int(item.attempts or 0) >= max_attempts else PENDING
        item.update(actions=[ReminderItem.state.set(state), ReminderItem.lease_until.remove()])

    def states(self, bucket: str) -> dict[str, int]:
        """How many reminders of this hour are in each state (for the admin's daily view)."""
        counts: dict[str, int] = {}
        for item in ReminderItem.query(bucket):
            counts[item.state] = counts.get(item.state, 0) + 1
        return counts


def _update_if_there(slot: Slot, actions: list[Action], item: ReminderItem | None = None) -> bool:
    """A reminder deleted while it was being sent (its card renewed meanwhile) is not written back as a stub."""
    try:
        (item or slot_item(slot)).update(actions=actions, condition=ReminderItem.slot.exists())
    except UpdateError as e:
        if e.cause_response_code == "ConditionalCheckFailedException":
            return False
        raise
    return True


def _slot(item: ReminderItem) -> Slot:
    return Slot(
        item.card_id,
        item.owner_id,
        item.lot_id,
        date.fromisoformat(item.cycle),
        int(item.offset),
        datetime.fromisoformat(item.due_at),
    )


def _prefs(item: ReminderPrefsItem) -> ReminderPrefs:
    return ReminderPrefs(item.card_id, item.enabled, ReminderChannel(item.channel))


class DynamoPrefsRepository:
    def get(self, card_id: str) -> ReminderPrefs | None:
        try:
            item = ReminderPrefsItem.get(card_id, consistent_read=True)
        except ReminderPrefsItem.DoesNotExist:
            return None
        return _prefs(item)

    def put(self, prefs: ReminderPrefs) -> None:
        ReminderPrefsItem(card_id=prefs.card_id, enabled=prefs.enabled, channel=prefs.channel.value).save()


class DynamoConsents:
    def record(self, owner_id: str, template_id: str) -> None:
        ConsentItem(owner_id=owner_id, template_id=template_id).update(actions=[ConsentItem.count.add(1)])

    def spend(self, owner_id: str, template_id: str) -> bool:
        try:
            ConsentItem(owner_id=owner_id, template_id=template_id).update(
                actions=[ConsentItem.count.add(-1)], condition=ConsentItem.count > 0
            )
        except UpdateError as e:
            if e.cause_response_code == "ConditionalCheckFailedException":
                return False
            raise
        return True


class DynamoReminderReads:
    """What sending one reminder reads, in one consistent BatchGetItem over four tables: the card, its reminder
    preferences, its owner and (unless read already this tick) its lot; keys DynamoDB left unprocessed (throttled)
    are read one by one."""

    def __init__(self, owners: DynamoOwnerRepository) -> None:
        self._owners = owners

    def for_reminder(self, slot: Slot, lots: dict[str, Lot]) -> ReminderContext:
        cards, prefs = CardItem.Meta.table_name, ReminderPrefsItem.Meta.table_name
        owners, lot_table = OwnerItem.Meta.table_name, LotItem.Meta.table_name
        wanted: dict[str, Any] = {
            cards: {"Keys": [{"card_id": {"S": slot.card_id}}], "ConsistentRead": True},
            prefs: {"Keys": [{"card_id": {"S": slot.card_id}}], "ConsistentRead": True},
            owners: {"Keys": [{"owner_id": {"S": slot.owner_id}}], "ConsistentRead": True},
        }
        if slot.lot_id not in lots:
            wanted[lot_table] = {"Keys": [{"lot_id": {"S": slot.lot_id}}], "ConsistentRead": True}
        # Through pynamodb: its retries, signals and request counts.
        answer = transaction_connection().dispatch("BatchGetItem", {"RequestItems": wanted})
        found, left = answer.get("Responses", {}), answer.get("UnprocessedKeys", {})
        card = next((card_of(CardItem.from_raw_data(i)) for i in found.get(cards, [])), None)
        chosen = next((_prefs(ReminderPrefsItem.from_raw_data(i)) for i in found.get(prefs, [])), None)
        owner = next((self._owners.owner_of(OwnerItem.from_raw_data(i)) for i in found.get(owners, [])), None)
        if cards in left:
            card = DynamoCardRepository().get(slot.card_id)
        if prefs in left:
            chosen = DynamoPrefsRepository().get(slot.card_id)
        if owners in left:
            owner = self._owners.get(slot.owner_id)
        if slot.lot_id not in lots:
            lot = next((lot_of(LotItem.from_raw_data(i)) for i in found.get(lot_table, [])), None)
            if lot_table in left:
                lot = DynamoLotRepository().get(slot.lot_id)
            if lot is not None:
                lots[slot.lot_id] = lot
        return ReminderContext(card, chosen, lots.get(slot.lot_id), owner)
