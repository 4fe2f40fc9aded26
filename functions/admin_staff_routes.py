"""The admin function's staff: signing in, who is signed in, new staff accounts."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from flask import Blueprint

from domain.admin import Permission, Role
from functions.admin_office import Office, record
from functions.admin_views import lot_json
from functions.bootstrap import Services
from functions.http import parse_body
from handlers.admin_lots import my_lots
from handlers.staff import create_staff, log_in_staff, lot_for
from infra.lazy import lazy_module

if TYPE_CHECKING:
    from functions import admin_bodies as bodies
else:
    bodies = lazy_module("functions.admin_bodies")


def routes(s: Services, office: Office) -> Blueprint:
    bp = Blueprint("admin_staff_routes", __name__)
    me = office.me

    @bp.post("/api/v1/auth/login")
    def login() -> dict[str, Any]:
        body = parse_body(bodies.LoginBody)
        tokens = log_in_staff(body.email, body.password, s.staff, s.passwords, s.staff_tokens, s.clock)
        return {"token": tokens.access_token, "expires_in": tokens.expires_in}

    @bp.get("/api/v1/me")
    def who() -> dict[str, Any]:
        account = me()
        return {
            "email": account.email,
            "role": account.role.value,
            "tenant_id": account.tenant_id,
            "lots": [lot_json(lot) for lot in my_lots(account, s.lots)],
        }

    @bp.post("/api/v1/staff")
    def new_staff() -> tuple[dict[str, Any], int]:
        account = me()
        account.require(Permission.STAFF)
        body = parse_body(bodies.StaffBody)
        for lot_id in body.lots:
            lot_for(account, lot_id, s.lots)  # only lots of this property company
        made = create_staff(
            body.email, body.password, account.tenant_id, Role(body.role), set(body.lots), s.staff, s.passwords
        )
        record(
            s,
            account,
            f"staff:{made.email}",
            "create_staff",
            None,
            {"role": made.role.value, "lots": sorted(made.lot_ids)},
        )
        return {"email": made.email, "role": made.role.value, "lots": sorted(made.lot_ids)}, 201

    return bp
