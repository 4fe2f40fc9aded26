"""Card reads for the card jobs and the office: ended cards, unpaid approvals, pauses to approve, history.

Every change to a card is a plan committed by `infra.dynamodb.unit_of_work`.
"""

from __future__ import annotations

from datetime import date

from domain.card import Card
from domain.card_change import AuditEntry
from infra.dynamodb.audit import history
from infra.dynamodb.repositories import card_of
from infra.dynamodb.tables import CardItem


class DynamoCardQueries:
    def ended_before(self, day: date) -> list[Card]:
        """Active cards whose end date is before `day` (the sparse `running` index)."""
        return [card_of(i) for i in CardItem.running_cards.query("1", CardItem.valid_until < day.isoformat())]

    def unpaid_before(self, day: date) -> list[Card]:
        """Approved cards still unpaid whose pay-by day is before `day`."""
        return [card_of(i) for i in CardItem.unpaid_cards.query("1", CardItem.pay_by < day.isoformat())]

    def pauses_to_approve(self, lot_id: str) -> list[Card]:
        return [card_of(i) for i in CardItem.pauses_to_approve.query(lot_id)]

    def waiting_for_phone(self, phone_key: str) -> list[Card]:
        return [card_of(i) for i in CardItem.by_claim.query(f"phone#{phone_key}")]

    def waiting_for_code(self, locator: str) -> list[Card]:
        return [card_of(i) for i in CardItem.by_claim.query(f"code#{locator}")]

    def history(self, card_id: str) -> list[AuditEntry]:
        return history(f"card:{card_id}")
