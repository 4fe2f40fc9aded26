"""A local e-invoice service (the kind a property's tax-control provider runs), over HTTP.

POST /sim/invoices/issue {"request_id", "kind": "blue"|"red", "title", "tax_id", "amount_fen",
"original_number"?} -> {"number", "issued_on", "pdf"} (base64). A request id issues once: asking again
answers the same invoice, as real providers do with their serial numbers. `lose_next_answers(n)`
issues but drops the answer (a 504), so a caller's retry after a timeout can be tested.
"""

from __future__ import annotations

import base64
import threading
from dataclasses import dataclass, field
from typing import Any

from flask import Blueprint, request

from handlers.ports import Clock
from infra.pdf import invoice_pdf


@dataclass
class InvoiceSimulator:
    clock: Clock
    seller: str = "示例物业服务有限公司 Demo Property Services"
    issued: dict[str, dict[str, Any]] = field(default_factory=dict)
    """By request id: what was issued (without the PDF)."""
    calls: int = 0
    _lost: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def lose_next_answers(self, n: int = 1) -> None:
        with self._lock:
            self._lost = n

    def blueprint(self) -> Blueprint:
        sim = Blueprint("invoice_sim", __name__, url_prefix="/sim/invoices")

        @sim.post("/issue")
        def issue() -> tuple[dict[str, Any], int]:
            body = request.get_json(silent=True) or {}
            missing = [k for k in ("request_id", "kind", "title", "amount_fen") if k not in body]
            if missing or body["kind"] not in ("blue", "red"):
                return {"code": "BAD_REQUEST", "message": f"missing or wrong: {missing or ['kind']}"}, 400
            with self._lock:
                self.calls += 1
                made = self.issued.get(body["request_id"])
                if made is None:
                    today = self.clock.now().date()
                    number = f"{today.year % 100:02d}44{len(self.issued) + 1:016d}"
                    made = {"number": number, "issued_on": today.isoformat(), "request": body}
                    self.issued[body["request_id"]] = made
                lose = self._lost > 0
                self._lost -= int(lose)
            if lose:
                return {"code": "GATEWAY_TIMEOUT", "message": "the answer was lost"}, 504
            pdf = invoice_pdf(
                made["number"],
                self.clock.now().date().fromisoformat(made["issued_on"]),
                body["title"],
                body.get("tax_id"),
                int(body["amount_fen"]),
                self.seller,
                red=body["kind"] == "red",
                item=str(body.get("item") or "*经营租赁*停车服务费"),
            )
            return {
                "number": made["number"],
                "issued_on": made["issued_on"],
                "pdf": base64.b64encode(pdf).decode(),
            }, 200

        return sim
