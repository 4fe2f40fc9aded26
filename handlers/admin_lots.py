"""The office's lots: their settings and policies, and their packages."""

from __future__ import annotations

import secrets
from dataclasses import replace
from datetime import datetime
from typing import Any

from domain.admin import Permission, Staff
from domain.card_change import AuditEntry, entry_time
from domain.errors import InvalidLot
from domain.ids import checked_id
from domain.lot import Lot
from domain.package import Package
from handlers.ports import Audit, Clock, LotAdmin, PackageAdmin, PackageRepository
from handlers.staff import lot_for


def my_lots(account: Staff, lots: LotAdmin) -> list[Lot]:
    return [lot for lot in lots.list_for_tenant(account.tenant_id) if account.reaches(lot)]


def create_lot(account: Staff, lot: Lot, lots: LotAdmin, audit: Audit, clock: Clock) -> Lot:
    account.require(Permission.CREATE_LOTS)
    made = replace(lot, tenant_id=account.tenant_id, held=0, entitlement_version=0, receipt_seq=0, receipt_hash="")
    if not lots.add(made):
        raise InvalidLot("lot_exists", lot_id=lot.id)
    _audit(audit, f"lot:{made.id}", account, "create_lot", None, None, _settings(made), clock)
    return made


def update_lot(
    account: Staff, lot_id: str, changes: dict[str, Any], reason: str | None, lots: LotAdmin, audit: Audit, clock: Clock
) -> Lot:
    """Change settings and policies. Paid periods never move: a new max date only limits new renewals."""
    lot = lot_for(account, lot_id, lots, Permission.MANAGE)
    changed = replace(lot, **changes)
    lots.save_settings(changed)
    _audit(audit, f"lot:{lot.id}", account, "update_lot", reason, _settings(lot), _settings(changed), clock)
    return changed


def save_package(
    account: Staff, package: Package, packages: PackageAdmin, lots: LotAdmin, audit: Audit, clock: Clock
) -> Package:
    """Create the package, or change its name, price (future orders only), enabled and position."""
    lot_for(account, package.lot_id, lots, Permission.MANAGE)
    before = packages.get(package.lot_id, checked_id("package_id", package.id))
    if before is None:
        packages.add(package)
    else:
        package = replace(package, duration=before.duration)  # a package's length never changes under its name
        packages.save(package)
    after = {
        "name": package.name,
        "price_fen": package.price_fen,
        "enabled": package.enabled,
        "position": package.position,
    }
    was = (
        None
        if before is None
        else {
            "name": before.name,
            "price_fen": before.price_fen,
            "enabled": before.enabled,
            "position": before.position,
        }
    )
    _audit(audit, f"package:{package.lot_id}:{package.id}", account, "save_package", None, was, after, clock)
    return packages.get(package.lot_id, package.id) or package


def lot_packages(account: Staff, lot_id: str, packages: PackageRepository, lots: LotAdmin) -> list[Package]:
    lot = lot_for(account, lot_id, lots)
    return sorted(packages.list_for_lot(lot.id), key=lambda p: (p.position, p.price_fen, p.id))


def _settings(lot: Lot) -> dict[str, Any]:
    return {
        "name": lot.name,
        "timezone": lot.timezone,
        "quota": lot.quota,
        "mode": lot.policy.mode.value,
        "max_until": lot.policy.max_until.isoformat() if lot.policy.max_until else None,
        "max_months_ahead": lot.policy.max_months_ahead,
        "online_renewal": lot.policy.online_renewal,
        "reminder_offsets": list(lot.reminder_offsets),
        "reminder_hour": lot.reminder_hour,
        "invoice_provider": lot.invoice_provider.value,
        "cards": {k: (v.value if hasattr(v, "value") else v) for k, v in vars(lot.cards).items()},
    }


def _audit(
    audit: Audit,
    subject: str,
    account: Staff,
    action: str,
    reason: str | None,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
    clock: Clock,
) -> None:
    at = clock.now()
    audit.record(
        AuditEntry(subject, office_entry(at, action), at, f"admin:{account.email}", action, reason, before, after)
    )


def office_entry(at: datetime, action: str) -> str:
    """An audit key for an office write: its time, and a random tail so two in one instant never collide."""
    return f"{entry_time(at)}#{action}#{secrets.token_hex(4)}"
