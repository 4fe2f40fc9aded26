"""The audit trail in DynamoDB: one item per change, under its subject, in time order."""

from __future__ import annotations

from datetime import datetime

from domain.card_change import AuditEntry
from infra.dynamodb.tables import AuditItem


def audit_item(e: AuditEntry) -> AuditItem:
    return AuditItem(
        subject=e.subject,
        entry=e.entry,
        actor=e.actor,
        action=e.action,
        reason=e.reason,
        before=e.before,
        after=e.after,
    )


def audit_entry(i: AuditItem) -> AuditEntry:
    parts = i.entry.split("#")
    at = datetime.fromisoformat(parts[1] if parts[0].startswith("v") else parts[0])  # a card's: v<version>#<at>
    return AuditEntry(i.subject, i.entry, at, i.actor, i.action, i.reason, i.before, i.after)


def history(subject: str) -> list[AuditEntry]:
    return [audit_entry(i) for i in AuditItem.query(subject)]


class DynamoAudit:
    def record(self, entry: AuditEntry) -> None:
        audit_item(entry).save(condition=AuditItem.entry.does_not_exist())

    def history(self, subject: str) -> list[AuditEntry]:
        return history(subject)
