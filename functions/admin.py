"""The property office's admin function: JSON routes under /admin/api/v1 and the web page at /admin/.

`app` is its WSGI entry (a Lambda of its own). Every route finds the signed-in
staff member first; a lot, card, order or application outside their scope
answers 404, a step their role does not allow 403. The routes live by subject:
admin_staff_routes, admin_lot_routes, admin_queue_routes, admin_card_routes,
admin_money_routes, admin_report_routes, admin_import_routes; each parses,
calls one use case and answers with a view of admin_views.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from flask import Blueprint, Flask, Response, send_from_directory

from functions import (
    admin_bill_routes,
    admin_card_routes,
    admin_collection_routes,
    admin_door_routes,
    admin_import_routes,
    admin_lot_routes,
    admin_money_routes,
    admin_parking_routes,
    admin_queue_routes,
    admin_report_routes,
    admin_staff_routes,
)
from functions.admin_office import Office
from functions.bootstrap import Services, app_on_first_use
from functions.errors import json_app

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

PAGE = Path(__file__).parent / "admin_page"
COLLECT_PAGE = Path(__file__).parent / "collect_page"
SUBJECTS = (
    admin_staff_routes,
    admin_lot_routes,
    admin_queue_routes,
    admin_card_routes,
    admin_money_routes,
    admin_report_routes,
    admin_import_routes,
    admin_bill_routes,
    admin_parking_routes,
    admin_collection_routes,
    admin_door_routes,
)


def admin_blueprint(s: Services) -> Blueprint:
    bp = Blueprint("admin", __name__, url_prefix="/admin")
    office = Office(s)
    for subject in SUBJECTS:
        bp.register_blueprint(subject.routes(s, office))

    @bp.get("/")
    def page() -> Response:
        return send_from_directory(PAGE, "index.html")

    @bp.get("/static/<path:name>")
    def static_file(name: str) -> Response:
        return send_from_directory(PAGE, name)

    return bp


def collect_blueprint() -> Blueprint:
    """The collector's phone page (/collect/): it talks to the admin API under /admin/api/v1/collect."""
    bp = Blueprint("collect", __name__, url_prefix="/collect")

    @bp.get("/")
    def page() -> Response:
        return send_from_directory(COLLECT_PAGE, "index.html")

    @bp.get("/static/<path:name>")
    def static_file(name: str) -> Response:
        return send_from_directory(COLLECT_PAGE, name)

    return bp


def with_admin(api: WSGIApplication, admin: WSGIApplication) -> WSGIApplication:
    """One server for both (the local stack): /admin goes to the admin function, the rest to the API."""

    def app(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        target = admin if environ.get("PATH_INFO", "").startswith(("/admin", "/collect")) else api
        return target(environ, start_response)

    return app


def create_admin_app(services: Services) -> Flask:
    app = json_app("parkpass-admin", 21_000_000, services.metrics)  # imports of up to 20 MB
    app.register_blueprint(admin_blueprint(services))
    app.register_blueprint(collect_blueprint())
    return app


__getattr__ = app_on_first_use(create_admin_app)
