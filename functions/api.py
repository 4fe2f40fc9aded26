"""The HTTP API (Flask). `app` is the WSGI entry for zappa and serverless-wsgi.

Routes only parse, call a handler and shape the answer; errors become JSON in
functions/errors.py.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from functions.cold_start import loading_for_good

with loading_for_good():
    from flask import Flask

    from functions.bill_routes import bill_blueprint
    from functions.bootstrap import Services, app_on_first_use
    from functions.card_routes import card_blueprint
    from functions.claim_page import claim_page_blueprint
    from functions.collection_routes import collection_blueprint
    from functions.errors import json_app
    from functions.gate_routes import gate_blueprint
    from functions.invoice_routes import invoice_blueprint
    from functions.owner_routes import owner_blueprint
    from functions.payment_routes import payment_blueprint
    from functions.receipt_page import receipt_page_blueprint
    from functions.reminder_routes import reminder_blueprint
    from functions.views import price_list_json
    from functions.visit_routes import visit_blueprint
    from handlers.list_lot_packages import list_lot_packages

if TYPE_CHECKING:
    from functions.sim_routes import LocalMounts


MAX_BODY = 64 * 1024
"""Every body the mini-program or a provider sends is a few hundred bytes; more is refused (413)."""


def create_app(services: Services, local: LocalMounts | None = None) -> Flask:
    """The API over `services`; with `local` (the local stack only) the simulators and /sim routes too."""
    app = json_app("parkpass", MAX_BODY, services.metrics)

    @app.get("/healthz")
    def healthz() -> dict[str, Any]:
        return {"status": "ok", "time": services.clock.now().isoformat()}

    @app.get("/api/v1/lots/<lot_id>/packages")
    def lot_packages(lot_id: str) -> dict[str, Any]:
        return price_list_json(list_lot_packages(lot_id, services.lots, services.packages))

    app.register_blueprint(owner_blueprint(services))
    app.register_blueprint(payment_blueprint(services))
    app.register_blueprint(gate_blueprint(services))
    app.register_blueprint(reminder_blueprint(services))
    app.register_blueprint(card_blueprint(services))
    app.register_blueprint(invoice_blueprint(services))
    app.register_blueprint(bill_blueprint(services))
    app.register_blueprint(visit_blueprint(services))
    app.register_blueprint(collection_blueprint(services))
    app.register_blueprint(receipt_page_blueprint(services))
    app.register_blueprint(claim_page_blueprint())

    if local is not None:
        from functions.sim_routes import sim_blueprint

        app.register_blueprint(sim_blueprint(local.clock, local.info, local.on_clock_moved, local.reconcile))
        app.register_blueprint(local.wechat.blueprint())
        app.register_blueprint(local.wechatpay.blueprint())
        app.register_blueprint(local.alipay.blueprint())
        app.register_blueprint(local.invoices.blueprint())
    return app


__getattr__ = app_on_first_use(create_app)
