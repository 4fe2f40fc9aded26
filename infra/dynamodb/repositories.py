"""pynamodb implementations of the repository ports. Every read is a key lookup or a key query."""

from __future__ import annotations

import base64
from dataclasses import asdict, fields
from datetime import date, datetime
from typing import Any

from pynamodb.exceptions import PutError, UpdateError
from pynamodb.expressions.condition import Condition, size
from pynamodb.expressions.update import Action
from pynamodb.models import Model

from domain.card import Card, CardState, ClaimTicket, Pause, PauseState
from domain.card_change import plate_claim
from domain.errors import TooManyVehicles
from domain.login_limits import Tries, Turn
from domain.lot import Approval, CardPolicy, InvoiceProvider, Lot, RenewalMode, RenewalPolicy
from domain.order import Order
from domain.owner import Owner
from domain.package import Duration, DurationUnit, Package
from handlers.ports import Gate
from infra.crypto import FieldCipher
from infra.dynamodb.tables import (
    CacheItem,
    CardItem,
    ClaimItem,
    GateItem,
    LotItem,
    OrderItem,
    OwnerItem,
    PackageItem,
    transaction_connection,
)
from infra.dynamodb.transact import ConditionsFailed, NamedWrite


def iso_day(day: date | None) -> str | None:
    return day.isoformat() if day is not None else None


def day_of(text: str | None) -> date | None:
    return date.fromisoformat(text) if text is not None else None


def _opt_int(value: float | None) -> int | None:
    return int(value) if value is not None else None


def is_condition_failure(error: PutError) -> bool:
    return error.cause_response_code == "ConditionalCheckFailedException"


def create_if_absent(item: Model, condition: Condition | None = None) -> bool:
    """Put `item` only if no item has its key; answer whether it was written."""
    try:
        item.save(condition=condition)
    except PutError as e:
        if is_condition_failure(e):
            return False
        raise
    return True


class DynamoLotRepository:
    def get(self, lot_id: str) -> Lot | None:
        try:
            return lot_of(LotItem.get(lot_id, consistent_read=True))
        except LotItem.DoesNotExist:
            return None

    def get_many(self, lot_ids: set[str]) -> dict[str, Lot]:
        return {item.lot_id: lot_of(item) for item in LotItem.batch_get(lot_ids)}

    def add(self, lot: Lot) -> bool:
        item = LotItem(lot_id=lot.id, held=lot.held, feed_epoch=lot.feed_epoch or None)
        for name, value in _lot_settings(lot).items():
            setattr(item, name, value)
        return create_if_absent(item, LotItem.lot_id.does_not_exist())

    def save_settings(self, lot: Lot) -> None:
        """Write the lot's settings; never its counters (places held, feed version, receipt chain)."""
        actions = [
            getattr(LotItem, name).set(value) if value is not None else getattr(LotItem, name).remove()
            for name, value in _lot_settings(lot).items()
        ]
        LotItem(lot_id=lot.id).update(actions=actions, condition=LotItem.lot_id.exists())

    def list_for_tenant(self, tenant_id: str) -> list[Lot]:
        return [lot_of(item) for item in LotItem.by_tenant.query(tenant_id)]


def _lot_settings(lot: Lot) -> dict[str, Any]:
    policy = lot.policy
    return {
        "name": lot.name,
        "timezone": lot.timezone,
        "quota": lot.quota,
        "renewal_mode": policy.mode.value,
        "max_until": iso_day(policy.max_until),
        "max_months_ahead": policy.max_months_ahead,
        "online_renewal": policy.online_renewal,
        "reminder_offsets": list(lot.reminder_offsets),
        "reminder_hour": lot.reminder_hour,
        "card_policy": _policy_json(lot.cards),
        "invoice_provider": lot.invoice_provider.value,
        "tenant_id": lot.tenant_id,
    }


def lot_of(item: LotItem) -> Lot:
    return Lot(
        id=item.lot_id,
        name=item.name,
        timezone=item.timezone,
        quota=_opt_int(item.quota),
        entitlement_version=int(item.entitlement_version or 0),
        feed_epoch=item.feed_epoch or "",
        reminder_offsets=tuple(int(d) for d in item.reminder_offsets) if item.reminder_offsets else (5, 3, 1),
        reminder_hour=_opt_int(item.reminder_hour) if item.reminder_hour is not None else 10,
        cards=_policy(item.card_policy),
        held=max(0, int(item.held or 0)),
        invoice_provider=InvoiceProvider(item.invoice_provider or InvoiceProvider.MANUAL.value),
        receipt_seq=int(item.receipt_seq or 0),
        receipt_hash=item.receipt_hash or "",
        tenant_id=item.tenant_id,
        policy=RenewalPolicy(
            mode=RenewalMode(item.renewal_mode),
            max_until=day_of(item.max_until),
            max_months_ahead=_opt_int(item.max_months_ahead),
            online_renewal=item.online_renewal,
        ),
    )


def _policy_json(policy: CardPolicy) -> dict[str, Any]:
    return {**asdict(policy), "approval": policy.approval.value}


def _policy(data: dict[str, Any] | None) -> CardPolicy:
    if not data:
        return CardPolicy()
    known = {f.name for f in fields(CardPolicy)}
    values = {k: v for k, v in data.items() if k in known}  # a field dropped since is ignored, a new one defaults
    return CardPolicy(**{**values, "approval": Approval(values.get("approval", Approval.MANUAL.value))})


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
            position=package.position,
        )
        return create_if_absent(item, PackageItem.package_id.does_not_exist())

    def save(self, package: Package) -> None:
        """Name, price, enabled and position; what was already sold keeps its own copy."""
        PackageItem(lot_id=package.lot_id, package_id=package.id).update(
            actions=[
                PackageItem.name.set(package.name),
                PackageItem.price_fen.set(package.price_fen),
                PackageItem.enabled.set(package.enabled),
                PackageItem.position.set(package.position),
            ],
            condition=PackageItem.package_id.exists(),
        )


def _package(item: PackageItem) -> Package:
    return Package(
        id=item.package_id,
        lot_id=item.lot_id,
        name=item.name,
        duration=Duration(DurationUnit(item.duration_unit), int(item.duration_count)),
        price_fen=int(item.price_fen),
        enabled=item.enabled,
        position=int(item.position or 0),
    )


class DynamoCardRepository:
    def get(self, card_id: str) -> Card | None:
        try:
            return card_of(CardItem.get(card_id, consistent_read=True))
        except CardItem.DoesNotExist:
            return None

    def get_with_lot(self, card_id: str, lot_id: str) -> tuple[Card | None, Lot | None]:
        """One consistent BatchGetItem over both tables (pynamodb batches one table at a time); keys DynamoDB
        left unprocessed (throttled) are read one by one."""
        _, card, lot = self._batch(None, card_id, lot_id)
        return card, lot

    def get_with_order(self, order_id: str, card_id: str, lot_id: str) -> tuple[Order | None, Card | None, Lot | None]:
        """The order too, in the same BatchGetItem."""
        return self._batch(order_id, card_id, lot_id)

    def _batch(self, order_id: str | None, card_id: str, lot_id: str) -> tuple[Order | None, Card | None, Lot | None]:
        from infra.dynamodb.orders import DynamoOrderRepository, order_of

        cards, lots, orders = CardItem.Meta.table_name, LotItem.Meta.table_name, OrderItem.Meta.table_name
        wanted = {
            cards: {"Keys": [{"card_id": {"S": card_id}}], "ConsistentRead": True},
            lots: {"Keys": [{"lot_id": {"S": lot_id}}], "ConsistentRead": True},
        }
        if order_id is not None:
            wanted[orders] = {"Keys": [{"order_id": {"S": order_id}}], "ConsistentRead": True}
        # Through pynamodb: its retries, signals and request counts.
        answer = transaction_connection().dispatch("BatchGetItem", {"RequestItems": wanted})
        found = answer.get("Responses", {})
        left = answer.get("UnprocessedKeys", {})
        card = next((card_of(CardItem.from_raw_data(i)) for i in found.get(cards, [])), None)
        lot = next((lot_of(LotItem.from_raw_data(i)) for i in found.get(lots, [])), None)
        order = next((order_of(OrderItem.from_raw_data(i)) for i in found.get(orders, [])), None)
        if cards in left:
            card = self.get(card_id)
        if lots in left:
            lot = DynamoLotRepository().get(lot_id)
        if order_id is not None and orders in left:
            order = DynamoOrderRepository().get(order_id)
        return order, card, lot

    def list_for_owner(self, owner_id: str) -> list[Card]:
        return [card_of(item) for item in CardItem.by_owner.query(owner_id)]

    def list_for_lot(self, lot_id: str) -> list[Card]:
        return [card_of(item) for item in CardItem.by_lot.query(lot_id)]

    def get_many(self, card_ids: set[str]) -> dict[str, Card]:
        return {item.card_id: card_of(item) for item in CardItem.batch_get(card_ids)} if card_ids else {}

    def card_for_plate(self, lot_id: str, plate: str) -> Card | None:
        try:
            card_id = ClaimItem.get(plate_claim(lot_id, plate), consistent_read=True).card_id
        except ClaimItem.DoesNotExist:
            return None
        return self.get(card_id) if card_id else None


def card_item(card: Card) -> CardItem:
    item = CardItem(card_id=card.id, lot_id=card.lot_id, owner_id=card.owner_id, plates=list(card.plates))
    for name, value in _card_values(card).items():
        setattr(item, name, value)
    if card.version:
        item.version = card.version
    return item


def _card_values(card: Card) -> dict[str, Any]:
    """Every attribute a change may write, including the sparse index keys that follow from the state."""
    waiting = next((p for p in card.pauses if p.state is PauseState.REQUESTED), None)
    return {
        "owner_id": card.owner_id,  # a claim hands an imported card to its owner
        "valid_from": iso_day(card.valid_from),
        "valid_until": iso_day(card.valid_until),
        "state": card.state.value,
        "pauses": [_pause_json(p) for p in card.pauses] or None,
        "inside": card.inside,
        "inside_since": card.inside_since.isoformat() if card.inside_since else None,
        "plate_changes": [d.isoformat() for d in card.plate_changes] or None,
        "pay_by": iso_day(card.pay_by),
        "running": "1" if card.state is CardState.ACTIVE and card.valid_until else None,
        "unpaid": "1" if card.state is CardState.PENDING and card.pay_by else None,
        "pause_queue": card.lot_id if waiting else None,
        "holder": card.holder,
        "claim_key": _claim_key(card.claim) if card.claim else None,
        "claim": _claim_json(card.claim) if card.claim else None,
    }


def _claim_key(t: ClaimTicket) -> str | None:
    """A printed slip's code finds the card from then on; before one, the phone the office knew."""
    if t.code_locator:
        return f"code#{t.code_locator}"
    return f"phone#{t.phone_key}" if t.phone_key else None


def _claim_json(t: ClaimTicket) -> dict[str, Any]:
    sealed = base64.b64encode(t.phone_sealed).decode() if t.phone_sealed else None
    return {
        "phone_key": t.phone_key,
        "phone_sealed": sealed,
        "phone_last4": t.phone_last4,
        "code_locator": t.code_locator,
        "code_key": t.code_key,
        "failures": t.code_failures,
    }


def _claim(item: CardItem) -> ClaimTicket | None:
    if item.claim is None:
        return None
    d = item.claim
    return ClaimTicket(
        phone_key=d.get("phone_key"),
        phone_sealed=base64.b64decode(d["phone_sealed"]) if d.get("phone_sealed") else None,
        phone_last4=d.get("phone_last4"),
        code_locator=d.get("code_locator"),
        code_key=d.get("code_key"),
        code_failures=int(d.get("failures") or 0),
    )


def card_actions(card: Card) -> list[Action]:
    """The update that writes `card`'s period, state, pauses and presence (plates move with their claims)."""
    return [
        getattr(CardItem, name).set(value) if value is not None else getattr(CardItem, name).remove()
        for name, value in _card_values(card).items()
    ]


def _pause_json(p: Pause) -> dict[str, Any]:
    return {
        "id": p.id,
        "starts": p.starts.isoformat(),
        "until": p.until.isoformat(),
        "state": p.state.value,
        "requested_at": p.requested_at.isoformat(),
        "open_ended": p.open_ended,
        "reason": p.reason,
    }


def _pause(d: dict[str, Any]) -> Pause:
    return Pause(
        id=d["id"],
        starts=date.fromisoformat(d["starts"]),
        until=date.fromisoformat(d["until"]),
        state=PauseState(d["state"]),
        requested_at=datetime.fromisoformat(d["requested_at"]),
        open_ended=bool(d.get("open_ended")),
        reason=d.get("reason"),
    )


def card_of(item: CardItem) -> Card:
    return Card(
        id=item.card_id,
        lot_id=item.lot_id,
        owner_id=item.owner_id,
        plates=tuple(item.plates),
        valid_from=day_of(item.valid_from),
        valid_until=day_of(item.valid_until),
        state=CardState(item.state),
        version=int(item.version),
        pauses=tuple(_pause(d) for d in item.pauses or ()),
        inside=item.inside,
        inside_since=datetime.fromisoformat(item.inside_since) if item.inside_since else None,
        plate_changes=tuple(date.fromisoformat(d) for d in item.plate_changes or ()),
        pay_by=day_of(item.pay_by),
        holder=item.holder,
        claim=_claim(item),
    )


def wechat_claims(openid: str, unionid: str | None) -> list[str]:
    return [f"wx-openid:{openid}", *([f"wx-unionid:{unionid}"] if unionid else [])]


class DynamoOwnerRepository:
    """Owners, with their phone and WeChat session_key encrypted in the item (AES-GCM)."""

    def __init__(self, cipher: FieldCipher) -> None:
        self._cipher = cipher

    def get(self, owner_id: str) -> Owner | None:
        try:
            item = OwnerItem.get(owner_id, consistent_read=True)
        except OwnerItem.DoesNotExist:
            return None
        return self.owner_of(item)

    def owner_of(self, item: OwnerItem) -> Owner:
        phone = self._cipher.decrypt(item.phone_cipher, f"{item.owner_id}:phone") if item.phone_cipher else None
        vehicles = tuple(sorted(item.vehicles or ()))
        return Owner(item.owner_id, item.openid, item.unionid, phone, vehicles, item.oa_openid)

    def find_by_wechat(self, openid: str, unionid: str | None) -> Owner | None:
        keys = wechat_claims(openid, unionid)
        held = {c.claim: c.owner_id for c in ClaimItem.batch_get(keys, consistent_read=True)}
        owner_id = held.get(keys[0]) or (held.get(keys[1]) if len(keys) > 1 else None)
        if owner_id is None:
            return None
        if keys[0] not in held:  # known by unionid from another app: remember this openid too
            create_if_absent(ClaimItem(claim=keys[0], owner_id=owner_id), ClaimItem.claim.does_not_exist())
        return self.get(owner_id)

    def add(self, owner: Owner) -> bool:
        item = OwnerItem(owner_id=owner.id, openid=owner.openid, unionid=owner.unionid, oa_openid=owner.oa_openid)
        if owner.phone is not None:  # as the in-memory store keeps it (an owner made with a bound phone)
            item.phone_cipher = self._cipher.encrypt(owner.phone, f"{owner.id}:phone")
            item.phone_last4 = owner.phone[-4:]
        w = NamedWrite()
        w.put("owner", item, OwnerItem.owner_id.does_not_exist())
        for key in wechat_claims(owner.openid, owner.unionid):
            w.put(key, ClaimItem(claim=key, owner_id=owner.id), ClaimItem.claim.does_not_exist())
        try:
            w.commit()
        except ConditionsFailed:
            return False
        return True

    def store_session_key(self, owner_id: str, session_key: str) -> None:
        sealed = self._cipher.encrypt(session_key, f"{owner_id}:session_key")
        self._update(owner_id, OwnerItem.session_key_cipher.set(sealed))

    def set_phone(self, owner_id: str, phone: str) -> None:
        OwnerItem(owner_id=owner_id).update(
            actions=[
                OwnerItem.phone_cipher.set(self._cipher.encrypt(phone, f"{owner_id}:phone")),
                OwnerItem.phone_last4.set(phone[-4:]),
            ],
            condition=OwnerItem.owner_id.exists(),
        )

    def with_phone_ending(self, last4: str) -> set[str]:
        return {i.owner_id for i in OwnerItem.by_phone_last4.query(last4)}

    def add_vehicle(self, owner_id: str, plate: str, limit: int) -> None:
        vehicles = OwnerItem.vehicles
        room = vehicles.does_not_exist() | (size(vehicles) < limit) | vehicles.contains(plate)
        try:
            OwnerItem(owner_id=owner_id).update(
                actions=[OwnerItem.vehicles.add({plate})], condition=OwnerItem.owner_id.exists() & room
            )
        except UpdateError as e:
            if is_condition_failure(e):
                raise TooManyVehicles("too_many_vehicles", most=limit) from e
            raise

    def remove_vehicle(self, owner_id: str, plate: str) -> None:
        self._update(owner_id, OwnerItem.vehicles.delete({plate}))

    def _update(self, owner_id: str, action: Action) -> None:
        OwnerItem(owner_id=owner_id).update(actions=[action], condition=OwnerItem.owner_id.exists())


class DynamoGateRepository:
    def __init__(self, cipher: FieldCipher) -> None:
        self._cipher = cipher

    def get(self, gate_id: str) -> Gate | None:
        try:
            item = GateItem.get(gate_id, consistent_read=True)
        except GateItem.DoesNotExist:
            return None
        return Gate(item.gate_id, item.lot_id, self._cipher.decrypt(item.secret_cipher, f"{gate_id}:secret"))

    def add(self, gate: Gate) -> bool:
        sealed = self._cipher.encrypt(gate.secret, f"{gate.id}:secret")
        return create_if_absent(
            GateItem(gate_id=gate.id, lot_id=gate.lot_id, secret_cipher=sealed), GateItem.gate_id.does_not_exist()
        )

    def record_sync(self, gate_id: str, version: int, at: str) -> None:
        """The gate asked for changes after `version`: that is what it has applied."""
        GateItem(gate_id=gate_id).update(
            actions=[GateItem.synced_version.set(version), GateItem.synced_at.set(at)],
            condition=GateItem.gate_id.exists(),
        )

    def record_applied(self, gate_id: str, version: int, at: str) -> bool:
        """The gate reported `version` applied; reports can come late, so the recorded version only rises."""
        try:
            GateItem(gate_id=gate_id).update(
                actions=[GateItem.synced_version.set(version), GateItem.synced_at.set(at)],
                condition=GateItem.gate_id.exists()
                & (GateItem.synced_version.does_not_exist() | (GateItem.synced_version < version)),
            )
        except UpdateError as e:
            if e.cause_response_code == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def sync_states(self, lot_id: str) -> list[tuple[str, int | None, str | None]]:
        """Each gate of the lot: its id, the version it last had, when it said so."""
        return [
            (i.gate_id, int(i.synced_version) if i.synced_version is not None else None, i.synced_at)
            for i in GateItem.by_lot.query(lot_id)
        ]


class DynamoLoginTries:
    """Each limit's tries in one cache item; a turn is taken only over the tries read (a conditional write)."""

    def get(self, key: str) -> Tries | None:
        try:
            return _tries(CacheItem.get(key, consistent_read=True))
        except CacheItem.DoesNotExist:
            return None

    def get_many(self, keys: list[str]) -> dict[str, Tries]:
        found = {i.key: _tries(i) for i in CacheItem.batch_get(keys, consistent_read=True)}
        return {k: t for k, t in found.items() if t is not None}

    def take(self, key: str, turn: Turn) -> bool:
        before = turn.before
        unchanged = (
            CacheItem.tries.does_not_exist()
            if before is None
            else (CacheItem.tries == before.count) & (CacheItem.last_try == before.last.isoformat())
        )
        try:
            CacheItem(key=key).update(
                actions=[
                    CacheItem.tries.set(turn.after.count),
                    CacheItem.last_try.set(turn.after.last.isoformat()),
                    CacheItem.next_try.set(turn.after.next_at.isoformat()),
                    CacheItem.expires_at.set(turn.expires_at),
                ],
                condition=unchanged,
            )
        except UpdateError as e:
            if e.cause_response_code == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def forget(self, key: str) -> None:
        CacheItem(key=key).delete()


def _tries(i: CacheItem) -> Tries | None:
    if i.tries is None or i.last_try is None or i.next_try is None:
        return None
    return Tries(int(i.tries), datetime.fromisoformat(i.last_try), datetime.fromisoformat(i.next_try))


class DynamoRateCounter:
    def hit(self, key: str, expires_at: datetime) -> int:
        item = CacheItem(key=key)
        item.update(actions=[CacheItem.hits.add(1), CacheItem.expires_at.set(expires_at)])
        return int(item.hits or 0)

    def count(self, key: str) -> int:
        try:
            return int(CacheItem.get(key, consistent_read=True).hits or 0)
        except CacheItem.DoesNotExist:
            return 0
