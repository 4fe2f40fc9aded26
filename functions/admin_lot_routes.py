"""The admin function's lots, their policies and packages, and the state of their gates."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from flask import Blueprint, request

from domain.admin import Permission
from domain.lot import Lot
from domain.package import Duration, DurationUnit, Package
from functions.admin_forms import key_of
from functions.admin_office import Office, listed, with_settings
from functions.admin_views import gate_json, lot_json, package_json
from functions.bootstrap import Services
from functions.http import parse_body, request_lang
from handlers.admin_lots import change_package, create_lot, lot_gates, lot_packages, my_lots, save_package, update_lot
from handlers.staff import lot_for
from infra.lazy import lazy_module

if TYPE_CHECKING:
    from functions import admin_bodies as bodies
else:
    bodies = lazy_module("functions.admin_bodies")


def routes(s: Services, office: Office) -> Blueprint:
    bp = Blueprint("admin_lot_routes", __name__)
    me, lot_of = office.me, office.lot_of

    @bp.get("/api/v1/lots")
    def lots() -> Any:
        return listed([lot_json(lot, request_lang()) for lot in my_lots(me(), s.lots)], "lots")

    @bp.post("/api/v1/lots")
    def new_lot() -> tuple[dict[str, Any], int]:
        body = parse_body(bodies.NewLotBody)
        lot = with_settings(Lot(id=body.id, name=body.name), body)
        return lot_json(create_lot(me(), lot, s.lots, s.audit, s.clock), request_lang()), 201

    @bp.get("/api/v1/lots/<lot_id>")
    def lot(lot_id: str) -> dict[str, Any]:
        return lot_json(lot_of(lot_id), request_lang())

    @bp.put("/api/v1/lots/<lot_id>")
    def edit_lot(lot_id: str) -> dict[str, Any]:
        account = me()
        body = parse_body(bodies.PolicyBody)
        current = lot_for(account, lot_id, s.lots, Permission.MANAGE)
        changed = with_settings(current, body)
        changes = {
            f: getattr(changed, f)
            for f in (
                "name",
                "timezone",
                "quota",
                "policy",
                "cards",
                "reminder_offsets",
                "reminder_hour",
                "invoice_provider",
            )
        }
        key = key_of(account, body.idempotency_key)
        done = update_lot(account, lot_id, changes, body.reason, s.lots, s.audit, s.clock, uow=s.uow, key=key)
        return lot_json(done, request_lang())

    @bp.get("/api/v1/lots/<lot_id>/packages")
    def packages(lot_id: str) -> Any:
        lang = request_lang()
        return listed([package_json(p, lang) for p in lot_packages(me(), lot_id, s.packages, s.lots)], "packages")

    @bp.post("/api/v1/lots/<lot_id>/packages")
    def save(lot_id: str) -> tuple[dict[str, Any], int]:
        body = parse_body(bodies.PackageBody)
        package = Package(
            body.id,
            lot_id,
            body.name,
            Duration(DurationUnit(body.unit), body.count),
            body.price_fen,
            body.enabled,
            body.position,
        )
        account = me()
        key = key_of(account, body.idempotency_key)
        saved = save_package(account, package, s.packages, s.lots, s.audit, s.clock, uow=s.uow, key=key)
        return package_json(saved, request_lang()), 201

    @bp.patch("/api/v1/lots/<lot_id>/packages/<package_id>")
    def change(lot_id: str, package_id: str) -> dict[str, Any]:
        body = parse_body(bodies.PackageChangeBody)
        account = me()
        changes = body.model_dump(exclude={"idempotency_key"}, exclude_none=True)
        key = key_of(account, body.idempotency_key)
        done = change_package(
            account, lot_id, package_id, changes, s.packages, s.lots, s.audit, s.clock, uow=s.uow, key=key
        )
        return package_json(done, request_lang())

    @bp.get("/api/v1/lots/<lot_id>/gates")
    def gates(lot_id: str) -> Any:
        lot, found = lot_gates(me(), lot_id, s.lots, s.gates)
        lang = request_lang()
        rows = [gate_json(g, lot, lang) for g in found]
        if request.args.get("format") == "csv":
            return listed(rows, "gates")
        return {"gates": rows, "lot_version": lot.entitlement_version}

    return bp
