"""The owner's property fees in the mini-program: their units (by their verified phone), bills with the late fee of
today, one payment for several bills, prepayments and the balance."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from flask import Blueprint, request

from domain.errors import BillNotFound, InvalidInput
from domain.order import Channel
from functions.auth import current_owner_id
from functions.bootstrap import Services
from functions.http import parse_body, request_lang
from infra.lazy import lazy_module

if TYPE_CHECKING:
    from domain import bill_run
    from functions import bill_views, bodies
else:  # property fees load with the first request for them, not with every cold start of the API
    bodies = lazy_module("functions.bodies")
    bill_views = lazy_module("functions.bill_views")
    bill_run = lazy_module("domain.bill_run")


def bill_blueprint(s: Services) -> Blueprint:
    bp = Blueprint("bills", __name__, url_prefix="/api/v1")

    @bp.get("/me/units")
    def my_units() -> dict[str, Any]:
        owner_id = current_owner_id(s.tokens)
        units = [u for u in (s.billing.unit(x) for x in s.bill_payments.my_units(owner_id)) if u is not None]
        names = {c: found.name for c in {u.community_id for u in units} if (found := s.billing.community(c))}
        return {"units": [{**bill_views.unit_json(u, request_lang(), s.billing.balance(u.id)),
                           "community_name": names.get(u.community_id, "")} for u in units]}  # fmt: skip

    @bp.get("/me/bills")
    def my_bills() -> dict[str, Any]:
        owner_id = current_owner_id(s.tokens)
        state = request.args.get("state")
        if state not in (None, "unpaid", "paid"):
            raise InvalidInput("bill_state_filter")
        payments = s.bill_payments
        shown = []
        for unit_id in payments.my_units(owner_id):
            unit = s.billing.unit(unit_id)
            community = s.billing.community(unit.community_id) if unit else None
            bills = [b for b in s.billing.bills_of_unit(unit_id) if b.state is not bill_run.BillState.DRAFT]
            bills = [b for b in bills if state in (None, b.state.value)]
            unpaid = [b for b in bills if b.state is bill_run.BillState.UNPAID]
            prices = {p.bill_id: p for p in payments.priced(unpaid, community)} if community else {}
            items = {i.id: i for i in s.billing.fee_items(unit.community_id)} if unit else {}
            shown += [
                bill_views.bill_json(b, request_lang(), prices.get(b.id), unit, items.get(b.fee_item_id)) for b in bills
            ]
        return {"bills": sorted(shown, key=lambda b: (b["state"] != "unpaid", b["due_date"], b["id"]))}

    @bp.get("/bills/<bill_id>")
    def my_bill(bill_id: str) -> dict[str, Any]:
        owner_id = current_owner_id(s.tokens)
        bill = s.bill_payments.my_bill(owner_id, bill_id)
        community = s.billing.community(bill.community_id)
        price = None
        if bill.state is bill_run.BillState.UNPAID and community is not None:
            price = s.bill_payments.priced([bill], community)[0]
        found = s.billing.fee_item(bill.fee_item_id)
        return bill_views.bill_json(
            bill, request_lang(), price, s.billing.unit(bill.unit_id), found[0] if found else None
        )

    @bp.post("/bills/payments")
    def pay_bills() -> tuple[dict[str, Any], int]:
        owner_id = current_owner_id(s.tokens)
        body = parse_body(bodies.BillPaymentBody)
        channel = Channel(body.channel)
        made = s.bill_payments.order_bills(owner_id, body.bill_ids, channel, body.idempotency_key, s.provider(channel))
        return bill_views.bill_order_json(made.order, request_lang(), made.payment), 201

    @bp.post("/units/<unit_id>/prepayments")
    def prepay(unit_id: str) -> tuple[dict[str, Any], int]:
        owner_id = current_owner_id(s.tokens)
        body = parse_body(bodies.PrepaymentBody)
        channel = Channel(body.channel)
        made = s.bill_payments.prepay(owner_id, unit_id, body.amount_fen, channel, body.idempotency_key,
                                      s.provider(channel))  # fmt: skip
        return bill_views.bill_order_json(made.order, request_lang(), made.payment), 201

    @bp.post("/units/<unit_id>/vacancies")
    def apply_for_vacancy(unit_id: str) -> tuple[dict[str, Any], int]:
        owner_id = current_owner_id(s.tokens)
        body = parse_body(bodies.VacancyBody)
        vacancy = s.bill_payments.apply_for_vacancy(owner_id, unit_id, body.from_, body.until, body.reason,
                                                    body.idempotency_key)  # fmt: skip
        return bill_views.vacancy_json(vacancy), 201

    @bp.get("/units/<unit_id>/balance")
    def balance(unit_id: str) -> dict[str, Any]:
        owner_id = current_owner_id(s.tokens)
        return {"unit_id": unit_id, "balance_fen": s.bill_payments.balance(owner_id, unit_id)}

    @bp.get("/bill-orders/<order_id>")
    def bill_order(order_id: str) -> dict[str, Any]:
        owner_id = current_owner_id(s.tokens)
        try:
            order = s.bill_payments.my_order(owner_id, order_id)
        except BillNotFound:
            raise BillNotFound("bill_order", order_id) from None
        return bill_views.bill_order_json(order, request_lang())

    return bp
