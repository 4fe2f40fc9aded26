"""The owner's reminder settings and the subscribe-message consents the mini-program reports."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from flask import Blueprint

from domain.reminder import ReminderChannel, ReminderPrefs
from functions.auth import current_owner_id
from functions.bootstrap import Services
from functions.http import parse_body
from handlers.reminders import get_reminders, set_reminders
from infra.lazy import lazy_module

if TYPE_CHECKING:
    from functions import bodies
else:
    bodies = lazy_module("functions.bodies")


def _json(prefs: ReminderPrefs) -> dict[str, Any]:
    return {"card_id": prefs.card_id, "enabled": prefs.enabled, "channel": prefs.channel.value}


def reminder_blueprint(s: Services) -> Blueprint:
    bp = Blueprint("reminders", __name__, url_prefix="/api/v1")

    @bp.get("/cards/<card_id>/reminders")
    def read(card_id: str) -> dict[str, Any]:
        return _json(get_reminders(current_owner_id(s.tokens), card_id, s.cards, s.reminder_prefs))

    @bp.put("/cards/<card_id>/reminders")
    def write(card_id: str) -> dict[str, Any]:
        owner_id = current_owner_id(s.tokens)
        body = parse_body(bodies.RemindersBody)
        chosen = set_reminders(
            owner_id,
            card_id,
            body.enabled,
            ReminderChannel(body.channel),
            s.cards,
            s.lots,
            s.reminder_prefs,
            s.reminders,
        )
        return _json(chosen)

    @bp.post("/me/subscriptions")
    def consent() -> tuple[str, int]:
        owner_id = current_owner_id(s.tokens)
        body = parse_body(bodies.ConsentBody)
        if body.accepted:  # a refusal is simply not a consent
            s.consents.record(owner_id, body.template_id)
        return "", 204

    return bp
