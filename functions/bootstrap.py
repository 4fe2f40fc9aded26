"""Wiring: which adapter serves which port. Built once per container and reused while warm."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Protocol

from domain.errors import PaymentUnavailable
from domain.order import Channel
from handlers.applications import APPLICATION_TEMPLATE, ApplicationStore
from handlers.bind_phone import PhoneNumbers
from handlers.card_changes import CardChangeStore
from handlers.fan_out import EntitlementFeed, Signer
from handlers.fulfil_payment import FulfilmentStore, PaymentNotice
from handlers.gate_sync import GateRepository
from handlers.log_in_owner import WechatLogin
from handlers.notify import Notices
from handlers.ports import (
    CardRepository,
    Clock,
    IdSource,
    LotRepository,
    OwnerRepository,
    PackageRepository,
    SessionTokens,
)
from handlers.refund_order import RefundStore
from handlers.reminders import Consents, Messenger, PrefsRepository, ReminderStore
from handlers.renewals import OrderRepository, PaymentProvider
from infra.clock import SystemClock
from infra.crypto import FieldCipher
from infra.dynamodb import tables
from infra.dynamodb.emulator import LOCAL_CREDENTIALS, is_emulator
from infra.dynamodb.repositories import (
    DynamoCardRepository,
    DynamoGateRepository,
    DynamoLotRepository,
    DynamoOwnerRepository,
    DynamoPackageRepository,
)
from infra.ids import RandomIds
from infra.settings import Secrets, Settings, secrets_from_env
from infra.tokens import SignedTokens


class WechatPort(WechatLogin, PhoneNumbers, Messenger, Protocol):
    """Everything the API asks of WeChat."""


class MoneyStore(FulfilmentStore, RefundStore, Protocol):
    """Payments and refunds, each committed with the card, the ledger and the gate feed."""


class AlipayPort(PaymentProvider, Protocol):
    def notice(self, form: dict[str, str]) -> PaymentNotice:
        """A verified notification form; PaymentRejected otherwise."""
        ...


class WechatPayPort(PaymentProvider, Protocol):
    def notice(self, headers: dict[str, str], body: str) -> PaymentNotice:
        """A verified, decrypted notification; PaymentRejected otherwise."""
        ...


@dataclass(frozen=True)
class Services:
    clock: Clock
    ids: IdSource
    lots: LotRepository
    packages: PackageRepository
    cards: CardRepository
    owners: OwnerRepository
    tokens: SessionTokens
    wechat: WechatPort
    orders: OrderRepository
    fulfilments: MoneyStore
    wechatpay: WechatPayPort | None
    """None when this deployment takes no WeChat Pay payments."""
    alipay: AlipayPort | None
    feed: EntitlementFeed
    gates: GateRepository
    signer: Signer | None
    """Signs messages to gates; None when no gate signing key is configured."""
    reminders: ReminderStore
    reminder_prefs: PrefsRepository
    consents: Consents
    messenger: Messenger
    applications: ApplicationStore
    card_changes: CardChangeStore
    application_template: str = APPLICATION_TEMPLATE

    @property
    def notices(self) -> Notices:
        """Decisions on applications reach the owner like reminders do."""
        return Notices(self.owners, self.consents, self.messenger, self.application_template)

    def provider(self, channel: Channel) -> PaymentProvider:
        provider: PaymentProvider | None = self.wechatpay if channel is Channel.WECHAT else self.alipay
        if provider is None:
            raise PaymentUnavailable()
        return provider


def bind_dynamodb(settings: Settings) -> None:
    """Point the table models at the configured endpoint (an emulator gets dummy credentials)."""
    endpoint = settings.dynamodb_endpoint
    credentials = LOCAL_CREDENTIALS if is_emulator(endpoint) else None
    tables.bind(settings.table_prefix, settings.region, endpoint, credentials)


def dynamodb_services(settings: Settings, secrets: Secrets, clock: Clock) -> Services:
    from infra.dynamodb.card_life import DynamoApplications, DynamoCardChanges
    from infra.dynamodb.feed import DynamoEntitlementFeed
    from infra.dynamodb.orders import DynamoFulfilmentStore, DynamoOrderRepository
    from infra.dynamodb.reminders import DynamoConsents, DynamoPrefsRepository, DynamoReminderStore
    from infra.gate_messages import MessageSigner
    from infra.payments.alipay import AlipayGateway
    from infra.payments.wechatpay import WechatPayGateway
    from infra.wechat.gateway import WechatGateway
    from infra.wechat.session_storage import DynamoSessionStorage

    cipher = FieldCipher(secrets.data_key)
    wechat = WechatGateway(
        secrets.wechat_appid, secrets.wechat_secret, DynamoSessionStorage(clock), api_base=settings.wechat_api_base
    )
    return Services(
        clock=clock,
        ids=RandomIds(),
        lots=DynamoLotRepository(),
        packages=DynamoPackageRepository(),
        cards=DynamoCardRepository(),
        owners=DynamoOwnerRepository(cipher),
        tokens=SignedTokens(secrets.token_secret, clock),
        wechat=wechat,
        orders=DynamoOrderRepository(),
        fulfilments=DynamoFulfilmentStore(),
        wechatpay=WechatPayGateway(secrets.wechatpay, clock) if secrets.wechatpay else None,
        alipay=AlipayGateway(secrets.alipay) if secrets.alipay else None,
        feed=DynamoEntitlementFeed(),
        gates=DynamoGateRepository(cipher),
        signer=MessageSigner(secrets.gate_signing_key) if secrets.gate_signing_key else None,
        reminders=DynamoReminderStore(),
        reminder_prefs=DynamoPrefsRepository(),
        consents=DynamoConsents(),
        messenger=wechat,
        applications=DynamoApplications(),
        card_changes=DynamoCardChanges(),
        application_template=settings.application_template,
    )


@functools.cache
def services_from_env() -> Services:
    """The Lambda wiring: settings and secrets from the environment, the real clock."""
    settings = Settings.from_env()
    bind_dynamodb(settings)
    return dynamodb_services(settings, secrets_from_env(), SystemClock())
