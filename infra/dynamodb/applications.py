"""Applications in DynamoDB: reads, and the item shapes the unit of work writes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from domain.application import OPEN, Application, ApplicationState
from domain.card_change import plate_claim
from infra.dynamodb.repositories import day_of, iso_day
from infra.dynamodb.tables import ApplicationItem, ClaimItem


class DynamoApplications:
    def get(self, application_id: str) -> Application | None:
        try:
            return _application(ApplicationItem.get(application_id, consistent_read=True))
        except ApplicationItem.DoesNotExist:
            return None

    def list_for_owner(self, owner_id: str) -> list[Application]:
        return [_application(i) for i in ApplicationItem.by_owner.query(owner_id, scan_index_forward=False)]

    def queue(self, lot_id: str) -> list[Application]:
        return [_application(i) for i in ApplicationItem.office_queue.query(lot_id)]

    def waiting(self, lot_id: str, limit: int | None = None) -> list[Application]:
        return [_application(i) for i in ApplicationItem.waiting.query(lot_id, limit=limit)]

    def holding(self, lot_id: str, plate: str) -> Application | None:
        """The open application that holds `plate` in the lot, if an application is what holds it."""
        try:
            claim = ClaimItem.get(plate_claim(lot_id, plate), consistent_read=True)
        except ClaimItem.DoesNotExist:
            return None
        if not claim.application_id:
            return None
        found = self.get(claim.application_id)
        return found if found is not None and found.state in OPEN else None


def application_update(a: Application) -> tuple[ApplicationItem, list[Any]]:
    """The application's decision, with the sparse queue keys that follow from its state."""
    values = {
        "state": a.state.value,
        "decided_at": a.decided_at.isoformat() if a.decided_at else None,
        "decided_by": a.decided_by,
        "reason": a.reason,
        "card_id": a.card_id,
        "pay_by": iso_day(a.pay_by),
        "queue": a.lot_id if a.state is ApplicationState.SUBMITTED else None,
        "waitlist": a.lot_id if a.state is ApplicationState.WAITLISTED else None,
        "held_elsewhere": list(a.held_elsewhere) or None,
    }
    actions = [
        getattr(ApplicationItem, name).set(value) if value is not None else getattr(ApplicationItem, name).remove()
        for name, value in values.items()
    ]
    return ApplicationItem(application_id=a.id), actions


def application_item(a: Application) -> ApplicationItem:
    return ApplicationItem(
        application_id=a.id,
        lot_id=a.lot_id,
        owner_id=a.owner_id,
        plates=list(a.plates),
        package_id=a.package_id,
        note=a.note or None,
        state=a.state.value,
        applied_at=a.applied_at.isoformat(),
        queue_key=a.queue_key,
        queue=a.lot_id if a.state is ApplicationState.SUBMITTED else None,
        held_elsewhere=list(a.held_elsewhere) or None,
    )


def _application(i: ApplicationItem) -> Application:
    return Application(
        id=i.application_id,
        lot_id=i.lot_id,
        owner_id=i.owner_id,
        plates=tuple(i.plates),
        package_id=i.package_id,
        note=i.note or "",
        state=ApplicationState(i.state),
        applied_at=datetime.fromisoformat(i.applied_at),
        decided_at=datetime.fromisoformat(i.decided_at) if i.decided_at else None,
        decided_by=i.decided_by,
        reason=i.reason,
        card_id=i.card_id,
        pay_by=day_of(i.pay_by),
        held_elsewhere=tuple(i.held_elsewhere or ()),
    )
