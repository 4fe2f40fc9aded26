"""What the office reads of a community's bills: the arrears (欠费) with late fees as of today, the collection rate
of a period per fee item (收缴率 = paid / published)."""

from __future__ import annotations

from dataclasses import dataclass

from domain.admin import Permission, Staff
from domain.bill_payment import Arrears, Collection, arrears, collection
from domain.bill_run import Bill, FeeItem, Unit
from domain.fee_rules import LateFeeRule
from handlers.bill_runs import checked_period
from handlers.ports import Billing, Clock
from handlers.property import community_for


@dataclass(frozen=True)
class ArrearsReport:
    rows: list[Arrears]
    units: dict[str, Unit]


def community_arrears(account: Staff, community_id: str, billing: Billing, clock: Clock) -> ArrearsReport:
    community = community_for(account, community_id, billing, Permission.VIEW)
    rules: dict[str, LateFeeRule | None] = {f.id: f.late_fee for f in billing.fee_items(community.id)}
    rows = arrears(billing.bills_of_community(community.id), rules, community.today(clock.now()))
    return ArrearsReport(rows, {u.id: u for u in billing.units(community.id)})


def community_collection(
    account: Staff, community_id: str, period: str, billing: Billing
) -> tuple[list[Collection], dict[str, FeeItem]]:
    community = community_for(account, community_id, billing, Permission.VIEW)
    bills = billing.bills_of_community(community.id, checked_period(period))
    return collection(bills, period), {f.id: f for f in billing.fee_items(community.id)}


def community_bills(account: Staff, community_id: str, period: str | None, billing: Billing) -> list[Bill]:
    community = community_for(account, community_id, billing, Permission.VIEW)
    return billing.bills_of_community(community.id, checked_period(period) if period else None)
