"""The admin function's property fees: communities and units (with their import), fee items and price changes,
meters and readings (with their import), bill runs (draft -> review -> publish), cancelling and reissuing, vacancy
applications, late-fee waivers, the till for bills, refunds, the arrears list and the collection rate."""

from __future__ import annotations

import hashlib
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from flask import Blueprint, Response, request

from domain.admin import Permission
from domain.calendar import written_day
from domain.errors import BillNotFound, DomainError, InvalidInput, ReceiptNotFound
from domain.ids import checked_id, is_bill_order
from domain.order import Channel
from domain.receipt import receipt_id_for
from functions.admin_office import Office, csv_answer, read_table
from functions.bootstrap import Services
from functions.http import parse_body, request_lang
from functions.receipt_page import receipt_link
from handlers.receipts import lot_timezone
from infra.lazy import lazy_module

if TYPE_CHECKING:
    from domain import bill_run as bill_rules
    from domain import community as community_rules
    from domain import fee_rules
    from functions import admin_bodies as bodies
    from functions import bill_views
    from handlers import bill_reports
    from handlers import property as records
else:  # property fees load with the office's first request for them, not with every cold start of the function
    bodies = lazy_module("functions.admin_bodies")
    bill_rules = lazy_module("domain.bill_run")
    community_rules = lazy_module("domain.community")
    fee_rules = lazy_module("domain.fee_rules")
    bill_views = lazy_module("functions.bill_views")
    bill_reports = lazy_module("handlers.bill_reports")
    records = lazy_module("handlers.property")

UNIT_COLUMNS = {
    "id": ("id", "房屋编号", "编号"),
    "building": ("building", "楼栋", "楼号"),
    "number": ("number", "房号", "门牌号"),
    "area": ("area", "建筑面积", "面积"),
    "state": ("state", "状态"),
    "phones": ("phones", "业主电话", "手机", "电话"),
}
UNIT_STATES = {"已入住": "occupied", "入住": "occupied", "空置": "vacant", "未交付": "undelivered"}
READING_COLUMNS = {
    "meter_id": ("meter_id", "表号", "水表号", "电表号"),
    "date": ("date", "抄表日期", "日期"),
    "reading": ("reading", "读数", "本次读数"),
    "kind": ("kind", "类型"),
    "old_final": ("old_final", "旧表末次读数"),
}
READING_KINDS = {"正常": "normal", "换表": "replacement", "翻转": "rollover"}


def _column(names: dict[str, tuple[str, ...]]) -> Any:
    def column(header: str) -> str | None:
        name = header.strip().lstrip("\ufeff").lower()
        return next((c for c, known in names.items() if name in known), None)

    return column


def routes(s: Services, office: Office) -> Blueprint:
    bp = Blueprint("admin_bill_routes", __name__)
    me = office.me

    def lang() -> str:
        return request_lang()

    # --- communities and units
    @bp.post("/api/v1/communities")
    def add_community() -> tuple[dict[str, Any], int]:
        body = parse_body(bodies.CommunityBody)
        return bill_views.community_json(s.records.add_community(me(), body.id, body.name, body.lot_ids)), 201

    @bp.get("/api/v1/communities")
    def communities() -> dict[str, Any]:
        account = me()
        found = [c for c in s.billing.communities(account.tenant_id) if records.reaches_community(account, c)]
        return {"communities": [bill_views.community_json(c) for c in found]}

    @bp.post("/api/v1/communities/<community_id>/units")
    def add_unit(community_id: str) -> tuple[dict[str, Any], int]:
        body = parse_body(bodies.UnitBody)
        unit = bill_rules.Unit(
            body.id,
            community_id,
            body.building,
            body.number,
            community_rules.hundredths(body.area, "area"),
            bill_rules.UnitState(body.state),
        )
        added = s.records.add_unit(me(), unit, body.phones)
        return bill_views.office_view({**bill_views.unit_json(added, lang()), "owners": list(added.owners)}), 201

    @bp.get("/api/v1/communities/<community_id>/units")
    def units(community_id: str) -> dict[str, Any]:
        community = records.community_for(me(), community_id, s.billing, Permission.VIEW)
        return {
            "units": [
                bill_views.office_view({**bill_views.unit_json(u, lang()), "owners": list(u.owners)})
                for u in s.billing.units(community.id)
            ]
        }

    @bp.post("/api/v1/communities/<community_id>/units/import")
    def import_units(community_id: str) -> dict[str, Any]:
        account = me()
        records.community_for(account, community_id, s.billing, Permission.MANAGE)
        rows = _uploaded(UNIT_COLUMNS, ("id", "building", "number", "area"))
        created, existing, errors = 0, 0, []
        for n, row in enumerate(rows, start=2):
            try:
                state = UNIT_STATES.get(row.get("state", "").strip(), row.get("state", "").strip() or "occupied")
                if state not in {x.value for x in bill_rules.UnitState}:
                    raise InvalidInput("unit_state", state=row.get("state", ""))
                phones = [p for p in row.get("phones", "").replace("；", ";").replace("/", ";").split(";") if p.strip()]
                unit = bill_rules.Unit(
                    row["id"].strip(),
                    community_id,
                    row["building"].strip(),
                    row["number"].strip(),
                    community_rules.hundredths(row["area"], "area"),
                    bill_rules.UnitState(state),
                )
                s.records.add_unit(account, unit, phones)
                created += 1
            except DomainError as e:
                if e.code == "billing_exists":
                    existing += 1
                    continue
                errors.append({"row": n, "code": e.code, "message": e.text(lang())})
        return {"created": created, "existing": existing, "errors": errors}

    # --- fee items
    @bp.post("/api/v1/communities/<community_id>/fee-items")
    def add_fee_item(community_id: str) -> tuple[dict[str, Any], int]:
        body = parse_body(bodies.FeeItemBody)
        late = body.late_fee
        item = bill_rules.FeeItem(
            id=body.id,
            community_id=community_id,
            name=body.name,
            kind=bill_rules.FeeKind(body.kind),
            prices=(fee_rules.PricePoint(body.from_, body.price_fen),) if body.price_fen is not None else (),
            bands=_bands(body.bands),
            meter=body.meter or "",
            cycle_months=body.cycle_months,
            due_day=body.due_day,
            late_fee=None
            if late is None
            else fee_rules.LateFeeRule(
                community_rules.rate_text(late.daily_rate, "late_fee.daily_rate"),
                late.grace_days,
                community_rules.rate_text(late.cap, "late_fee.cap"),
            ),
            vacancy_rate=None
            if body.vacancy_rate is None
            else community_rules.rate_text(body.vacancy_rate, "vacancy_rate"),
            category=bill_rules.FeeCategory(body.category) if body.category else None,
        )
        return bill_views.office_view(bill_views.fee_item_json(s.records.add_fee_item(me(), item), lang())), 201

    @bp.get("/api/v1/communities/<community_id>/fee-items")
    def fee_items(community_id: str) -> dict[str, Any]:
        community = records.community_for(me(), community_id, s.billing, Permission.VIEW)
        return {
            "fee_items": [
                bill_views.office_view(bill_views.fee_item_json(f, lang())) for f in s.billing.fee_items(community.id)
            ]
        }

    @bp.post("/api/v1/fee-items/<item_id>/prices")
    def change_price(item_id: str) -> dict[str, Any]:
        body = parse_body(bodies.PriceBody)
        bands = _bands(body.bands) if body.bands else None
        return bill_views.office_view(
            bill_views.fee_item_json(s.records.change_price(me(), item_id, body.from_, body.price_fen, bands), lang())
        )

    # --- meters and readings
    @bp.post("/api/v1/communities/<community_id>/meters")
    def add_meter(community_id: str) -> tuple[dict[str, Any], int]:
        body = parse_body(bodies.MeterBody)
        if (body.unit_id is None) == (body.shared is None):
            raise InvalidInput("meter_of_what")
        shared = body.shared
        meter = community_rules.Meter(
            body.id,
            community_id,
            body.kind,
            body.unit_id,
            community_rules.Split(shared.split) if shared else None,
            tuple(shared.unit_ids) if shared else (),
            tuple(shared.sub_meter_ids) if shared else (),
            body.digits,
        )
        return bill_views.meter_json(s.records.add_meter(me(), meter)), 201

    @bp.get("/api/v1/communities/<community_id>/meters")
    def meters(community_id: str) -> dict[str, Any]:
        community = records.community_for(me(), community_id, s.billing, Permission.VIEW)
        return {"meters": [bill_views.meter_json(m) for m in s.billing.meters(community.id)]}

    @bp.post("/api/v1/meters/<meter_id>/readings")
    def add_reading(meter_id: str) -> tuple[dict[str, Any], int]:
        body = parse_body(bodies.ReadingBody)
        old = community_rules.decimal_text(body.old_final, "old_final") if body.old_final is not None else None
        reading = s.records.add_reading(
            me(),
            meter_id,
            body.date,
            community_rules.decimal_text(body.reading, "reading"),
            community_rules.ReadingKind(body.kind),
            old,
        )
        return bill_views.reading_json(reading), 201

    @bp.get("/api/v1/meters/<meter_id>/readings")
    def readings(meter_id: str) -> dict[str, Any]:
        meter = s.billing.meter(checked_id("meter_id", meter_id))
        if meter is None:
            raise BillNotFound("meter", meter_id)
        records.community_for(me(), meter.community_id, s.billing, Permission.VIEW)
        return {"readings": [bill_views.reading_json(r) for r in s.billing.readings(meter.id)]}

    @bp.post("/api/v1/communities/<community_id>/readings/import")
    def import_readings(community_id: str) -> dict[str, Any]:
        account = me()
        records.community_for(account, community_id, s.billing, Permission.MANAGE)
        rows = _uploaded(READING_COLUMNS, ("meter_id", "date", "reading"))
        created, errors = 0, []
        # Oldest first, so a meter's readings follow each other whatever order the file lists them in.
        for n, row in sorted(enumerate(rows, start=2), key=lambda x: (x[1].get("date", ""), x[0])):
            try:
                kind = READING_KINDS.get(row.get("kind", "").strip(), row.get("kind", "").strip() or "normal")
                if kind not in {k.value for k in community_rules.ReadingKind}:
                    raise InvalidInput("reading_kind")
                try:
                    day = written_day(row["date"])
                except ValueError:
                    raise InvalidInput("reading_day", field="date") from None
                old = row.get("old_final", "").strip()
                meter = s.billing.meter(checked_id("meter_id", row["meter_id"].strip()))
                if meter is None or meter.community_id != community_id:
                    raise BillNotFound("meter", row["meter_id"].strip())
                s.records.add_reading(
                    account,
                    meter.id,
                    day,
                    community_rules.decimal_text(row["reading"], "reading"),
                    community_rules.ReadingKind(kind),
                    community_rules.decimal_text(old, "old_final") if old else None,
                )
                created += 1
            except DomainError as e:
                errors.append({"row": n, "code": e.code, "message": e.text(lang())})
        return {"created": created, "errors": sorted(errors, key=lambda e: e["row"])}

    # --- bill runs and bills
    @bp.post("/api/v1/communities/<community_id>/bill-runs")
    def run_bills(community_id: str) -> tuple[dict[str, Any], int]:
        body = parse_body(bodies.BillRunBody)
        run, made = s.bill_runs.run(me(), community_id, body.period, body.fee_item_ids)
        return run_answer(run, made), 201

    @bp.get("/api/v1/communities/<community_id>/bill-runs")
    def bill_runs(community_id: str) -> dict[str, Any]:
        """The community's runs, newest first (a run's drafts wait here for review until published; a run still
        drafting in chunks is listed with its state)."""
        community = records.community_for(me(), community_id, s.billing, Permission.VIEW)
        runs = sorted(s.billing.runs(community.id), key=lambda r: r.created_at, reverse=True)
        return {"runs": [bill_views.run_line(r, lang()) for r in runs if r.bill_ids or r.chunks]}

    @bp.get("/api/v1/bill-runs/<run_id>")
    def bill_run(run_id: str) -> dict[str, Any]:
        run, bills = s.bill_runs.run_of(me(), run_id)
        return run_answer(run, bills)

    @bp.get("/api/v1/bill-runs/<run_id>/chunks/<int:number>")
    def bill_run_chunk(run_id: str, number: int) -> dict[str, Any]:
        """One chunk of a run in chunks, with its bills."""
        chunk, bills = s.bill_runs.chunk_of(me(), run_id, number)
        return {**bill_views.chunk_json(chunk, lang()), "bills": shown(bills)}

    @bp.post("/api/v1/bill-runs/<run_id>/publish")
    def publish(run_id: str) -> dict[str, Any]:
        run, bills = s.bill_runs.publish(me(), run_id)
        return run_answer(run, bills)

    @bp.post("/api/v1/bill-runs/<run_id>/resume")
    def resume(run_id: str) -> dict[str, Any]:
        """A run in chunks stuck drafting or publishing (a message lost): its unfinished chunks asked for again."""
        run, bills = s.bill_runs.resume(me(), run_id)
        return run_answer(run, bills)

    def run_answer(run: bill_rules.BillRun, bills: list[bill_rules.Bill]) -> dict[str, Any]:
        chunks = s.billing.run_chunks(run.id, run.chunks) if run.chunks else []
        return {**bill_views.run_json(run, bills, lang(), chunks), "bills": shown(bills)}

    def shown(bills: list[bill_rules.Bill]) -> list[dict[str, Any]]:
        """Bills as the office reads them: each with its unit and fee item, an unpaid one with its late fee of
        today (the community's)."""
        if not bills:
            return []
        community = s.billing.community(bills[0].community_id)
        units = {u.id: u for u in s.billing.units(bills[0].community_id)}
        items = {f.id: f for f in s.billing.fee_items(bills[0].community_id)}
        unpaid = [b for b in bills if b.state is bill_rules.BillState.UNPAID]
        prices = {p.bill_id: p for p in s.bill_payments.priced(unpaid, community)} if community else {}
        return [
            bill_views.office_view(
                bill_views.bill_json(b, lang(), prices.get(b.id), units.get(b.unit_id), items.get(b.fee_item_id))
            )
            for b in bills
        ]

    @bp.get("/api/v1/communities/<community_id>/bills")
    def bills(community_id: str) -> dict[str, Any]:
        found = bill_reports.community_bills(me(), community_id, request.args.get("period"), s.billing)
        state = request.args.get("state")
        if state is not None and state not in {x.value for x in bill_rules.BillState}:
            raise InvalidInput("bill_state_filter")
        return {"bills": shown([b for b in found if state in (None, b.state.value)])}

    @bp.get("/api/v1/bills/<bill_id>")
    def bill(bill_id: str) -> dict[str, Any]:
        found = s.billing.bill(checked_id("bill_id", bill_id))
        if found is None:
            raise BillNotFound("bill", bill_id)
        records.community_for(me(), found.community_id, s.billing, Permission.VIEW)
        return shown([found])[0]

    @bp.post("/api/v1/bills/<bill_id>/cancel")
    def cancel(bill_id: str) -> dict[str, Any]:
        body = parse_body(bodies.CancelBillBody)
        lines = [bill_rules.BillLine(x.kind, x.text, x.amount_fen) for x in body.reissue] if body.reissue else None
        cancelled, reissued = s.bill_runs.cancel(me(), bill_id, body.reason, lines)
        return {**shown([cancelled])[0], "reissued": shown([reissued])[0] if reissued else None}

    @bp.post("/api/v1/bills/<bill_id>/late-fee-waivers")
    def waive(bill_id: str) -> dict[str, Any]:
        body = parse_body(bodies.ReasonBody)
        return shown([s.bill_runs.waive(me(), bill_id, body.reason)])[0]

    @bp.post("/api/v1/bills/payments")
    def take_payment() -> tuple[dict[str, Any], int]:
        body = parse_body(bodies.BillPaymentBody)
        order = s.bill_payments.take_at_office(me(), body.bill_ids, Channel(body.channel), body.idempotency_key)
        shown = bill_views.office_view(bill_views.bill_order_json(order, lang()))
        if s.receipts.get(receipt_id_for(order.id)) is not None:
            shown["receipt_url"] = f"/admin/api/v1/bill-orders/{order.id}/receipt.pdf"
        return shown, 201

    @bp.get("/api/v1/bill-orders/<order_id>/receipt.pdf")
    def bill_receipt(order_id: str) -> Response:
        """The e-receipt of a bill payment (the till's, to print; an owner's too), as the owner's PDF."""
        from infra.pdf import receipt_pdf

        order = s.billing.bill_order(checked_id("order_id", order_id)) if is_bill_order(order_id) else None
        if order is None:
            raise BillNotFound("bill_order", order_id)
        records.community_for(me(), order.community_id, s.billing, Permission.VIEW)
        signed = s.receipts.get(receipt_id_for(order.id))
        if signed is None:
            raise ReceiptNotFound(receipt_id_for(order.id))
        link = receipt_link(s.public_url, signed.receipt.id)
        return Response(
            receipt_pdf(signed, link, s.seal_png, lot_timezone(signed.receipt, s.lots)), mimetype="application/pdf"
        )

    @bp.post("/api/v1/bills/<bill_id>/refund")
    def refund(bill_id: str) -> dict[str, Any]:
        body = parse_body(bodies.ReasonBody)
        return shown([s.bill_payments.refund(me(), bill_id, body.reason, s.provider, s.invoicing)])[0]

    # --- vacancies
    @bp.post("/api/v1/units/<unit_id>/vacancies")
    def apply_vacancy(unit_id: str) -> tuple[dict[str, Any], int]:
        body = parse_body(bodies.VacancyBody)
        account = me()
        vacancy_id = s.ids.new_id("vacancy")
        if body.idempotency_key:  # the form's key names the application: sent twice, it applies once
            digest = hashlib.sha256(f"{account.email}|{body.idempotency_key}".encode()).hexdigest()[:24]
            vacancy_id = f"vacancy-{digest}"
        vacancy = community_rules.Vacancy(vacancy_id, "", unit_id, body.from_, body.until, body.reason)
        return bill_views.vacancy_json(s.records.apply_vacancy(account, vacancy)), 201

    @bp.get("/api/v1/communities/<community_id>/vacancies")
    def vacancies(community_id: str) -> dict[str, Any]:
        community = records.community_for(me(), community_id, s.billing, Permission.VIEW)
        return {"vacancies": [bill_views.vacancy_json(v) for v in s.billing.vacancies(community.id)]}

    @bp.post("/api/v1/vacancies/<vacancy_id>/approve")
    def approve_vacancy(vacancy_id: str) -> dict[str, Any]:
        return bill_views.vacancy_json(s.records.decide_vacancy(me(), vacancy_id, approve=True))

    @bp.post("/api/v1/vacancies/<vacancy_id>/reject")
    def reject_vacancy(vacancy_id: str) -> dict[str, Any]:
        return bill_views.vacancy_json(s.records.decide_vacancy(me(), vacancy_id, approve=False))

    # --- reports
    @bp.get("/api/v1/communities/<community_id>/arrears")
    def arrears(community_id: str) -> Any:
        report = bill_reports.community_arrears(me(), community_id, s.billing, s.clock)
        rows = [bill_views.arrears_row(a, report.units.get(a.unit_id)) for a in report.rows]
        if request.args.get("format") == "csv":
            return csv_answer(rows, f"arrears-{community_id}.csv", lang())
        return {
            "arrears": rows,
            "principal_fen": sum(r["principal_fen"] for r in rows),
            "late_fee_fen": sum(r["late_fee_fen"] for r in rows),
        }

    @bp.get("/api/v1/communities/<community_id>/collection/<period>")
    def collection(community_id: str, period: str) -> dict[str, Any]:
        rows, items = bill_reports.community_collection(me(), community_id, period, s.billing)
        billed, paid = sum(r.billed_fen for r in rows), sum(r.paid_fen for r in rows)
        return {
            "period": period,
            "items": [bill_views.collection_row(r, items.get(r.fee_item_id)) for r in rows],
            "billed_fen": billed,
            "paid_fen": paid,
        }

    return bp


def _bands(bands: Any) -> tuple[fee_rules.Band, ...]:
    if not bands:
        return ()
    return tuple(fee_rules.Band(None if b.up_to is None else Decimal(b.up_to), b.price_fen) for b in bands)


def _uploaded(columns: dict[str, tuple[str, ...]], required: tuple[str, ...]) -> list[dict[str, str]]:
    upload = request.files.get("file")
    if upload is None:
        raise InvalidInput("import_file_field")
    try:
        return read_table(upload.filename or "", upload.read(20_000_001), _column(columns), required)
    except InvalidInput as e:
        if e.key != "import_header":
            raise
        if columns is UNIT_COLUMNS:
            raise InvalidInput("unit_import_header") from None
        raise InvalidInput("reading_import_header") from None
