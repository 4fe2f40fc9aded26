"""The office's property records: communities, units (and who owns them, by phone), fee items and their price
history, meters and readings, vacancy applications. A community outside the account's scope does not exist for it."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal

from domain.admin import Permission, Role, Staff
from domain.bill_run import FeeItem, FeeKind, Unit
from domain.card_change import AuditEntry
from domain.community import Community, Meter, Reading, ReadingKind, Vacancy, VacancyState, next_reading
from domain.errors import BillingExists, BillNotFound, Conflict, InvalidInput, LotNotFound
from domain.fee_rules import Band, PricePoint
from domain.ids import checked_id
from domain.phone import masked_phone, normalised_phone
from handlers.admin_lots import office_entry
from handlers.ports import Audit, Billing, Clock, LotRepository, Sealer


def reaches_community(account: Staff, community: Community) -> bool:
    """A tenant admin reaches every community of the tenant; a manager or cashier those with a lot of theirs."""
    if community.tenant_id != account.tenant_id:
        return False
    return account.role is Role.TENANT_ADMIN or bool(set(community.lot_ids) & set(account.lot_ids))


def community_for(account: Staff, community_id: str, billing: Billing, permission: Permission) -> Community:
    community = billing.community(checked_id("community_id", community_id))
    if community is None or not reaches_community(account, community):
        raise BillNotFound("community", community_id)
    account.require(permission)
    return community


def record(audit: Audit, account: Staff, subject: str, action: str, at: datetime, after: dict[str, object],
           reason: str | None = None) -> None:  # fmt: skip
    audit.record(AuditEntry(subject, office_entry(at, action), at, f"admin:{account.email}", action, reason, None,
                            after))  # fmt: skip


@dataclass(frozen=True)
class Records:
    billing: Billing
    lots: LotRepository
    audit: Audit
    sealer: Sealer
    clock: Clock

    def add_community(self, account: Staff, community_id: str, name: str, lot_ids: Sequence[str]) -> Community:
        account.require(Permission.MANAGE)
        for lot_id in lot_ids:  # only lots of the account's own (the community's scope follows them)
            lot = self.lots.get(checked_id("lot_id", lot_id))
            if lot is None or not account.reaches(lot):
                raise LotNotFound(lot_id)
        timezone = next((lot.timezone for lot in (self.lots.get(x) for x in lot_ids) if lot), None)
        community = Community(checked_id("id", community_id), account.tenant_id, name.strip(), tuple(lot_ids))
        if timezone:
            community = replace(community, timezone=timezone)
        self.billing.add_community(community)
        record(self.audit, account, f"community:{community.id}", "add_community", self.clock.now(),
               {"name": community.name, "lot_ids": list(lot_ids)})  # fmt: skip
        return community

    def add_unit(self, account: Staff, unit: Unit, phones: Sequence[str]) -> Unit:
        community_for(account, unit.community_id, self.billing, Permission.MANAGE)
        numbers = [phone_of(p) for p in phones]
        keys = [self.sealer.fingerprint(n, "phone") for n in numbers]
        masked = tuple(masked_phone(n) for n in numbers)
        unit = replace(unit, id=checked_id("id", unit.id), owners=masked)
        self.billing.add_unit(unit, keys)
        record(self.audit, account, f"unit:{unit.id}", "add_unit", self.clock.now(),
               {"area": unit.area_hundredths, "state": unit.state.value, "phones": len(keys)})  # fmt: skip
        return unit

    def add_fee_item(self, account: Staff, item: FeeItem) -> FeeItem:
        community_for(account, item.community_id, self.billing, Permission.MANAGE)
        checked_fee_item(item)
        self.billing.add_fee_item(replace(item, id=checked_id("id", item.id)))
        record(self.audit, account, f"fee-item:{item.id}", "add_fee_item", self.clock.now(), {"kind": item.kind.value})
        return item

    def change_price(self, account: Staff, item_id: str, starts: date, price_fen: int | None,
                     bands: Sequence[Band] | None) -> FeeItem:  # fmt: skip
        """A new price (or bands) from a day on: the history grows, nothing before it changes."""
        found = self.billing.fee_item(checked_id("fee_item_id", item_id))
        if found is None:
            raise BillNotFound("fee_item", item_id)
        item, revision = found
        community_for(account, item.community_id, self.billing, Permission.MANAGE)
        if item.kind is FeeKind.METERED:
            if not bands:
                raise needs(FeeKind.METERED, "bands")
            later = tuple((d, b) for d, b in item.later_bands if d != starts)
            changed = replace(item, later_bands=tuple(sorted((*later, (starts, tuple(bands))), key=lambda x: x[0])))
        else:
            if price_fen is None:
                raise needs(item.kind, "price_fen")
            kept = tuple(p for p in item.prices if p.starts != starts)
            prices = sorted((*kept, PricePoint(starts, price_fen)), key=lambda p: p.starts)
            changed = replace(item, prices=tuple(prices))
        checked_fee_item(changed)
        self.billing.save_fee_item(changed, revision)
        record(self.audit, account, f"fee-item:{item.id}", "change_price", self.clock.now(),
               {"from": starts.isoformat(), "price_fen": price_fen})  # fmt: skip
        return changed

    def add_meter(self, account: Staff, meter: Meter) -> Meter:
        community_for(account, meter.community_id, self.billing, Permission.MANAGE)
        for unit_id in ([meter.unit_id] if meter.unit_id else []) + list(meter.unit_ids):
            unit = self.billing.unit(checked_id("unit_id", unit_id))
            if unit is None or unit.community_id != meter.community_id:
                raise BillNotFound("unit", unit_id)
        if meter.unit_id is None and not meter.unit_ids:
            raise InvalidInput("shared_meter")
        self.billing.add_meter(replace(meter, id=checked_id("id", meter.id)))
        return meter

    def add_reading(self, account: Staff, meter_id: str, day: date, value: Decimal, kind: ReadingKind,
                    old_final: Decimal | None) -> Reading:  # fmt: skip
        meter = self.billing.meter(checked_id("meter_id", meter_id))
        if meter is None:
            raise BillNotFound("meter", meter_id)
        community = community_for(account, meter.community_id, self.billing, Permission.MANAGE)
        readings = self.billing.readings(meter.id)
        last = readings[-1] if readings else None
        today = community.today(self.clock.now())
        reading = next_reading(meter.id, last, day, value, kind, old_final, meter.digits, today)
        self.billing.add_reading(reading)
        return reading

    def apply_vacancy(self, account: Staff, vacancy: Vacancy) -> Vacancy:
        """An application (its id made from the form's key: the same form sent twice applies once)."""
        unit = self.billing.unit(checked_id("unit_id", vacancy.unit_id))
        if unit is None:
            raise BillNotFound("unit", vacancy.unit_id)
        community_for(account, unit.community_id, self.billing, Permission.MANAGE)
        if vacancy.last < vacancy.first:
            raise InvalidInput("vacancy_dates")
        made = replace(vacancy, community_id=unit.community_id)
        try:
            self.billing.add_vacancy(made)
        except BillingExists:
            earlier = self.billing.vacancy(made.id)
            if earlier is None or earlier.unit_id != made.unit_id:
                raise
            return earlier
        record(
            self.audit,
            account,
            f"vacancy:{made.id}",
            "apply_vacancy",
            self.clock.now(),
            {"unit_id": unit.id, "from": made.first.isoformat(), "until": made.last.isoformat()},
            made.reason,
        )
        return made

    def decide_vacancy(self, account: Staff, vacancy_id: str, approve: bool) -> Vacancy:
        vacancy = self.billing.vacancy(checked_id("vacancy_id", vacancy_id))
        if vacancy is None:
            raise BillNotFound("vacancy", vacancy_id)
        community_for(account, vacancy.community_id, self.billing, Permission.MANAGE)
        decided = replace(vacancy, state=VacancyState.APPROVED if approve else VacancyState.REJECTED)
        if vacancy.state is decided.state:
            return vacancy  # the same decision sent twice
        if not self.billing.decide_vacancy(decided):
            raise Conflict("vacancy_decided")
        record(self.audit, account, f"vacancy:{vacancy.id}", decided.state.value, self.clock.now(), {})
        return decided


MOBILE = re.compile(r"1[3-9][0-9]{9}")
"""A mainland mobile number: what an owner binds in WeChat, so the only kind that can ever find its unit."""


def phone_of(text: str) -> str:
    number = normalised_phone(text)
    if not MOBILE.fullmatch(number):
        raise InvalidInput("phones", phone=text[:3] + "…")
    return number


def checked_fee_item(item: FeeItem) -> None:
    if item.kind is FeeKind.METERED:
        if not item.meter or not item.bands:
            raise needs(FeeKind.METERED, "meter", "bands")
        for bands in (item.bands, *(b for _, b in item.later_bands)):
            limits = [b.up_to for b in bands]
            if not limits or limits[-1] is not None or any(x is None for x in limits[:-1]):
                raise InvalidInput("bands")
            rising = [x for x in limits[:-1] if x is not None]
            if rising != sorted(set(rising)) or any(b.price_fen < 0 for b in bands):
                raise InvalidInput("bands")
    elif not item.prices or any(p.price_fen < 0 for p in item.prices):
        raise needs(item.kind, "price_fen")
    if item.cycle_months not in (1, 3, 6, 12):
        raise needs(item.kind, "cycle_months")
    if item.due_day is not None and not 1 <= item.due_day <= 31:
        raise needs(item.kind, "due_day")


KIND_WORDS = {FeeKind.AREA: "按面积", FeeKind.FIXED: "固定金额", FeeKind.METERED: "按用量"}
FIELD_WORDS = {
    "price_fen": "单价",
    "meter": "表的种类（如 water）",
    "bands": "阶梯价格",
    "cycle_months": "收费周期（1、3、6 或 12 个月）",
    "due_day": "缴费日（1 到 31）",
}


def needs(kind: FeeKind, *fields: str) -> InvalidInput:
    """What a fee item of `kind` lacks, in the office's words (the field names too, in English)."""
    return InvalidInput("fee_kind_fields", kind=kind.value, fields=", ".join(fields), kind_zh=KIND_WORDS[kind],
                        fields_zh="、".join(FIELD_WORDS[f] for f in fields))  # fmt: skip
