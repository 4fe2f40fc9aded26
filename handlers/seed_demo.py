"""Demo data for the local stack: a lot, its price list, and one owner with a card.

Seeding only creates what is missing, so a stack restarted from a snapshot
keeps the renewals made in it instead of being reset to the demo's start.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta

from domain.calendar import add_months
from domain.card import Card, CardState
from domain.lot import Approval, CardPolicy, InvoiceProvider, Lot, RenewalPolicy
from domain.owner import Owner
from domain.package import Duration, DurationUnit, Package
from domain.reminder import ReminderChannel
from handlers.issue_card import issue_card
from handlers.ports import (
    CardRepository,
    Clock,
    LotRepository,
    OwnerRepository,
    PackageRepository,
    PrefsRepository,
    ReminderStore,
    UnitOfWork,
)
from handlers.reminders import set_reminders

DEMO_LOT_ID = "demo-lot"
DEMO_OWNER_OPENID = "demo-owner"
DEMO_OWNER_ID = "owner-demo"
DEMO_CARD_ID = "card-demo"
DEMO_PLATE = "粤B12345"
DEMO_TENANT = "demo-tenant"
DEMO_ADMIN_EMAIL = "admin@demo.local"
DEMO_ADMIN_PASSWORD = "parkpass-demo"
"""Local demo only: printed by `parkpass dev`."""


@dataclass(frozen=True)
class SeedResult:
    lot_id: str
    created: list[str]
    """Kinds and ids written now; empty when everything was already there."""


def seed_demo(
    clock: Clock,
    lots: LotRepository,
    packages: PackageRepository,
    owners: OwnerRepository,
    uow: UnitOfWork,
) -> SeedResult:
    lot = Lot(
        id=DEMO_LOT_ID,
        name="示例花园 Demo Gardens",
        quota=200,
        policy=RenewalPolicy(max_months_ahead=12),
        cards=CardPolicy(
            approval=Approval.AUTO,
            pause_allowed=True,
            pause_min_days=3,
            pause_max_days=90,
            pauses_per_year=2,
            pause_needs_approval=False,
        ),
        invoice_provider=InvoiceProvider.SIMULATOR,
        tenant_id=DEMO_TENANT,
        feed_epoch=secrets.token_hex(8),  # kept only if the lot is new: a stack without its data starts a new feed
    )
    today = lot.today(clock.now())
    card_ends = today + timedelta(days=10)
    writes: list[tuple[str, bool]] = [
        (f"lot {lot.id}", lots.add(lot)),
        *(
            (f"package {p.id}", packages.add(p))
            for p in (
                _monthly(lot.id, "demo-1m", "月卡 1 个月", 1, 300_00),
                _monthly(lot.id, "demo-3m", "月卡 3 个月", 3, 850_00),
                _monthly(lot.id, "demo-12m", "年卡 12 个月", 12, 3_200_00),
            )
        ),
        (
            f"owner {DEMO_OWNER_ID}",
            # The demo owner follows the simulated official account, so both reminder channels can be shown.
            owners.add(Owner(id=DEMO_OWNER_ID, openid=DEMO_OWNER_OPENID, oa_openid=f"oa-{DEMO_OWNER_OPENID}")),
        ),
        (
            f"card {DEMO_CARD_ID}",
            issue_card(
                Card(
                    id=DEMO_CARD_ID,
                    lot_id=lot.id,
                    owner_id=DEMO_OWNER_ID,
                    plates=(DEMO_PLATE,),
                    valid_from=add_months(card_ends, -1) + timedelta(days=1),
                    valid_until=card_ends,
                    state=CardState.ACTIVE,
                ),
                "system:demo",
                "demo data",
                lots,
                uow,
                clock,
            ),
        ),
    ]
    return SeedResult(lot.id, [what for what, created in writes if created])


def opt_in_demo_reminders(
    cards: CardRepository, lots: LotRepository, prefs: PrefsRepository, store: ReminderStore
) -> bool:
    """The demo owner turns expiry reminders on, as an owner does (PUT /api/v1/cards/card-demo/reminders), so
    moving the local clock to a reminder day shows one. Official-account messages: the demo owner follows the
    simulated account, so no subscribe consent is needed. A choice already stored (on or off) stays."""
    if prefs.get(DEMO_CARD_ID) is not None or cards.get(DEMO_CARD_ID) is None:
        return False
    set_reminders(DEMO_OWNER_ID, DEMO_CARD_ID, True, ReminderChannel.OFFICIAL_ACCOUNT, cards, lots, prefs, store)
    return True


def _monthly(lot_id: str, package_id: str, name: str, months: int, price_fen: int) -> Package:
    return Package(package_id, lot_id, name, Duration(DurationUnit.MONTHS, months), price_fen)
