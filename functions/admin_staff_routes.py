"""The admin function's staff: signing in, who is signed in, and the company's office accounts (tenant
administrators only): list, create, disable and enable, reset a password, change a role and its lots."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from flask import Blueprint, request

from domain.admin import Role
from functions.admin_forms import key_of, optional_key
from functions.admin_office import Office, listed
from functions.admin_views import lot_json, staff_json
from functions.bootstrap import Services
from functions.http import parse_body, request_lang
from handlers.admin_lots import my_lots
from handlers.staff import log_in_staff, log_out_staff
from handlers.staff_accounts import add_staff, change_role, list_staff, reset_password, set_disabled
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
        caller = request.remote_addr or "?"
        tokens = log_in_staff(
            body.email, body.password, caller, s.staff, s.passwords, s.staff_tokens, s.login_tries, s.clock
        )
        return {"token": tokens.access_token, "expires_in": tokens.expires_in}

    @bp.post("/api/v1/auth/logout")
    def logout() -> tuple[str, int]:
        """Ends every session of the signed-in account (its tokens carry the account's session epoch)."""
        log_out_staff(me(), s.staff)
        return "", 204

    @bp.get("/api/v1/me")
    def who() -> dict[str, Any]:
        account = me()
        lang = request_lang()
        return {
            "email": account.email,
            "role": account.role.value,
            "role_label": staff_json(account, lang)["role_label"],
            "tenant_id": account.tenant_id,
            "lots": [lot_json(lot, lang) for lot in my_lots(account, s.lots)],
        }

    @bp.get("/api/v1/staff")
    def staff_list() -> Any:
        lang = request_lang()
        return listed([staff_json(a, lang) for a in list_staff(me(), s.staff)], "staff")

    @bp.post("/api/v1/staff")
    def new_staff() -> tuple[dict[str, Any], int]:
        account = me()
        body = parse_body(bodies.StaffBody)
        made = add_staff(
            account,
            body.email,
            body.password,
            Role(body.role),
            set(body.lots),
            key_of(account, body.idempotency_key),
            staff=s.staff,
            passwords=s.passwords,
            lots=s.lots,
            uow=s.uow,
            audit=s.audit,
            clock=s.clock,
        )
        return staff_json(made, request_lang()), 201

    @bp.post("/api/v1/staff/<email>/disable")
    def disable(email: str) -> dict[str, Any]:
        return _disabled(email, True)

    @bp.post("/api/v1/staff/<email>/enable")
    def enable(email: str) -> dict[str, Any]:
        return _disabled(email, False)

    def _disabled(email: str, disabled: bool) -> dict[str, Any]:
        account = me()
        key = key_of(account, optional_key())
        done = set_disabled(account, email, disabled, key, staff=s.staff, uow=s.uow, audit=s.audit, clock=s.clock)
        return staff_json(done, request_lang())

    @bp.post("/api/v1/staff/<email>/password")
    def password(email: str) -> dict[str, Any]:
        account = me()
        body = parse_body(bodies.PasswordBody)
        done = reset_password(
            account,
            email,
            body.password,
            key_of(account, body.idempotency_key),
            staff=s.staff,
            passwords=s.passwords,
            tries=s.login_tries,
            uow=s.uow,
            audit=s.audit,
            clock=s.clock,
        )
        return staff_json(done, request_lang())

    @bp.put("/api/v1/staff/<email>/role")
    def role(email: str) -> dict[str, Any]:
        account = me()
        body = parse_body(bodies.RoleBody)
        done = change_role(
            account,
            email,
            Role(body.role),
            set(body.lots),
            key_of(account, body.idempotency_key),
            staff=s.staff,
            lots=s.lots,
            uow=s.uow,
            audit=s.audit,
            clock=s.clock,
        )
        return staff_json(done, request_lang())

    return bp
