"""The owner's card life in the mini-program: applying, pausing, plates."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from flask import Blueprint

from domain.card import Card
from domain.errors import ApplicationNotFound
from domain.ids import checked_id
from functions.auth import current_owner_id
from functions.bootstrap import Services
from functions.http import parse_body, request_lang
from functions.views import application_json, card_json
from handlers.applications import ApplicationView, apply_for_card, my_applications
from handlers.card_changes import (
    add_card_plate,
    change_plate,
    pause_card,
    remove_card_plate,
    resume_card,
)
from handlers.my_cards import card_view
from infra.lazy import lazy_module

if TYPE_CHECKING:
    from functions import bodies
else:
    bodies = lazy_module("functions.bodies")


def card_blueprint(s: Services) -> Blueprint:
    bp = Blueprint("cards", __name__, url_prefix="/api/v1")

    def shown(card: Card) -> dict[str, Any]:
        return card_json(card_view(card, s.lots, s.clock))

    @bp.post("/lots/<lot_id>/applications")
    def apply(lot_id: str) -> tuple[dict[str, Any], int]:
        owner_id = current_owner_id(s.tokens)
        body = parse_body(bodies.ApplicationBody)
        application = apply_for_card(
            owner_id,
            lot_id,
            body.plates,
            body.package_id,
            body.note,
            s.lots,
            s.packages,
            s.applications,
            s.uow,
            s.ids,
            s.clock,
            s.notices,
            s.cards,
        )
        return application_json(_one(owner_id, application.id, s), request_lang()), 201

    @bp.get("/me/applications")
    def applications() -> dict[str, Any]:
        owner_id = current_owner_id(s.tokens)
        mine = my_applications(owner_id, s.lots, s.applications)
        return {"applications": [application_json(v, request_lang()) for v in mine]}

    @bp.get("/applications/<application_id>")
    def application(application_id: str) -> dict[str, Any]:
        return application_json(_one(current_owner_id(s.tokens), application_id, s), request_lang())

    @bp.post("/cards/<card_id>/pause")
    def pause(card_id: str) -> dict[str, Any]:
        owner_id = current_owner_id(s.tokens)
        body = parse_body(bodies.PauseBody)
        card = pause_card(owner_id, card_id, body.starts, body.until, s.cards, s.lots, s.uow, s.ids, s.clock)
        return shown(card)

    @bp.post("/cards/<card_id>/resume")
    def resume(card_id: str) -> dict[str, Any]:
        owner_id = current_owner_id(s.tokens)
        return shown(resume_card(owner_id, card_id, s.cards, s.lots, s.uow, s.clock))

    @bp.post("/cards/<card_id>/plates")
    def add_plate(card_id: str) -> dict[str, Any]:
        owner_id = current_owner_id(s.tokens)
        plate = parse_body(bodies.PlateBody).plate
        return shown(add_card_plate(owner_id, card_id, plate, s.cards, s.lots, s.uow, s.clock))

    @bp.delete("/cards/<card_id>/plates/<plate>")
    def remove_plate(card_id: str, plate: str) -> dict[str, Any]:
        owner_id = current_owner_id(s.tokens)
        return shown(remove_card_plate(owner_id, card_id, plate, s.cards, s.lots, s.uow, s.clock))

    @bp.post("/cards/<card_id>/plate-changes")
    def swap_plate(card_id: str) -> dict[str, Any]:
        owner_id = current_owner_id(s.tokens)
        body = parse_body(bodies.PlateChangeBody)
        return shown(change_plate(owner_id, card_id, body.old, body.new, s.cards, s.lots, s.uow, s.clock))

    return bp


def _one(owner_id: str, application_id: str, s: Services) -> ApplicationView:
    checked_id("application_id", application_id)
    for view in my_applications(owner_id, s.lots, s.applications):
        if view.application.id == application_id:
            return view
    raise ApplicationNotFound(application_id)
