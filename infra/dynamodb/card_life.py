"""Card changes and applications in DynamoDB: each commits with its claims, the lot's counters,
the gate feed, the reminders and the audit entry in one transaction."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime
from typing import Any

from pynamodb.expressions.condition import Condition

from domain.application import OPEN, Application, ApplicationState
from domain.card import Card
from domain.card_change import AuditEntry, CardChange
from domain.errors import ApplicationClosed, PlateTaken, StaleCard, StaleLot, UnpaidOrderExists
from infra.dynamodb.audit import audit_item, history
from infra.dynamodb.orders import _entitlement_item, _unpaid_claim
from infra.dynamodb.reminders import slot_actions, slot_item
from infra.dynamodb.repositories import _card, _card_item, _date, _iso, card_actions, plate_claim
from infra.dynamodb.tables import ApplicationItem, AuditItem, CardItem, ClaimItem, LotItem
from infra.dynamodb.transact import ConditionsFailed, Conflicted, NamedWrite

ATTEMPTS = 5


class DynamoCardChanges:
    def commit(self, change: CardChange, lot_version: int, application: Application | None = None) -> Card:
        before, after = change.before, change.after
        w = NamedWrite()
        item = _card_item(after)
        item.version = before.version
        actions = card_actions(after)
        if after.plates != before.plates:
            actions.append(CardItem.plates.set(list(after.plates)))
        w.update("card", item, actions)
        kept = set() if change.frees_place else set(after.plates)
        for plate in set(before.plates) - kept:
            held_here = ClaimItem.claim.does_not_exist() | (ClaimItem.card_id == after.id)
            w.delete(f"release {plate}", ClaimItem(claim=plate_claim(after.lot_id, plate)), held_here)
        for plate in kept - set(before.plates):
            claim = ClaimItem(claim=plate_claim(after.lot_id, plate), owner_id=after.owner_id, card_id=after.id)
            w.put(f"plate {plate}", claim, ClaimItem.claim.does_not_exist() | (ClaimItem.card_id == after.id))
        if change.news or change.frees_place:
            lot_actions = [LotItem.entitlement_version.set(lot_version + len(change.news))]
            if change.frees_place:
                lot_actions.append(LotItem.held.add(-1))
                # an unpaid order could still be paid: a card waiting for one is not cancelled under it
                w.check("no unpaid order", ClaimItem, _unpaid_claim(after.id), ClaimItem.claim.does_not_exist())
            w.update("lot", LotItem(lot_id=after.lot_id), lot_actions, _lot_at(lot_version))
            for version, news in enumerate(change.news, start=lot_version + 1):
                w.put(f"event {version}", _entitlement_item(news, version))
        for slot in change.reminders:
            w.update(f"reminder {slot.key}", slot_item(slot), slot_actions(slot))
        _put_audit(w, change.audit)
        if application is not None:
            w.update("application", *_application_update(application, ApplicationState.APPROVED))
        try:
            w.commit()
        except ConditionsFailed as e:
            taken = sorted(n.removeprefix("plate ") for n in e.names if n.startswith("plate "))
            if taken:
                raise PlateTaken(taken[0]) from e
            if "no unpaid order" in e.names:
                raise UnpaidOrderExists("?") from e
            if "card" in e.names or "application" in e.names:
                raise StaleCard(after.id) from e
            raise StaleLot(after.lot_id) from e
        except Conflicted as e:
            raise StaleLot(after.lot_id) from e
        return replace(after, version=before.version + 1)

    def ended_before(self, day: date) -> list[Card]:
        """Active cards whose end date is before `day` (the sparse `running` index)."""
        return [_card(i) for i in CardItem.running_cards.query("1", CardItem.valid_until < day.isoformat())]

    def unpaid_before(self, day: date) -> list[Card]:
        """Approved cards still unpaid whose pay-by day is before `day`."""
        return [_card(i) for i in CardItem.unpaid_cards.query("1", CardItem.pay_by < day.isoformat())]

    def pauses_to_approve(self, lot_id: str) -> list[Card]:
        return [_card(i) for i in CardItem.pauses_to_approve.query(lot_id)]

    def history(self, card_id: str) -> list[AuditEntry]:
        return history(f"card:{card_id}")


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

    def add(self, application: Application, audit: AuditEntry) -> Application:
        """Store it with its plates claimed; the owner's same open application if they applied already."""
        w = NamedWrite()
        w.put("application", _application_item(application), ApplicationItem.application_id.does_not_exist())
        for plate in application.plates:
            claim = ClaimItem(
                claim=plate_claim(application.lot_id, plate),
                owner_id=application.owner_id,
                application_id=application.id,
            )
            w.put(f"plate {plate}", claim, ClaimItem.claim.does_not_exist())
        _put_audit(w, audit)
        try:
            w.commit()
        except ConditionsFailed as e:
            taken = sorted(n.removeprefix("plate ") for n in e.names if n.startswith("plate "))
            if not taken:
                raise
            earlier = self._held_by(application, taken[0])
            if earlier is not None:
                return earlier
            raise PlateTaken(taken[0]) from e
        return application

    def _held_by(self, application: Application, plate: str) -> Application | None:
        """The owner's own open application holding `plate`, if that is what holds it."""
        try:
            claim = ClaimItem.get(plate_claim(application.lot_id, plate), consistent_read=True)
        except ClaimItem.DoesNotExist:
            return None
        if claim.owner_id != application.owner_id or not claim.application_id:
            return None
        earlier = self.get(claim.application_id)
        return earlier if earlier is not None and earlier.state in OPEN else None

    def approve(self, decided: Application, card: Card, audit: AuditEntry) -> bool:
        """Take a place (`held < quota`), create the pending card with the plates, move the application.

        False when the lot is full. ApplicationClosed when it was decided meanwhile;
        PlateTaken when one of its plates is on a card after all.
        """
        for _ in range(ATTEMPTS - 1):
            try:
                return self._approve(decided, card, audit)
            except Conflicted:
                continue  # approvals at the same lot at once: DynamoDB cancels all but one; the rest go again
        try:
            return self._approve(decided, card, audit)
        except Conflicted as e:
            raise StaleLot(decided.lot_id) from e

    def _approve(self, decided: Application, card: Card, audit: AuditEntry) -> bool:
        w = NamedWrite()
        room = LotItem.quota.does_not_exist() | (LotItem.held < LotItem.quota)
        w.update("lot", LotItem(lot_id=decided.lot_id), [LotItem.held.add(1)], LotItem.lot_id.exists() & room)
        w.put("card", _card_item(replace(card, version=0)), CardItem.card_id.does_not_exist())
        for plate in card.plates:
            claim = ClaimItem(
                claim=plate_claim(card.lot_id, plate),
                owner_id=card.owner_id,
                card_id=card.id,
                application_id=decided.id,  # so applying again finds this application
            )
            w.put(f"plate {plate}", claim, ClaimItem.application_id == decided.id)
        w.update("application", *_application_update(decided, ApplicationState.SUBMITTED, ApplicationState.WAITLISTED))
        _put_audit(w, audit)
        try:
            w.commit()
        except ConditionsFailed as e:
            if "application" in e.names or "card" in e.names:
                raise ApplicationClosed("this application was decided meanwhile") from e
            taken = sorted(n.removeprefix("plate ") for n in e.names if n.startswith("plate "))
            if taken:
                raise PlateTaken(taken[0]) from e
            return False
        return True

    def waitlist(self, decided: Application, audit: AuditEntry) -> None:
        self._decide(decided, audit, release=False)

    def reject(self, decided: Application, audit: AuditEntry) -> None:
        self._decide(decided, audit, release=True)

    def _decide(self, decided: Application, audit: AuditEntry, release: bool) -> None:
        w = NamedWrite()
        w.update("application", *_application_update(decided, ApplicationState.SUBMITTED, ApplicationState.WAITLISTED))
        if release:
            for plate in decided.plates:
                claim = ClaimItem(claim=plate_claim(decided.lot_id, plate))
                w.delete(
                    f"release {plate}",
                    claim,
                    ClaimItem.claim.does_not_exist() | (ClaimItem.application_id == decided.id),
                )
        _put_audit(w, audit)
        for attempt in range(ATTEMPTS):
            try:
                w.commit()
                return
            except ConditionsFailed as e:
                raise ApplicationClosed("this application was decided meanwhile") from e
            except Conflicted as e:
                if attempt == ATTEMPTS - 1:
                    raise StaleLot(decided.lot_id) from e


def _lot_at(version: int) -> Condition:
    unchanged = LotItem.entitlement_version == version
    return unchanged | LotItem.entitlement_version.does_not_exist() if version == 0 else unchanged


def _put_audit(w: NamedWrite, e: AuditEntry) -> None:
    w.put("audit", audit_item(e), AuditItem.entry.does_not_exist())


def _application_update(a: Application, *was: ApplicationState) -> tuple[ApplicationItem, list[Any], Condition]:
    """The application's decision, with the sparse queue keys that follow from its state."""
    actions = [
        ApplicationItem.state.set(a.state.value),
        *_set_or_remove("decided_at", a.decided_at.isoformat() if a.decided_at else None),
        *_set_or_remove("decided_by", a.decided_by),
        *_set_or_remove("reason", a.reason),
        *_set_or_remove("card_id", a.card_id),
        *_set_or_remove("pay_by", _iso(a.pay_by)),
        *_set_or_remove("queue", a.lot_id if a.state is ApplicationState.SUBMITTED else None),
        *_set_or_remove("waitlist", a.lot_id if a.state is ApplicationState.WAITLISTED else None),
    ]
    return ApplicationItem(application_id=a.id), actions, ApplicationItem.state.is_in(*(s.value for s in was))


def _set_or_remove(name: str, value: Any) -> list[Any]:
    attribute = getattr(ApplicationItem, name)
    return [attribute.set(value) if value is not None else attribute.remove()]


def _application_item(a: Application) -> ApplicationItem:
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
        pay_by=_date(i.pay_by),
    )
