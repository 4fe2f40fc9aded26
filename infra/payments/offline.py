"""Payments taken at the property office (cash, POS, transfer): nothing to ask a provider.

An offline order is paid as it is entered; if the entry was interrupted
before it was fulfilled, the sweep asks here and is told it was paid.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from domain.bill_order import BillOrder
from domain.order import Order, RefundState, offline_transaction_id
from handlers.ports import PaymentStatus

if TYPE_CHECKING:  # visits load with the first visit order, not with every cold start
    from domain.visit_payment import VisitOrder


class OfflinePayments:
    def prepay(self, order: Order | BillOrder | VisitOrder, payer_id: str) -> dict[str, str]:
        return {}

    def query(self, order: Order | BillOrder | VisitOrder) -> PaymentStatus:
        return PaymentStatus(
            paid=True,
            transaction_id=offline_transaction_id(order),
            amount_fen=order.amount_fen,
            paid_at=order.created_at,
        )

    def close(self, order: Order | BillOrder | VisitOrder) -> None:
        return None

    def refund(
        self, order: Order | BillOrder | VisitOrder, refund_no: str, amount_fen: int | None = None
    ) -> RefundState:
        return RefundState.SUCCEEDED  # the office hands the money back itself, there and then

    def refund_state(self, order: Order | BillOrder | VisitOrder, refund_no: str) -> RefundState:
        return RefundState.SUCCEEDED
