"""The office's lots: their settings and policies, and their packages."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from domain.admin import Permission, Staff
from domain.card_change import AuditEntry, entry_time
from domain.errors import InvalidLot, PackageNotFound
from domain.ids import checked_id
from domain.lot import Lot
from domain.package import Package
from handlers.office_keys import FormKey, done_before, record_once
from handlers.ports import Audit, Clock, GateStates, LotAdmin, PackageAdmin, PackageRepository, UnitOfWork
from handlers.staff import lot_for


def my_lots(account: Staff, lots: LotAdmin) -> list[Lot]:
    return [lot for lot in lots.list_for_tenant(account.tenant_id) if account.reaches(lot)]


def create_lot(account: Staff, lot: Lot, lots: LotAdmin, audit: Audit, clock: Clock) -> Lot:
    account.require(Permission.CREATE_LOTS)
    made = replace(
        lot,
        tenant_id=account.tenant_id,
        held=0,
        entitlement_version=0,
        receipt_seq=0,
        receipt_hash="",
        feed_epoch=secrets.token_hex(8),  # the lot's gate feed starts: gates tell it from any earlier one by this
    )
    if not lots.add(made):  # lot ids are unique across companies: the answer never says whose it is
        raise InvalidLot("lot_id_unavailable", lot_id=lot.id)
    audit.record(_entry(f"lot:{made.id}", account, "create_lot", None, None, _settings(made), clock))
    return made


def update_lot(
    account: Staff,
    lot_id: str,
    changes: dict[str, Any],
    reason: str | None,
    lots: LotAdmin,
    audit: Audit,
    clock: Clock,
    *,
    uow: UnitOfWork | None = None,
    key: FormKey | None = None,
) -> Lot:
    """Change settings and policies. Paid periods never move: a new max date only limits new renewals.

    Saving what is there already changes nothing and is not audited; `key` (the office form's, with `uow`)
    makes a form saved twice audited once, and a late retry of it never undoes a later save."""
    lot = lot_for(account, lot_id, lots, Permission.MANAGE)
    if uow is not None and done_before(key, uow) is not None:
        return lot_for(account, lot_id, lots, Permission.MANAGE)  # read again: the form may have saved since
    changed = replace(lot, **changes)
    if changed == lot:
        return lot
    lots.save_settings(changed)
    entry = _entry(f"lot:{lot.id}", account, "update_lot", reason, _settings(lot), _settings(changed), clock)
    _record(entry, audit, uow, key)
    return changed


def save_package(
    account: Staff,
    package: Package,
    packages: PackageAdmin,
    lots: LotAdmin,
    audit: Audit,
    clock: Clock,
    *,
    uow: UnitOfWork | None = None,
    key: FormKey | None = None,
) -> Package:
    """Create the package, or change its name, price (future orders only), enabled and position.

    Saving it as it is changes nothing and is not audited; `key` as for `update_lot`."""
    lot_for(account, package.lot_id, lots, Permission.MANAGE)
    before = packages.get(package.lot_id, checked_id("package_id", package.id))
    if uow is not None and done_before(key, uow) is not None:
        return packages.get(package.lot_id, package.id) or before or package  # read again, as for a lot
    if before is None:
        packages.add(package)
    else:
        package = replace(package, duration=before.duration)  # a package's length never changes under its name
        if package == before:
            return before
        packages.save(package)
    was = None if before is None else _package(before)
    entry = _entry(
        f"package:{package.lot_id}:{package.id}", account, "save_package", None, was, _package(package), clock
    )
    _record(entry, audit, uow, key)
    return packages.get(package.lot_id, package.id) or package


def change_package(
    account: Staff,
    lot_id: str,
    package_id: str,
    changes: dict[str, Any],
    packages: PackageAdmin,
    lots: LotAdmin,
    audit: Audit,
    clock: Clock,
    *,
    uow: UnitOfWork | None = None,
    key: FormKey | None = None,
) -> Package:
    """Change an existing package's name, price, enabled or position (`changes`; what it leaves out stays)."""
    lot = lot_for(account, lot_id, lots, Permission.MANAGE)
    before = packages.get(lot.id, checked_id("package_id", package_id))
    if before is None:
        raise PackageNotFound(package_id)
    allowed = {"name", "price_fen", "enabled", "position"}
    changed = replace(before, **{k: v for k, v in changes.items() if k in allowed and v is not None})
    return save_package(account, changed, packages, lots, audit, clock, uow=uow, key=key)


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


def _package(p: Package) -> dict[str, Any]:
    return {"name": p.name, "price_fen": p.price_fen, "enabled": p.enabled, "position": p.position}


@dataclass(frozen=True)
class GateLag:
    gate_id: str
    version: int | None
    """The feed version the gate last had (None: never synced or reported)."""
    lag: int
    """Versions behind the lot's feed."""
    at: str | None
    """When it last synced or reported (UTC ISO)."""


def lot_gates(account: Staff, lot_id: str, lots: LotAdmin, gates: GateStates) -> tuple[Lot, list[GateLag]]:
    """Each gate of the lot, with the version it applied and how far behind the lot's feed it is."""
    lot = lot_for(account, lot_id, lots)
    return lot, [gate_lag(lot, gate_id, version, at) for gate_id, version, at in sorted(gates.sync_states(lot.id))]


def gate_lag(lot: Lot, gate_id: str, version: int | None, at: str | None) -> GateLag:
    return GateLag(gate_id, version, max(0, lot.entitlement_version - (version or 0)), at)


def _entry(
    subject: str,
    account: Staff,
    action: str,
    reason: str | None,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
    clock: Clock,
) -> AuditEntry:
    at = clock.now()
    return AuditEntry(subject, office_entry(at, action), at, f"admin:{account.email}", action, reason, before, after)


def _record(entry: AuditEntry, audit: Audit, uow: UnitOfWork | None, key: FormKey | None) -> None:
    if uow is None:
        audit.record(entry)
    else:
        record_once(key, entry, uow, audit)


def office_entry(at: datetime, action: str) -> str:
    """An audit key for an office write: its time, and a random tail so two in one instant never collide."""
    return f"{entry_time(at)}#{action}#{secrets.token_hex(4)}"
