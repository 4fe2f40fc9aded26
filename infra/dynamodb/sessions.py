"""Owners' sessions (refresh-token families) in DynamoDB: a refresh is one strong GetItem and one conditional
UpdateItem; a logout or a reuse one conditional UpdateItem."""

from __future__ import annotations

from datetime import datetime

from pynamodb.exceptions import UpdateError

from domain.session import Ending, Session
from infra.dynamodb.tables import SessionItem


class DynamoSessionStore:
    def start(self, session: Session, until: datetime) -> None:
        SessionItem(
            session_id=session.id, subject=session.subject, generation=session.generation, expires_at=until
        ).save(condition=SessionItem.session_id.does_not_exist())

    def get(self, session_id: str) -> Session | None:
        try:
            item = SessionItem.get(session_id, consistent_read=True)
        except SessionItem.DoesNotExist:
            return None
        return Session(item.session_id, item.subject, int(item.generation), Ending(item.ended) if item.ended else None)

    def rotate(self, session: Session, until: datetime) -> bool:
        live = SessionItem.session_id.exists() & SessionItem.ended.does_not_exist()
        try:
            SessionItem(session_id=session.id).update(
                actions=[SessionItem.generation.set(session.generation + 1), SessionItem.expires_at.set(until)],
                condition=live & (SessionItem.generation == session.generation),
            )
        except UpdateError as e:
            if e.cause_response_code == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def end(self, session_id: str, why: Ending) -> None:
        """Its TTL stays: it was set past the end of the newest refresh token the session gave."""
        try:
            SessionItem(session_id=session_id).update(
                actions=[SessionItem.ended.set(why.value)],
                condition=SessionItem.session_id.exists() & SessionItem.ended.does_not_exist(),
            )
        except UpdateError as e:
            if e.cause_response_code != "ConditionalCheckFailedException":
                raise
