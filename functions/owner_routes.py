"""The owner's side of the mini-program: login, phone, vehicles, cards."""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Any

from flask import Blueprint, request

from domain.errors import TokenInvalid
from domain.owner import Owner
from functions.auth import current_owner_id
from functions.bootstrap import Services
from functions.http import parse_body
from functions.views import card_json, owner_json, tokens_json
from handlers.bind_phone import bind_phone_and_claim
from handlers.claim_cards import claim_by_code
from handlers.log_in_owner import log_in_owner, log_out_owner, refresh_session
from handlers.my_cards import card_view, get_my_card, list_my_cards_claiming
from handlers.rate_limit import limit, refused_at_most
from handlers.vehicles import add_vehicle, list_vehicles, remove_vehicle
from infra.lazy import lazy_module

if TYPE_CHECKING:
    from functions import bodies
else:
    bodies = lazy_module("functions.bodies")

LOGINS_PER_ADDRESS_PER_MINUTE = 600
"""Far above a home's or an office's NAT; a carrier's NAT can pass it, so production keeps its per-address limit
in AWS WAF (docs/operations.md) and this one only stops a single machine's flood."""
REFUSALS_PER_CODE = 3
"""A minute: a wx.login() code is good once at WeChat; one it refused is not sent to WeChat again and again
(a login that succeeds is never counted, so a lost answer's retry is not held against the phone)."""


def owner_blueprint(s: Services) -> Blueprint:
    bp = Blueprint("owner", __name__, url_prefix="/api/v1")

    def me() -> Owner:
        owner = s.owners.get(current_owner_id(s.tokens))
        if owner is None:
            raise TokenInvalid("account_gone")
        return owner

    @bp.post("/auth/login")
    def login() -> dict[str, Any]:
        caller, now = request.remote_addr or "?", s.clock.now()
        limit(s.rates, "login", caller, LOGINS_PER_ADDRESS_PER_MINUTE, now)
        code = parse_body(bodies.LoginBody).code
        result = refused_at_most(
            s.rates, "login-refused-code", hashlib.sha256(code.encode()).hexdigest()[:32], REFUSALS_PER_CODE, now,
            lambda: log_in_owner(code, s.wechat, s.owners, s.tokens, s.ids, s.sessions, s.clock),
        )  # fmt: skip
        return {**tokens_json(result.tokens), "owner": owner_json(result.owner)}

    @bp.post("/auth/refresh")
    def refresh() -> dict[str, Any]:
        """Each refresh token works once: the answer carries the next one."""
        return tokens_json(refresh_session(parse_body(bodies.RefreshBody).refresh_token, s.sessions, s.tokens, s.clock))

    @bp.post("/auth/logout")
    def logout() -> tuple[str, int]:
        """The refresh token is the session's credential: no bearer needed (an expired access token can log out)."""
        log_out_owner(parse_body(bodies.RefreshBody).refresh_token, s.sessions, s.tokens)
        return "", 204

    @bp.get("/me")
    def profile() -> dict[str, Any]:
        return owner_json(me())

    @bp.post("/me/phone")
    def phone() -> dict[str, Any]:
        owner_id = current_owner_id(s.tokens)
        bound = bind_phone_and_claim(owner_id, parse_body(bodies.PhoneBody).code, s.wechat, s.owners, s.claiming)
        return {"phone": bound.masked, "claimed_cards": [c.id for c in bound.claimed]}

    @bp.get("/me/vehicles")
    def vehicles() -> dict[str, Any]:
        return {"vehicles": list_vehicles(me())}

    @bp.post("/me/vehicles")
    def new_vehicle() -> tuple[dict[str, Any], int]:
        owner_id = current_owner_id(s.tokens)
        return {"plate": add_vehicle(owner_id, parse_body(bodies.VehicleBody).plate, s.owners)}, 201

    @bp.delete("/me/vehicles/<plate>")
    def drop_vehicle(plate: str) -> tuple[str, int]:
        remove_vehicle(me(), plate, s.owners, s.cards)
        return "", 204

    @bp.get("/me/cards")
    def my_cards() -> dict[str, Any]:
        owner_id = current_owner_id(s.tokens)
        mine = list_my_cards_claiming(owner_id, s.owners, s.claiming)
        return {"cards": [card_json(v) for v in mine]}

    @bp.post("/cards/claims")
    def claim() -> dict[str, Any]:
        owner_id = current_owner_id(s.tokens)
        card = claim_by_code(owner_id, parse_body(bodies.ClaimBody).code, s.rates, s.claiming)
        return card_json(card_view(card, s.lots, s.clock))

    @bp.get("/cards/<card_id>")
    def one_card(card_id: str) -> dict[str, Any]:
        owner_id = current_owner_id(s.tokens)
        return card_json(get_my_card(owner_id, card_id, s.cards, s.lots, s.clock))

    return bp
