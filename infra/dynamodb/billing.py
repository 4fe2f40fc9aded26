"""Property fees in DynamoDB (the billing table): records as JSON under `<kind>#<id>`, found by key or by unit.

Bills, bill orders and balances are written by the unit of work only (`bill_write`, `bill_order_write`,
`balance_update` build its actions); the office's records (communities, units, fee items, meters, readings,
vacancies, runs) are written here, each new one only once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from pynamodb.exceptions import PutError, UpdateError
from pynamodb.expressions.condition import Condition

from domain.bill_order import BillCharge, BillOrder
from domain.bill_reminder import BillReminder, day_buckets
from domain.bill_run import (
    Bill,
    BillLine,
    BillRun,
    BillState,
    ChunkState,
    FeeCategory,
    FeeItem,
    FeeKind,
    RunChunk,
    Unit,
    UnitState,
)
from domain.collection import CheckIn
from domain.community import Community, Meter, Reading, ReadingKind, Split, Vacancy, VacancyState
from domain.door import Evidence
from domain.errors import BillChanged, BillingExists
from domain.fee_rules import Band, LateFeeRule, PricePoint
from domain.order import Channel, OrderState
from domain.reminder import SEND_LEASE
from infra.dynamodb.tables import BillingItem


def _conditional_failed(e: Exception) -> bool:
    return getattr(e, "cause_response_code", None) == "ConditionalCheckFailedException"


class DynamoBilling:
    def __init__(self, reminder_lease: timedelta = SEND_LEASE) -> None:
        self._lease = reminder_lease

    # --- the office's records
    def add_community(self, community: Community) -> None:
        self._add(f"community#{community.id}", "community", _community(community), key=f"tenant#{community.tenant_id}",
                  sort=community.id)  # fmt: skip

    def community(self, community_id: str) -> Community | None:
        body = self._body(f"community#{community_id}")
        return community_of(body) if body else None

    def communities(self, tenant_id: str) -> list[Community]:
        return [community_of(i.body) for i in BillingItem.by_key.query(f"tenant#{tenant_id}")]

    def add_unit(self, unit: Unit, phone_keys: Iterable[str]) -> None:
        self._add(f"unit#{unit.id}", "unit", _unit(unit), key=f"community#{unit.community_id}",
                  sort=f"unit#{unit.building}#{unit.number}#{unit.id}")  # fmt: skip
        for phone in phone_keys:  # a second import of the same unit and phone finds its link there
            BillingItem(id=f"phone#{phone}#{unit.id}", kind="phone", key=f"phone#{phone}", sort=unit.id).save()

    def unit(self, unit_id: str) -> Unit | None:
        body = self._body(f"unit#{unit_id}")
        return unit_of(body) if body else None

    def units(self, community_id: str) -> list[Unit]:
        return [unit_of(i.body) for i in self._of(f"community#{community_id}", "unit#")]

    def units_of_phone(self, phone_key: str) -> list[str]:
        return [i.sort for i in BillingItem.by_key.query(f"phone#{phone_key}")]

    def add_fee_item(self, item: FeeItem) -> None:
        self._add(f"fee#{item.id}", "fee", _fee_item(item), key=f"community#{item.community_id}", sort=f"fee#{item.id}",
                  revision=0)  # fmt: skip

    def fee_item(self, item_id: str) -> tuple[FeeItem, int] | None:
        """The item and its revision (a price change is saved only over the revision read)."""
        try:
            i = BillingItem.get(f"fee#{item_id}", consistent_read=True)
        except BillingItem.DoesNotExist:
            return None
        return fee_item_of(i.body), int(i.revision or 0)

    def fee_items(self, community_id: str) -> list[FeeItem]:
        return [fee_item_of(i.body) for i in self._of(f"community#{community_id}", "fee#")]

    def save_fee_item(self, item: FeeItem, revision: int) -> None:
        i = BillingItem(id=f"fee#{item.id}")
        try:
            i.update([BillingItem.body.set(_fee_item(item)), BillingItem.revision.set(revision + 1)],
                     condition=BillingItem.revision == revision)  # fmt: skip
        except UpdateError as e:
            if _conditional_failed(e):
                raise BillChanged(item.id) from None
            raise

    def add_meter(self, meter: Meter) -> None:
        self._add(f"meter#{meter.id}", "meter", _meter(meter), key=f"community#{meter.community_id}",
                  sort=f"meter#{meter.id}")  # fmt: skip

    def meter(self, meter_id: str) -> Meter | None:
        body = self._body(f"meter#{meter_id}")
        return meter_of(body) if body else None

    def meters(self, community_id: str) -> list[Meter]:
        return [meter_of(i.body) for i in self._of(f"community#{community_id}", "meter#")]

    def add_reading(self, reading: Reading) -> None:
        self._add(f"reading#{reading.meter_id}#{reading.day}", "reading", _reading(reading),
                  key=f"meter#{reading.meter_id}", sort=reading.day.isoformat())  # fmt: skip

    def readings(self, meter_id: str) -> list[Reading]:
        """Oldest first."""
        return [reading_of(i.body) for i in BillingItem.by_key.query(f"meter#{meter_id}")]

    def add_vacancy(self, vacancy: Vacancy) -> None:
        self._add(f"vacancy#{vacancy.id}", "vacancy", _vacancy(vacancy), key=f"community#{vacancy.community_id}",
                  sort=f"vacancy#{vacancy.id}", unit_id=vacancy.unit_id, state=vacancy.state.value)  # fmt: skip

    def vacancy(self, vacancy_id: str) -> Vacancy | None:
        body = self._body(f"vacancy#{vacancy_id}")
        return vacancy_of(body) if body else None

    def vacancies(self, community_id: str) -> list[Vacancy]:
        return [vacancy_of(i.body) for i in self._of(f"community#{community_id}", "vacancy#")]

    def decide_vacancy(self, vacancy: Vacancy) -> bool:
        """Save the decision if the application still waits for one (False: decided already)."""
        i = BillingItem(id=f"vacancy#{vacancy.id}")
        try:
            i.update([BillingItem.body.set(_vacancy(vacancy)), BillingItem.state.set(vacancy.state.value)],
                     condition=BillingItem.state == VacancyState.PENDING.value)  # fmt: skip
        except UpdateError as e:
            if _conditional_failed(e):
                return False
            raise
        return True

    def save_run(self, run: BillRun) -> None:
        BillingItem(id=f"run#{run.id}", kind="run", key=f"community#{run.community_id}",
                    sort=f"run#{run.period}#{run.id}", body=_run(run), revision=0).save()  # fmt: skip

    def change_run(self, run_id: str, change: Callable[[BillRun], BillRun]) -> BillRun | None:
        while True:
            try:
                item = BillingItem.get(f"run#{run_id}", consistent_read=True)
            except BillingItem.DoesNotExist:
                return None
            was, revision = run_of(item.body), item.revision
            changed = change(was)
            if changed == was:
                return was
            # A run saved before revisions has none: the first change gives it one.
            unchanged = BillingItem.revision.does_not_exist() if revision is None else BillingItem.revision == revision
            try:
                item.update([BillingItem.body.set(_run(changed)), BillingItem.revision.set(int(revision or 0) + 1)],
                            condition=unchanged)  # fmt: skip
            except UpdateError as e:
                if _conditional_failed(e):
                    continue  # another consumer or the office wrote it meanwhile: apply the change to theirs
                raise
            return changed

    def add_run_chunks(self, chunks: Sequence[RunChunk]) -> None:
        with BillingItem.batch_write() as batch:
            for c in chunks:
                batch.save(BillingItem(id=f"runchunk#{c.run_id}#{c.number}", kind="runchunk", state=c.state.value,
                                       body=_chunk(c)))  # fmt: skip

    def run_chunks(self, run_id: str, count: int) -> list[RunChunk]:
        keys = [f"runchunk#{run_id}#{n}" for n in range(count)]
        found = {i.id: chunk_of(i.body) for i in BillingItem.batch_get(keys, consistent_read=True)}
        return [found[k] for k in keys if k in found]

    def finish_run_chunk(self, chunk: RunChunk, was: ChunkState) -> bool:
        try:
            BillingItem(id=f"runchunk#{chunk.run_id}#{chunk.number}").update(
                [BillingItem.state.set(chunk.state.value), BillingItem.body.set(_chunk(chunk))],
                condition=BillingItem.state == was.value,
            )
        except UpdateError as e:
            if _conditional_failed(e):
                return False
            raise
        return True

    def runs(self, community_id: str) -> list[BillRun]:
        return [run_of(i.body) for i in self._of(f"community#{community_id}", "run#")]

    def run(self, run_id: str) -> BillRun | None:
        body = self._body(f"run#{run_id}")
        return run_of(body) if body else None

    # --- what the unit of work writes
    def bill(self, bill_id: str) -> Bill | None:
        body = self._body(f"bill#{bill_id}")
        return bill_of(body) if body else None

    def bills(self, bill_ids: Iterable[str]) -> list[Bill]:
        keys = list(dict.fromkeys(f"bill#{b}" for b in bill_ids))
        found = {i.id: bill_of(i.body) for i in BillingItem.batch_get(keys, consistent_read=True)}
        return [found[k] for k in keys if k in found]

    def reminder_records(self, bill_id: str, community_id: str, unit_id: str) -> tuple[Bill | None, Community | None,
                                                                                        Unit | None]:  # fmt: skip
        keys = [f"bill#{bill_id}", f"community#{community_id}", f"unit#{unit_id}"]
        found = {i.id: i.body for i in BillingItem.batch_get(keys, consistent_read=True)}  # one request
        bill, community, unit = (found.get(k) for k in keys)
        return (bill_of(bill) if bill else None, community_of(community) if community else None,
                unit_of(unit) if unit else None)  # fmt: skip

    def bills_of_community(self, community_id: str, period: str | None = None) -> list[Bill]:
        prefix = f"bill#{period}#" if period else "bill#"
        return [bill_of(i.body) for i in self._of(f"community#{community_id}", prefix)]

    def bills_of_unit(self, unit_id: str) -> list[Bill]:
        return [bill_of(i.body) for i in BillingItem.by_unit.query(unit_id, BillingItem.sort.startswith("bill#"))]

    def bill_order(self, order_id: str) -> BillOrder | None:
        body = self._body(f"order#{order_id}")
        return bill_order_of(body) if body else None

    def pending_bill_orders(self, created_before: datetime) -> list[BillOrder]:
        query = BillingItem.by_key.query("pending-bill-orders", BillingItem.sort <= created_before.isoformat())
        return [bill_order_of(i.body) for i in query]

    def due_bill_reminders(self, since: datetime, at: datetime) -> list[tuple[BillReminder, str]]:
        """The bill reminders falling due from `since` to `at`, with their state ("pending" too for one whose
        sender's lease ran out): a query per shard of each UTC day."""
        low, high = since.astimezone(UTC).isoformat(), f"{at.astimezone(UTC).isoformat()}#~"
        now = at.astimezone(UTC).isoformat()
        found = []
        for bucket in day_buckets(since, at):
            query = BillingItem.by_key.query(f"bill-reminders#{bucket}", BillingItem.sort.between(low, high))
            for i in query:
                lapsed = i.state == "sending" and (i.lease_until or "") < now
                found.append((bill_reminder_of(i.body), "pending" if lapsed else str(i.state)))
        return sorted(found, key=lambda pair: pair[0].sort)

    def claim_bill_reminder(self, reminder: BillReminder, at: datetime) -> bool:
        """pending (or sending with its lease run out) -> sending under a lease: two consumers at once send it once,
        and one that died gives it back."""
        now = at.astimezone(UTC)
        lapsed = BillingItem.lease_until.does_not_exist() | (BillingItem.lease_until < now.isoformat())
        # A reminder left sending before leases has none: it is free to take.
        claimable = (BillingItem.state == "pending") | ((BillingItem.state == "sending") & lapsed)
        try:
            BillingItem(id=f"reminder#{reminder.key}").update(
                [BillingItem.state.set("sending"), BillingItem.lease_until.set((now + self._lease).isoformat())],
                condition=claimable,
            )
        except UpdateError as e:
            if _conditional_failed(e):
                return False
            raise
        return True

    def bill_reminder_held(self, reminder: BillReminder, at: datetime) -> bool:
        try:
            item = BillingItem.get(f"reminder#{reminder.key}", consistent_read=True)
        except BillingItem.DoesNotExist:
            return False
        return item.state == "sending" and (item.lease_until or "") >= at.astimezone(UTC).isoformat()

    def finish_bill_reminder(self, reminder: BillReminder, state: str) -> None:
        BillingItem(id=f"reminder#{reminder.key}").update(
            [BillingItem.state.set(state), BillingItem.lease_until.remove()]
        )

    def _move(self, id: str, was: str, to: str) -> bool:
        try:
            BillingItem(id=id).update([BillingItem.state.set(to)], condition=BillingItem.state == was)
        except UpdateError as e:
            if _conditional_failed(e):
                return False
            raise
        return True

    def balance(self, unit_id: str) -> int:
        try:
            return int(BillingItem.get(f"balance#{unit_id}", consistent_read=True).balance or 0)
        except BillingItem.DoesNotExist:
            return 0

    def _add(self, id: str, kind: str, body: dict[str, Any], **attributes: Any) -> None:
        try:
            BillingItem(id=id, kind=kind, body=body, **attributes).save(condition=BillingItem.id.does_not_exist())
        except PutError as e:
            if _conditional_failed(e):
                raise BillingExists(id.partition("#")[2]) from None
            raise

    def _body(self, id: str) -> dict[str, Any] | None:
        try:
            return BillingItem.get(id, consistent_read=True).body  # type: ignore[no-any-return]
        except BillingItem.DoesNotExist:
            return None

    def _of(self, key: str, prefix: str) -> list[BillingItem]:
        return list(BillingItem.by_key.query(key, BillingItem.sort.startswith(prefix)))


def bill_write(bill: Bill, was: tuple[BillState, ...]) -> tuple[BillingItem, Condition]:
    item = BillingItem(
        id=f"bill#{bill.id}", kind="bill", key=f"community#{bill.community_id}",
        sort=f"bill#{bill.period}#{bill.id}", unit_id=bill.unit_id, state=bill.state.value, body=_bill(bill),
    )  # fmt: skip
    condition = BillingItem.state.is_in(*(s.value for s in was)) if was else BillingItem.id.does_not_exist()
    return item, condition


def bill_order_write(order: BillOrder, was: tuple[OrderState, ...]) -> tuple[BillingItem, Condition]:
    pending = order.state is OrderState.PENDING
    item = BillingItem(
        id=f"order#{order.id}", kind="bill-order", state=order.state.value, body=_bill_order(order),
        key="pending-bill-orders" if pending else None, sort=order.created_at.isoformat() if pending else None,
    )  # fmt: skip
    condition = BillingItem.state.is_in(*(s.value for s in was)) if was else BillingItem.id.does_not_exist()
    return item, condition


def bill_reminder_update(r: BillReminder) -> tuple[BillingItem, list[Any]]:
    """An upsert that never resets a reminder that was sent or skipped."""
    item = BillingItem(id=f"reminder#{r.key}")
    actions = [
        BillingItem.kind.set("bill-reminder"),
        BillingItem.key.set(f"bill-reminders#{r.bucket}"),
        BillingItem.sort.set(r.sort),
        BillingItem.body.set(_bill_reminder(r)),
        BillingItem.state.set(BillingItem.state | "pending"),
    ]
    return item, actions


def _bill_reminder(r: BillReminder) -> dict[str, Any]:
    return {"bill_id": r.bill_id, "unit_id": r.unit_id, "community_id": r.community_id, "due": r.due.isoformat(),
            "offset": r.offset, "due_at": r.due_at.isoformat()}  # fmt: skip


def bill_reminder_of(d: dict[str, Any]) -> BillReminder:
    return BillReminder(d["bill_id"], d["unit_id"], d["community_id"], date.fromisoformat(d["due"]), int(d["offset"]),
                        datetime.fromisoformat(d["due_at"]))  # fmt: skip


def balance_update(unit_id: str, fen: int) -> tuple[BillingItem, list[Any], Condition | None]:
    item = BillingItem(id=f"balance#{unit_id}")
    actions = [BillingItem.balance.add(fen), BillingItem.kind.set("balance")]
    return item, actions, (BillingItem.balance >= -fen) if fen < 0 else None


# --- records as JSON
def _community(c: Community) -> dict[str, Any]:
    return {"id": c.id, "tenant_id": c.tenant_id, "name": c.name, "lot_ids": list(c.lot_ids), "timezone": c.timezone}


def community_of(d: dict[str, Any]) -> Community:
    return Community(d["id"], d["tenant_id"], d["name"], tuple(d["lot_ids"]), d["timezone"])


def _unit(u: Unit) -> dict[str, Any]:
    return {"id": u.id, "community_id": u.community_id, "building": u.building, "number": u.number,
            "area": u.area_hundredths, "state": u.state.value, "owners": list(u.owners)}  # fmt: skip


def unit_of(d: dict[str, Any]) -> Unit:
    return Unit(d["id"], d["community_id"], d["building"], d["number"], int(d["area"]), UnitState(d["state"]),
                tuple(d.get("owners", ())))  # fmt: skip


def _fee_item(f: FeeItem) -> dict[str, Any]:
    late = f.late_fee
    return {
        "id": f.id, "community_id": f.community_id, "name": f.name, "kind": f.kind.value,
        "prices": [[p.starts.isoformat(), p.price_fen] for p in f.prices],
        "bands": _bands(f.bands),
        "meter": f.meter, "cycle_months": f.cycle_months, "due_day": f.due_day,
        "late_fee": None if late is None else [str(late.daily_rate), late.grace_days, str(late.cap)],
        "vacancy_rate": None if f.vacancy_rate is None else str(f.vacancy_rate),
        "later_bands": [[d.isoformat(), _bands(b)] for d, b in f.later_bands],
        "category": f.category.value if f.category else None,
    }  # fmt: skip


def _bands(bands: tuple[Band, ...]) -> list[list[Any]]:
    return [[None if b.up_to is None else str(b.up_to), b.price_fen] for b in bands]


def _bands_of(rows: list[list[Any]]) -> tuple[Band, ...]:
    return tuple(Band(None if u is None else Decimal(u), int(p)) for u, p in rows)


def fee_item_of(d: dict[str, Any]) -> FeeItem:
    late = d["late_fee"]
    return FeeItem(
        d["id"], d["community_id"], d["name"], FeeKind(d["kind"]),
        tuple(PricePoint(date.fromisoformat(a), int(p)) for a, p in d["prices"]),
        _bands_of(d["bands"]),
        d["meter"], int(d["cycle_months"]), d["due_day"],
        None if late is None else LateFeeRule(Decimal(late[0]), int(late[1]), Decimal(late[2])),
        None if d["vacancy_rate"] is None else Decimal(d["vacancy_rate"]),
        tuple((date.fromisoformat(x), _bands_of(b)) for x, b in d.get("later_bands", [])),
        FeeCategory(d["category"]) if d.get("category") else None,
    )  # fmt: skip


def _meter(m: Meter) -> dict[str, Any]:
    return {"id": m.id, "community_id": m.community_id, "kind": m.kind, "unit_id": m.unit_id,
            "split": m.split.value if m.split else None, "unit_ids": list(m.unit_ids),
            "sub_meter_ids": list(m.sub_meter_ids), "digits": m.digits}  # fmt: skip


def meter_of(d: dict[str, Any]) -> Meter:
    return Meter(d["id"], d["community_id"], d["kind"], d["unit_id"], Split(d["split"]) if d["split"] else None,
                 tuple(d["unit_ids"]), tuple(d["sub_meter_ids"]), d.get("digits"))  # fmt: skip


def _reading(r: Reading) -> dict[str, Any]:
    return {"meter_id": r.meter_id, "day": r.day.isoformat(), "reading": str(r.reading), "kind": r.kind.value,
            "use": str(r.use), "old_final": None if r.old_final is None else str(r.old_final)}  # fmt: skip


def reading_of(d: dict[str, Any]) -> Reading:
    return Reading(d["meter_id"], date.fromisoformat(d["day"]), Decimal(d["reading"]), ReadingKind(d["kind"]),
                   Decimal(d["use"]), None if d["old_final"] is None else Decimal(d["old_final"]))  # fmt: skip


def _vacancy(v: Vacancy) -> dict[str, Any]:
    return {"id": v.id, "community_id": v.community_id, "unit_id": v.unit_id, "first": v.first.isoformat(),
            "last": v.last.isoformat(), "reason": v.reason, "state": v.state.value}  # fmt: skip


def vacancy_of(d: dict[str, Any]) -> Vacancy:
    return Vacancy(d["id"], d["community_id"], d["unit_id"], date.fromisoformat(d["first"]),
                   date.fromisoformat(d["last"]), d["reason"], VacancyState(d["state"]))  # fmt: skip


def _run(r: BillRun) -> dict[str, Any]:
    return {"id": r.id, "community_id": r.community_id, "period": r.period, "fee_item_ids": list(r.fee_item_ids),
            "bill_ids": list(r.bill_ids), "total_fen": r.total_fen, "created_at": r.created_at.isoformat(),
            "published_at": _instant(r.published_at), "chunks": r.chunks, "drafted_bills": r.drafted_bills,
            "drafted_at": _instant(r.drafted_at), "publishing_at": _instant(r.publishing_at)}  # fmt: skip


def _instant(at: datetime | None) -> str | None:
    return at.isoformat() if at else None


def _at(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def run_of(d: dict[str, Any]) -> BillRun:
    created = datetime.fromisoformat(d["created_at"])
    # A run saved before chunks was drafted whole, at once.
    drafted_at = _at(d["drafted_at"]) if "drafted_at" in d else created
    drafted_bills = int(d.get("drafted_bills", len(d["bill_ids"])))
    return BillRun(d["id"], d["community_id"], d["period"], tuple(d["fee_item_ids"]), tuple(d["bill_ids"]),
                   int(d["total_fen"]), created, _at(d["published_at"]), int(d.get("chunks", 0)), drafted_bills,
                   drafted_at, _at(d.get("publishing_at")))  # fmt: skip


def _chunk(c: RunChunk) -> dict[str, Any]:
    return {"run_id": c.run_id, "number": c.number, "unit_ids": list(c.unit_ids), "first_unit": c.first_unit,
            "last_unit": c.last_unit, "state": c.state.value, "bill_ids": list(c.bill_ids),
            "total_fen": c.total_fen}  # fmt: skip


def chunk_of(d: dict[str, Any]) -> RunChunk:
    return RunChunk(d["run_id"], int(d["number"]), tuple(d["unit_ids"]), d["first_unit"], d["last_unit"],
                    ChunkState(d["state"]), tuple(d["bill_ids"]), int(d["total_fen"]))  # fmt: skip


def _bill(b: Bill) -> dict[str, Any]:
    return {
        "id": b.id, "community_id": b.community_id, "unit_id": b.unit_id, "fee_item_id": b.fee_item_id,
        "period": b.period, "lines": [[x.kind, x.text, x.amount_fen] for x in b.lines], "amount_fen": b.amount_fen,
        "due_date": b.due_date.isoformat(), "state": b.state.value, "replaces": b.replaces, "run_id": b.run_id,
        "late_fee_fen": b.late_fee_fen, "paid_fen": b.paid_fen,
        "paid_at": b.paid_at.isoformat() if b.paid_at else None, "order_id": b.order_id, "waived": b.waived,
        "note": b.note,
    }  # fmt: skip


def bill_of(d: dict[str, Any]) -> Bill:
    return Bill(
        d["id"], d["community_id"], d["unit_id"], d["fee_item_id"], d["period"],
        tuple(BillLine(k, t, int(a)) for k, t, a in d["lines"]), int(d["amount_fen"]),
        date.fromisoformat(d["due_date"]), BillState(d["state"]), d["replaces"], d["run_id"], int(d["late_fee_fen"]),
        int(d["paid_fen"]), datetime.fromisoformat(d["paid_at"]) if d["paid_at"] else None, d["order_id"],
        d["waived"], d["note"],
    )  # fmt: skip


def _bill_order(o: BillOrder) -> dict[str, Any]:
    return {
        "id": o.id, "owner_id": o.owner_id, "community_id": o.community_id,
        "charges": [[c.bill_id, c.unit_id, c.fee_item_id, c.principal_fen, c.late_fee_fen] for c in o.charges],
        "amount_fen": o.amount_fen, "channel": o.channel.value, "state": o.state.value,
        "created_at": o.created_at.isoformat(), "expires_at": o.expires_at.isoformat(), "prepay_unit": o.prepay_unit,
        "paid_at": o.paid_at.isoformat() if o.paid_at else None, "transaction_id": o.transaction_id,
        "staff": o.staff, "credited": o.credited, "labels": list(o.labels), "unit_label": o.unit_label,
        "payer": o.payer, "booking_id": o.booking_id,
        "evidence": evidence_json(o.evidence) if o.evidence else None,
    }  # fmt: skip


def bill_order_of(d: dict[str, Any]) -> BillOrder:
    return BillOrder(
        d["id"], d["owner_id"], d["community_id"],
        tuple(BillCharge(b, u, f, int(p), int(late)) for b, u, f, p, late in d["charges"]), int(d["amount_fen"]),
        Channel(d["channel"]), OrderState(d["state"]), datetime.fromisoformat(d["created_at"]),
        datetime.fromisoformat(d["expires_at"]), d["prepay_unit"],
        datetime.fromisoformat(d["paid_at"]) if d["paid_at"] else None, d["transaction_id"], d["staff"], d["credited"],
        tuple(d.get("labels", ())), d.get("unit_label", ""), d.get("payer", "业主"), d.get("booking_id"),
        evidence_of(d["evidence"]) if d.get("evidence") else None,
    )  # fmt: skip


def check_in_json(c: CheckIn) -> dict[str, Any]:
    return {"latitude": c.latitude, "longitude": c.longitude, "accuracy_m": c.accuracy_m, "at": c.at.isoformat()}


def check_in_of(d: dict[str, Any]) -> CheckIn:
    return CheckIn(float(d["latitude"]), float(d["longitude"]), float(d["accuracy_m"]), datetime.fromisoformat(d["at"]))


def evidence_json(e: Evidence) -> dict[str, Any]:
    return {"collector": e.collector, "check_in": check_in_json(e.check_in), "signature_sha256": e.signature_sha256,
            "away_m": e.away_m}  # fmt: skip


def evidence_of(d: dict[str, Any]) -> Evidence:
    away = d.get("away_m")
    away_m = None if away is None else int(away)
    return Evidence(d["collector"], check_in_of(d["check_in"]), d["signature_sha256"], away_m)
