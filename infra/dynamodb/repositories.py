"""pynamodb implementations of the repository ports. Every read is a key lookup or a key query."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from pynamodb.exceptions import PutError
from pynamodb.expressions.condition import Condition
from pynamodb.models import Model

from domain.card import Card, CardState
from domain.errors import StaleCard
from domain.lot import Lot, RenewalMode, RenewalPolicy
from domain.owner import Owner
from domain.package import Duration, DurationUnit, Package
from infra.dynamodb.tables import CardItem, LotItem, OwnerItem, PackageItem


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day is not None else None


def _date(text: str | None) -> date | None:
    return date.fromisoformat(text) if text is not None else None


def _opt_int(value: float | None) -> int | None:
    return int(value) if value is not None else None


def _is_condition_failure(error: PutError) -> bool:
    return error.cause_response_code == "ConditionalCheckFailedException"


def _create(item: Model, condition: Condition | None = None) -> bool:
    """Put `item` only if no item has its key; answer whether it was written."""
    try:
        item.save(condition=condition)
    except PutError as e:
        if _is_condition_failure(e):
            return False
        raise
    return True


class DynamoLotRepository:
    def get(self, lot_id: str) -> Lot | None:
        try:
            return _lot(LotItem.get(lot_id, consistent_read=True))
        except LotItem.DoesNotExist:
            return None

    def add(self, lot: Lot) -> bool:
        policy = lot.policy
        item = LotItem(
            lot_id=lot.id,
            name=lot.name,
            timezone=lot.timezone,
            quota=lot.quota,
            renewal_mode=policy.mode.value,
            max_until=_iso(policy.max_until),
            max_months_ahead=policy.max_months_ahead,
            online_renewal=policy.online_renewal,
        )
        return _create(item, LotItem.lot_id.does_not_exist())


def _lot(item: LotItem) -> Lot:
    return Lot(
        id=item.lot_id,
        name=item.name,
        timezone=item.timezone,
        quota=_opt_int(item.quota),
        policy=RenewalPolicy(
            mode=RenewalMode(item.renewal_mode),
            max_until=_date(item.max_until),
            max_months_ahead=_opt_int(item.max_months_ahead),
            online_renewal=item.online_renewal,
        ),
    )


class DynamoPackageRepository:
    def list_for_lot(self, lot_id: str) -> list[Package]:
        return [_package(item) for item in PackageItem.query(lot_id)]

    def get(self, lot_id: str, package_id: str) -> Package | None:
        try:
            return _package(PackageItem.get(lot_id, package_id))
        except PackageItem.DoesNotExist:
            return None

    def add(self, package: Package) -> bool:
        item = PackageItem(
            lot_id=package.lot_id,
            package_id=package.id,
            name=package.name,
            duration_unit=package.duration.unit.value,
            duration_count=package.duration.count,
            price_fen=package.price_fen,
            enabled=package.enabled,
        )
        return _create(item, PackageItem.package_id.does_not_exist())


def _package(item: PackageItem) -> Package:
    return Package(
        id=item.package_id,
        lot_id=item.lot_id,
        name=item.name,
        duration=Duration(DurationUnit(item.duration_unit), int(item.duration_count)),
        price_fen=int(item.price_fen),
        enabled=item.enabled,
    )


class DynamoCardRepository:
    def get(self, card_id: str) -> Card | None:
        try:
            return _card(CardItem.get(card_id, consistent_read=True))
        except CardItem.DoesNotExist:
            return None

    def add(self, card: Card) -> bool:
        # With no version yet, VersionAttribute makes the save conditional on the item being new.
        return _create(_card_item(replace(card, version=0)))

    def save(self, card: Card) -> Card:
        item = _card_item(card)
        try:
            item.save()
        except PutError as e:
            if _is_condition_failure(e):
                raise StaleCard(card.id) from e
            raise
        return replace(card, version=int(item.version))

    def list_for_owner(self, owner_id: str) -> list[Card]:
        return [_card(item) for item in CardItem.by_owner.query(owner_id)]


def _card_item(card: Card) -> CardItem:
    item = CardItem(
        card_id=card.id,
        lot_id=card.lot_id,
        owner_id=card.owner_id,
        plates=list(card.plates),
        valid_from=_iso(card.valid_from),
        valid_until=_iso(card.valid_until),
        state=card.state.value,
    )
    if card.version:
        item.version = card.version
    return item


def _card(item: CardItem) -> Card:
    return Card(
        id=item.card_id,
        lot_id=item.lot_id,
        owner_id=item.owner_id,
        plates=tuple(item.plates),
        valid_from=_date(item.valid_from),
        valid_until=_date(item.valid_until),
        state=CardState(item.state),
        version=int(item.version),
    )


class DynamoOwnerRepository:
    def get(self, owner_id: str) -> Owner | None:
        try:
            item = OwnerItem.get(owner_id, consistent_read=True)
        except OwnerItem.DoesNotExist:
            return None
        return Owner(id=item.owner_id, openid=item.openid, unionid=item.unionid)

    def add(self, owner: Owner) -> bool:
        item = OwnerItem(owner_id=owner.id, openid=owner.openid, unionid=owner.unionid)
        return _create(item, OwnerItem.owner_id.does_not_exist())
