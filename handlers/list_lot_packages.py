"""The public price list of a lot: what anyone may see before logging in."""

from __future__ import annotations

from dataclasses import dataclass

from domain.errors import LotNotFound
from domain.ids import checked_id
from domain.lot import Lot
from domain.package import Package
from handlers.ports import LotRepository, PackageRepository


@dataclass(frozen=True)
class PriceList:
    lot: Lot
    packages: list[Package]


def list_lot_packages(lot_id: str, lots: LotRepository, packages: PackageRepository) -> PriceList:
    lot = lots.get(checked_id("lot_id", lot_id))
    if lot is None:
        raise LotNotFound(lot_id)
    on_sale = [p for p in packages.list_for_lot(lot.id) if p.enabled]
    return PriceList(lot, sorted(on_sale, key=lambda p: (p.price_fen, p.id)))
