"""One-off moves of stored items to a new layout, run by the engineer once at the deploy that needs them
(`parkpass shard-reminders`, docs/operations.md). Each can be run again and does nothing the second time. They scan,
so none is on a request path."""

from __future__ import annotations

from domain.reminder import shard_of
from infra.dynamodb.tables import BillingItem, ReminderItem

DONE = ("sent", "skipped", "failed")


def shard_reminders() -> tuple[int, int]:
    """Reminders filed before shards move to their shard: expiry reminders from the bare UTC hour to `<hour>#<shard>`
    (state, attempts, reason and lease kept; if a reminder was written again meanwhile under its shard, a sent,
    skipped or failed state of the old one wins, so it is never sent twice), bill reminders from
    `bill-reminders#<day>` to `bill-reminders#<day>#<shard>`. Answers how many of each moved."""
    expiry = 0
    for old in ReminderItem.scan(~ReminderItem.bucket.contains("#"), consistent_read=True):
        values = {k: v for k, v in old.attribute_values.items() if k not in ("bucket", "slot")}
        bucket = f"{old.bucket}#{shard_of(old.card_id)}"
        try:
            twin = ReminderItem.get(bucket, old.slot, consistent_read=True)
        except ReminderItem.DoesNotExist:
            twin = None
        if twin is None or (old.state in DONE and twin.state not in DONE):
            ReminderItem(bucket=bucket, slot=old.slot, **values).save()
        old.delete()
        expiry += 1
    bills = 0
    for item in BillingItem.scan(BillingItem.kind == "bill-reminder", consistent_read=True):
        if item.key and item.key.count("#") == 1:  # bill-reminders#<day>
            item.update([BillingItem.key.set(f"{item.key}#{shard_of(item.body['bill_id'])}")])
            bills += 1
    return expiry, bills
