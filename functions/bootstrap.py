"""Wiring: which adapter serves which port. Built once per container and reused while warm."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, cast

from domain.errors import PaymentUnavailable
from domain.order import Channel
from functions.publishing import FAST_PATH_TIMEOUT_S, publisher_from_env, tells_gates_at_once
from handlers.applications import APPLICATION_TEMPLATE
from handlers.card_jobs import CardLife
from handlers.claim_cards import Claiming
from handlers.fan_out import TellGatesAtOnce
from handlers.invoices import INVOICE_TEMPLATE, Invoicing
from handlers.notify import Notices
from handlers.ports import (
    ApplicationRepository,
    AppliedVersions,
    Audit,
    Billing,
    CardQueries,
    CardRepository,
    Clock,
    CollectionRecords,
    Consents,
    Documents,
    EntitlementFeed,
    GateStates,
    IdSource,
    InvoiceIssuer,
    InvoiceStore,
    Ledger,
    LoginTries,
    LotAdmin,
    Messenger,
    Metrics,
    OrderRepository,
    OwnerRepository,
    PackageAdmin,
    ParkingRecords,
    Passwords,
    PaymentNotice,
    PaymentProvider,
    PhoneNumbers,
    PrefsRepository,
    Publisher,
    RateCounter,
    ReceiptSigner,
    ReceiptStore,
    Reconciliations,
    RefundNotice,
    ReminderReads,
    ReminderStore,
    Sealer,
    SessionStore,
    SessionTokens,
    Signer,
    StaffRepository,
    StatementSource,
    UnitOfWork,
    WechatLogin,
    WorkQueue,
)
from handlers.reconcile import Reconciling
from infra.clock import SystemClock
from infra.crypto import FieldCipher, PersonalData
from infra.dynamodb import tables
from infra.dynamodb.emulator import LOCAL_CREDENTIALS, is_emulator
from infra.dynamodb.repositories import (
    DynamoCardRepository,
    DynamoGateRepository,
    DynamoLoginTries,
    DynamoLotRepository,
    DynamoOwnerRepository,
    DynamoPackageRepository,
    DynamoRateCounter,
)
from infra.ids import RandomIds
from infra.lazy import Lazy
from infra.metrics import EmfMetrics
from infra.parameters import runtime_environ
from infra.settings import Secrets, Settings, secrets_from_env
from infra.tokens import SignedTokens

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment
    from flask import Flask

    from domain.bill_order import BillOrder
    from handlers.bill_payments import BillPayments
    from handlers.bill_runs import BillRuns
    from handlers.collection import Collecting
    from handlers.door_collection import Doorstep
    from handlers.parking_office import ParkingOffice
    from handlers.passages import Barrier
    from handlers.property import Records
    from handlers.scheduled_work import ScheduledWork
    from handlers.visit_payments import VisitPayments


class WechatPort(WechatLogin, PhoneNumbers, Messenger, Protocol):
    """Everything the API asks of WeChat."""


class GatePort(AppliedVersions, GateStates, Protocol):
    def record_sync(self, gate_id: str, version: int, at: str) -> None: ...


class AlipayPort(PaymentProvider, StatementSource, Protocol):
    def code(self, order: BillOrder) -> str:
        """A one-time QR code's content for the order (precreate)."""
        ...

    def notice(self, form: dict[str, str]) -> PaymentNotice:
        """A verified notification form; PaymentRejected otherwise."""
        ...


class WechatPayPort(PaymentProvider, StatementSource, Protocol):
    def code(self, order: BillOrder) -> str:
        """A one-time QR code's content for the order (native: code_url)."""
        ...

    def notice(self, headers: dict[str, str], body: str) -> PaymentNotice:
        """A verified, decrypted notification; PaymentRejected otherwise."""
        ...

    def refund_notice(self, headers: dict[str, str], body: str) -> RefundNotice:
        """A verified, decrypted refund notification; PaymentRejected otherwise."""
        ...


@dataclass(frozen=True)
class Services:
    clock: Clock
    ids: IdSource
    lots: LotAdmin
    packages: PackageAdmin
    cards: CardRepository
    owners: OwnerRepository
    tokens: SessionTokens
    sessions: SessionStore
    """Owners' sessions: read by a refresh only (access tokens are checked without a read)."""
    wechat: WechatPort
    orders: OrderRepository
    uow: UnitOfWork
    """The one commit path: every change to a card, a place, an application, an order or money."""
    wechatpay: WechatPayPort | None
    """None when this deployment takes no WeChat Pay payments."""
    alipay: AlipayPort | None
    feed: EntitlementFeed
    gates: GatePort
    signer: Signer | None
    """Signs messages to gates; None when no gate signing key is configured."""
    reminders: ReminderStore
    reminder_prefs: PrefsRepository
    consents: Consents
    messenger: Messenger
    applications: ApplicationRepository
    card_queries: CardQueries
    invoices: InvoiceStore
    invoice_issuer: InvoiceIssuer
    documents: Documents
    receipts: ReceiptStore
    receipt_signer: ReceiptSigner | None
    """Signs e-receipts; None when no receipt key is configured (payments then get no receipt)."""
    staff: StaffRepository
    passwords: Passwords
    staff_tokens: SessionTokens
    audit: Audit
    ledger: Ledger
    reconciliations: Reconciliations
    """Each payment channel's days as reconciled with the provider's statement."""
    rates: RateCounter
    login_tries: LoginTries
    sealer: Sealer
    """Personal data the office hands over (an imported card holder's phone): sealed, found by fingerprint."""
    billing: Billing
    """Property fees: communities, units, fee items, meters, readings, vacancies, runs, bills, bill orders."""
    parking: ParkingRecords
    """Parking at the barrier: setup, passages, visits, exemptions, visit orders."""
    collection: CollectionRecords
    """Door-to-door collection: a community's hours, bookings."""
    metrics: Metrics = field(default_factory=EmfMetrics)
    """Counts as CloudWatch EMF lines (namespace ParkPass)."""
    seal_png: bytes | None = None
    public_url: str | None = None
    """Where phones reach this API (PARKPASS_PUBLIC_URL); receipts' QR codes link under it."""
    application_template: str = APPLICATION_TEMPLATE
    bill_template: str = "sim-bill"
    collection_template: str = "sim-collection"
    invoice_template: str = INVOICE_TEMPLATE
    reminder_reads: ReminderReads | None = None
    """How the reminder tick reads a reminder's card, preferences, lot and owner (None: one at a time)."""
    work_queue: WorkQueue | None = None
    """Where the scheduled functions put what is due (None: they do it themselves, in series)."""
    expiry_template: str = "sim-expiry"
    run_chunk_units: int = 200
    """A community of more units is billed in chunks of this many by the work consumers (domain.bill_run)."""

    @property
    def scheduled_work(self) -> ScheduledWork:
        from handlers.bill_reminders import BillReminding
        from handlers.reminders import OneByOne, Reminding
        from handlers.scheduled_work import ScheduledWork

        reads = self.reminder_reads or OneByOne(self.cards, self.lots, self.reminder_prefs, self.owners)
        reminding = Reminding(self.reminders, reads, self.owners, self.consents, self.messenger, self.expiry_template)
        bills = BillReminding(self.billing, self.owners, self.sealer, self.consents, self.messenger, self.bill_template,
                              self.collection, self.collection_template)  # fmt: skip
        return ScheduledWork(reminding, bills, self.bill_runs, self.card_life)

    @property
    def invoicing(self) -> Invoicing:
        return Invoicing(
            self.invoices,
            self.invoice_issuer,
            self.documents,
            Notices(self.owners, self.consents, self.messenger, self.invoice_template),
            self.metrics,
        )

    @property
    def notices(self) -> Notices:
        """Decisions on applications reach the owner like reminders do."""
        return Notices(self.owners, self.consents, self.messenger, self.application_template)

    @property
    def card_life(self) -> CardLife:
        return CardLife(self.cards, self.lots, self.applications, self.uow, self.clock, self.notices)

    @property
    def claiming(self) -> Claiming:
        return Claiming(self.cards, self.card_queries, self.lots, self.uow, self.clock, self.sealer)

    @property
    def records(self) -> Records:
        from handlers.property import Records

        return Records(self.billing, self.lots, self.audit, self.sealer, self.clock)

    @property
    def bill_runs(self) -> BillRuns:
        from handlers.bill_runs import BillRuns

        return BillRuns(self.billing, self.uow, self.ids, self.clock, self.work_queue, self.run_chunk_units)

    @property
    def bill_payments(self) -> BillPayments:
        from handlers.bill_payments import BillPayments

        notices = Notices(self.owners, self.consents, self.messenger, self.collection_template)
        return BillPayments(self.billing, self.owners, self.sealer, self.uow, self.ids, self.clock, self.lots,
                            self.receipt_signer, self.collection, notices)  # fmt: skip

    @property
    def barrier(self) -> Barrier:
        from handlers.passages import Barrier, property_arrears

        arrears = property_arrears(self.billing, self.owners, self.sealer)
        notices = Notices(self.owners, self.consents, self.messenger, self.bill_template)
        return Barrier(self.parking, self.cards, self.lots, self.uow, self.clock, arrears, notices)

    @property
    def visit_payments(self) -> VisitPayments:
        from handlers.visit_payments import VisitPayments, inviter

        may_invite = inviter(self.cards, self.billing, self.owners, self.sealer)
        return VisitPayments(self.parking, self.lots, self.owners, self.uow, self.ids, self.clock, may_invite)

    @property
    def collecting(self) -> Collecting:
        from handlers.collection import Collecting

        notices = Notices(self.owners, self.consents, self.messenger, self.collection_template)
        return Collecting(self.collection, self.billing, self.bill_payments, self.uow, self.ids, self.clock, self.staff,
                          notices, lambda order: self.qr_provider(order.channel).close(order))  # fmt: skip

    @property
    def doorstep(self) -> Doorstep:
        from handlers.door_collection import Doorstep

        return Doorstep(self.collection, self.billing, self.bill_payments, self.collecting, self.uow, self.ids,
                        self.clock, self.qr_provider, self.staff)  # fmt: skip

    def qr_provider(self, channel: Channel) -> WechatPayPort | AlipayPort:
        provider = self.wechatpay if channel is Channel.WECHAT else self.alipay if channel is Channel.ALIPAY else None
        if provider is None:
            raise PaymentUnavailable()
        return provider

    @property
    def parking_office(self) -> ParkingOffice:
        from handlers.parking_office import ParkingOffice

        return ParkingOffice(self.parking, self.lots, self.cards, self.uow, self.clock, self.audit)

    @property
    def reconciling(self) -> Reconciling:
        return Reconciling(
            self.ledger, self.orders, self.cards, self.uow, self.reconciliations, self.clock, self.metrics,
            self.receipt_signer, self.bill_payments, self.visit_payments,
        )  # fmt: skip

    def statements(self) -> dict[Channel, StatementSource]:
        """The statements of the channels this deployment takes payments through."""
        sources: dict[Channel, StatementSource | None] = {Channel.WECHAT: self.wechatpay, Channel.ALIPAY: self.alipay}
        return {channel: source for channel, source in sources.items() if source is not None}

    def provider(self, channel: Channel) -> PaymentProvider:
        if not channel.online:
            from infra.payments.offline import OfflinePayments

            return OfflinePayments()
        provider: PaymentProvider | None = self.wechatpay if channel is Channel.WECHAT else self.alipay
        if provider is None:
            raise PaymentUnavailable()
        return provider


def _dynamo_billing() -> Billing:
    from infra.dynamodb.billing import DynamoBilling  # property fees: loaded by the first request that needs them

    return DynamoBilling()


def _dynamo_collection() -> CollectionRecords:
    from infra.dynamodb.collection import DynamoCollection  # door-to-door collection: loaded on first use

    return DynamoCollection()


def _dynamo_parking() -> ParkingRecords:
    from infra.dynamodb.parking import DynamoParking  # parking at the barrier: loaded by the first request using it

    return DynamoParking()


def bind_dynamodb(settings: Settings) -> None:
    """Point the table models at the configured endpoint (an emulator gets dummy credentials)."""
    endpoint = settings.dynamodb_endpoint
    credentials = LOCAL_CREDENTIALS if is_emulator(endpoint) else None
    tables.bind(settings.table_prefix, settings.region, endpoint, credentials)


def dynamodb_services(settings: Settings, secrets: Secrets, clock: Clock) -> Services:
    from infra.dynamodb.applications import DynamoApplications
    from infra.dynamodb.audit import DynamoAudit
    from infra.dynamodb.card_life import DynamoCardQueries
    from infra.dynamodb.feed import DynamoEntitlementFeed
    from infra.dynamodb.invoices import DynamoInvoiceStore, DynamoReceiptStore
    from infra.dynamodb.orders import DynamoLedger, DynamoOrderRepository, DynamoReconciliations
    from infra.dynamodb.reminders import (
        DynamoConsents,
        DynamoPrefsRepository,
        DynamoReminderReads,
        DynamoReminderStore,
    )
    from infra.dynamodb.sessions import DynamoSessionStore
    from infra.dynamodb.staff import DynamoStaffRepository
    from infra.dynamodb.unit_of_work import DynamoUnitOfWork
    from infra.gate_messages import MessageSigner
    from infra.passwords import ScryptPasswords
    from infra.receipt_signing import ReceiptKey

    cipher = FieldCipher(secrets.data_key)

    # The provider SDKs (wechatpy, wechatpayv3, python-alipay-sdk) load on first use only.
    def wechat_gateway() -> object:
        from infra.wechat.gateway import WechatGateway
        from infra.wechat.session_storage import DynamoSessionStorage

        storage = DynamoSessionStorage(clock)
        return WechatGateway(secrets.wechat_appid, secrets.wechat_secret, storage, api_base=settings.wechat_api_base)

    def wechatpay_gateway() -> object:
        from infra.payments.wechatpay import WechatPayGateway

        assert secrets.wechatpay is not None
        return WechatPayGateway(secrets.wechatpay, clock)

    def alipay_gateway() -> object:
        from infra.payments.alipay import AlipayGateway

        assert secrets.alipay is not None
        return AlipayGateway(secrets.alipay, clock)

    wechat = cast(WechatPort, Lazy(wechat_gateway))
    owners = DynamoOwnerRepository(cipher)
    return Services(
        clock=clock,
        ids=RandomIds(),
        lots=DynamoLotRepository(),
        packages=DynamoPackageRepository(),
        cards=DynamoCardRepository(),
        owners=owners,
        reminder_reads=DynamoReminderReads(owners),
        sealer=PersonalData(cipher, secrets.data_key),
        tokens=SignedTokens(secrets.token_secret, clock),
        sessions=DynamoSessionStore(),
        wechat=wechat,
        orders=DynamoOrderRepository(),
        uow=DynamoUnitOfWork(),
        wechatpay=cast(WechatPayPort, Lazy(wechatpay_gateway)) if secrets.wechatpay else None,
        alipay=cast(AlipayPort, Lazy(alipay_gateway)) if secrets.alipay else None,
        feed=DynamoEntitlementFeed(),
        gates=DynamoGateRepository(cipher),
        signer=MessageSigner(secrets.gate_signing_key) if secrets.gate_signing_key else None,
        reminders=DynamoReminderStore(),
        reminder_prefs=DynamoPrefsRepository(),
        consents=DynamoConsents(),
        messenger=wechat,
        applications=DynamoApplications(),
        card_queries=DynamoCardQueries(),
        invoices=DynamoInvoiceStore(cipher),
        invoice_issuer=_invoice_issuer(settings),
        documents=cast(Documents, Lazy(lambda: _documents(settings))),  # S3's client on first use
        receipts=DynamoReceiptStore(),
        receipt_signer=ReceiptKey(secrets.receipt_signing_key) if secrets.receipt_signing_key else None,
        staff=DynamoStaffRepository(),
        passwords=ScryptPasswords(),
        # Another key than the owners': an owner's token can never pass as staff's.
        staff_tokens=SignedTokens(secrets.token_secret + b"|staff", clock),
        audit=DynamoAudit(),
        ledger=DynamoLedger(),
        reconciliations=DynamoReconciliations(),
        billing=cast(Billing, Lazy(_dynamo_billing)),
        parking=cast(ParkingRecords, Lazy(_dynamo_parking)),
        collection=cast(CollectionRecords, Lazy(_dynamo_collection)),
        rates=DynamoRateCounter(),
        login_tries=DynamoLoginTries(),
        seal_png=Path(settings.seal_image).read_bytes() if settings.seal_image else None,
        public_url=settings.public_url,
        application_template=settings.application_template,
        bill_template=settings.bill_template,
        collection_template=settings.collection_template,
        invoice_template=settings.invoice_template,
        expiry_template=settings.expiry_template,
        work_queue=_work_queue(settings),
    )


def _work_queue(settings: Settings) -> WorkQueue | None:
    if settings.work_queue_url is None:
        return None
    from infra.work_queue import SqsWorkQueue, sqs_client

    return SqsWorkQueue(settings.work_queue_url, Lazy(lambda: sqs_client(settings.region, settings.sqs_endpoint)))


def _invoice_issuer(settings: Settings) -> InvoiceIssuer:
    from infra.invoices.provider import HttpInvoiceProvider, NoInvoiceProvider

    return HttpInvoiceProvider(settings.invoice_api) if settings.invoice_api else NoInvoiceProvider()


def _documents(settings: Settings) -> Documents:
    from infra.documents import LocalDocuments, S3Documents

    if settings.documents_bucket is None:
        return LocalDocuments(Path(settings.documents_dir))
    import boto3

    key_id, key = LOCAL_CREDENTIALS if settings.s3_endpoint else (None, None)  # an emulator takes any keys
    client = boto3.client(
        "s3",
        region_name=settings.region,
        endpoint_url=settings.s3_endpoint,
        aws_access_key_id=key_id,
        aws_secret_access_key=key,
    )
    return S3Documents(settings.documents_bucket, client)


class _ServicesFromEnv:
    """The Lambda wiring: settings and secrets from the environment (and the SSM parameters it names), the real
    clock. Built once per container and again only when a parameter's value changed (a rotated secret)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._built: tuple[dict[str, str], Services] | None = None

    def __call__(self) -> Services:
        env = runtime_environ()
        with self._lock:
            if self._built is None or self._built[0] != env:
                self._built = (env, self._build(env))
            return self._built[1]

    @staticmethod
    def _build(env: dict[str, str]) -> Services:
        settings = Settings.from_env(env)
        bind_dynamodb(settings)
        s = dynamodb_services(settings, secrets_from_env(env), SystemClock())
        return told_at_once(s, "api") if tells_gates_at_once() else s

    def cache_clear(self) -> None:
        """The next call builds anew (the tests' way of starting another container)."""
        with self._lock:
            self._built = None


services_from_env = _ServicesFromEnv()


def told_at_once(s: Services, role: str) -> Services:
    """These services' commits tell the gates themselves, right after the commit (the fast path)."""
    if s.signer is None:
        return s
    # Built on the first commit with gate events: a request that changes no gate never loads the IoT client.
    publisher = cast(Publisher, Lazy(lambda: publisher_from_env(role, timeout_s=FAST_PATH_TIMEOUT_S)))
    return replace(s, uow=TellGatesAtOnce(s.uow, publisher, s.signer))


class CurrentApp:
    """The WSGI app `build` makes of the current services: made on the first request, again after a rotation."""

    def __init__(self, build: Callable[[Services], Flask]) -> None:
        self._build = build
        self._lock = threading.Lock()
        self._made: tuple[Services, Flask] | None = None

    def current(self) -> Flask:
        s = services_from_env()
        with self._lock:
            if self._made is None or self._made[0] is not s:
                self._made = (s, self._build(s))
            return self._made[1]

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        return self.current()(environ, start_response)

    def __getattr__(self, name: str) -> Any:
        # zappa and the tests use the Flask app's own attributes (test_client, config, ...).
        return getattr(self.current(), name)


def app_on_first_use(build: Callable[[Services], Flask]) -> Callable[[str], CurrentApp]:
    """A module `__getattr__` that answers `app`: the app `build` makes of the services from the environment.

    Not at import: the local stack and the tests import the app's module with
    wiring of their own, and Lambda pays the start-up once, when it first asks.
    """
    made: list[CurrentApp] = []
    lock = threading.Lock()

    def module_getattr(name: str) -> CurrentApp:
        if name != "app":
            raise AttributeError(name)
        with lock:
            if not made:
                made.append(CurrentApp(build))
        return made[0]

    return module_getattr
