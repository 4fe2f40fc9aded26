"""The admin function's lots, their policies and packages."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from flask import Blueprint

from domain.admin import Permission
from domain.lot import Lot
from domain.package import Duration, DurationUnit, Package
from functions.admin_office import Office, listed, with_settings
from functions.admin_views import lot_json, package_json
from functions.bootstrap import Services
from functions.http import parse_body
from handlers.admin_lots import create_lot, lot_packages, my_lots, save_package, update_lot
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
        return listed([lot_json(lot) for lot in my_lots(me(), s.lots)], "lots")

    @bp.post("/api/v1/lots")
    def new_lot() -> tuple[dict[str, Any], int]:
        body = parse_body(bodies.NewLotBody)
        lot = with_settings(Lot(id=body.id, name=body.name), body)
        return lot_json(create_lot(me(), lot, s.lots, s.audit, s.clock)), 201

    @bp.get("/api/v1/lots/<lot_id>")
    def lot(lot_id: str) -> dict[str, Any]:
        return lot_json(lot_of(lot_id))

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
        return lot_json(update_lot(account, lot_id, changes, body.reason, s.lots, s.audit, s.clock))

    @bp.get("/api/v1/lots/<lot_id>/packages")
    def packages(lot_id: str) -> Any:
        return listed([package_json(p) for p in lot_packages(me(), lot_id, s.packages, s.lots)], "packages")

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
        return package_json(save_package(me(), package, s.packages, s.lots, s.audit, s.clock)), 201

    return bp
