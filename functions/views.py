"""How domain objects look in JSON. Money stays integer fen; yuan text is for display only."""

from __future__ import annotations

from typing import Any

from domain.lot import Lot
from domain.money import yuan_text
from domain.package import Package
from handlers.list_lot_packages import PriceList


def lot_json(lot: Lot) -> dict[str, Any]:
    return {"id": lot.id, "name": lot.name, "timezone": lot.timezone}


def package_json(package: Package) -> dict[str, Any]:
    return {
        "id": package.id,
        "name": package.name,
        "duration": {"unit": package.duration.unit.value, "count": package.duration.count},
        "price_fen": package.price_fen,
        "price_yuan": yuan_text(package.price_fen),
    }


def price_list_json(price_list: PriceList) -> dict[str, Any]:
    return {"lot": lot_json(price_list.lot), "packages": [package_json(p) for p in price_list.packages]}
