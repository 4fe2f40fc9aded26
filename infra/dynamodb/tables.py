"""Table models and their binding to an endpoint.

Table names are `<prefix>-<suffix>` so stages (and parallel test runs) never
share a table. `bind` is called once per process before any request; it also
drops cached connections so a model never talks to a stale endpoint.
"""

from __future__ import annotations

from typing import ClassVar

from pynamodb.attributes import (
    BinaryAttribute,
    BooleanAttribute,
    JSONAttribute,
    ListAttribute,
    NumberAttribute,
    TTLAttribute,
    UnicodeAttribute,
    UnicodeSetAttribute,
    VersionAttribute,
)
from pynamodb.connection import Connection
from pynamodb.exceptions import TableError
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex, KeysOnlyProjection
from pynamodb.models import Model

from infra.settings import DEFAULT_REGION


class _Table(Model):
    suffix: ClassVar[str]

    class Meta:
        abstract = True
        region = DEFAULT_REGION


class LotsByTenant(GlobalSecondaryIndex["LotItem"]):
    class Meta:
        index_name = "by_tenant"
        projection = AllProjection()

    tenant_id = UnicodeAttribute(hash_key=True)
    lot_id = UnicodeAttribute(range_key=True)


class LotItem(_Table):
    suffix = "lots"

    class Meta(_Table.Meta):
        table_name = "parkpass-lots"

    lot_id = UnicodeAttribute(hash_key=True)
    name = UnicodeAttribute()
    timezone = UnicodeAttribute()
    quota = NumberAttribute(null=True)
    renewal_mode = UnicodeAttribute()
    max_until = UnicodeAttribute(null=True)
    max_months_ahead = NumberAttribute(null=True)
    online_renewal = BooleanAttribute()
    entitlement_version = NumberAttribute(null=True)
    """Last version of the lot's gate feed; moved only inside the transaction that writes the events."""
    feed_epoch = UnicodeAttribute(null=True)
    """The random id of the lot's feed, made with the lot; absent on lots from before epochs."""
    reminder_offsets = ListAttribute(of=NumberAttribute, null=True)
    reminder_hour = NumberAttribute(null=True)
    card_policy = JSONAttribute(null=True)
    """Approval, pause, plate and grace rules (domain CardPolicy's fields)."""
    held = NumberAttribute(null=True)
    """Places taken by approved cards; raised only under the condition `held < quota`."""
    invoice_provider = UnicodeAttribute(null=True)
    receipt_seq = NumberAttribute(null=True)
    receipt_hash = UnicodeAttribute(null=True)
    """The head of the lot's receipt chain; moved only in the transaction that adds the receipt."""
    tenant_id = UnicodeAttribute(null=True)

    by_tenant = LotsByTenant()


class PackageItem(_Table):
    """Packages live under their lot: the price list is one Query."""

    suffix = "packages"

    class Meta(_Table.Meta):
        table_name = "parkpass-packages"

    lot_id = UnicodeAttribute(hash_key=True)
    package_id = UnicodeAttribute(range_key=True)
    name = UnicodeAttribute()
    duration_unit = UnicodeAttribute()
    duration_count = NumberAttribute()
    price_fen = NumberAttribute()
    enabled = BooleanAttribute()
    position = NumberAttribute(null=True)


class CardsByOwner(GlobalSecondaryIndex["CardItem"]):
    class Meta:
        index_name = "by_owner"
        projection = AllProjection()

    owner_id = UnicodeAttribute(hash_key=True)
    card_id = UnicodeAttribute(range_key=True)


class CardsByLot(GlobalSecondaryIndex["CardItem"]):
    class Meta:
        index_name = "by_lot"
        projection = AllProjection()

    lot_id = UnicodeAttribute(hash_key=True)
    card_id = UnicodeAttribute(range_key=True)


class RunningCards(GlobalSecondaryIndex["CardItem"]):
    """Sparse: only active cards carry `running`; the expiry job reads those whose end has passed."""

    class Meta:
        index_name = "running"
        projection = AllProjection()

    running = UnicodeAttribute(hash_key=True)
    valid_until = UnicodeAttribute(range_key=True)


class UnpaidCards(GlobalSecondaryIndex["CardItem"]):
    """Sparse: approved cards not yet paid for, by the day they lapse."""

    class Meta:
        index_name = "unpaid"
        projection = AllProjection()

    unpaid = UnicodeAttribute(hash_key=True)
    pay_by = UnicodeAttribute(range_key=True)


class PausesToApprove(GlobalSecondaryIndex["CardItem"]):
    """Sparse: cards of a lot with a pause waiting for the office."""

    class Meta:
        index_name = "pause_queue"
        projection = AllProjection()

    pause_queue = UnicodeAttribute(hash_key=True)
    card_id = UnicodeAttribute(range_key=True)


class CardsByClaim(GlobalSecondaryIndex["CardItem"]):
    """Sparse: imported cards by what their owner claims them with: `code#<locator>` once the office printed
    a slip (kept after the claim: the same code from the same owner finds the card again), else
    `phone#<fingerprint>` of the phone the office knew, until claimed. One index: DynamoDB adds one
    index to a table per update."""

    class Meta:
        index_name = "claim_key"
        projection = AllProjection()

    claim_key = UnicodeAttribute(hash_key=True)
    card_id = UnicodeAttribute(range_key=True)


class CardItem(_Table):
    suffix = "cards"

    class Meta(_Table.Meta):
        table_name = "parkpass-cards"

    card_id = UnicodeAttribute(hash_key=True)
    lot_id = UnicodeAttribute()
    owner_id = UnicodeAttribute()
    plates = ListAttribute(of=UnicodeAttribute)
    valid_from = UnicodeAttribute(null=True)
    valid_until = UnicodeAttribute(null=True)
    state = UnicodeAttribute()
    version = VersionAttribute()
    pauses = JSONAttribute(null=True)
    inside = UnicodeAttribute(null=True)
    inside_since = UnicodeAttribute(null=True)
    plate_changes = ListAttribute(of=UnicodeAttribute, null=True)
    pay_by = UnicodeAttribute(null=True)
    running = UnicodeAttribute(null=True)
    unpaid = UnicodeAttribute(null=True)
    pause_queue = UnicodeAttribute(null=True)
    """The lot's id while a pause waits for approval."""
    holder = UnicodeAttribute(null=True)
    claim_key = UnicodeAttribute(null=True)
    """What the card is claimed by (sparse index key: `code#<locator>` or `phone#<fingerprint>`)."""
    claim = JSONAttribute(null=True)
    """The rest of the claim ticket: the sealed phone (base64), its last 4 digits, the code's fingerprint, tries."""

    by_owner = CardsByOwner()
    by_lot = CardsByLot()
    running_cards = RunningCards()
    unpaid_cards = UnpaidCards()
    pauses_to_approve = PausesToApprove()
    by_claim = CardsByClaim()


class OwnersByPhoneLast4(GlobalSecondaryIndex["OwnerItem"]):
    """Sparse: owners with a phone, by its last four digits (the office's search), keys only."""

    class Meta:
        index_name = "phone_last4"
        projection = KeysOnlyProjection()

    phone_last4 = UnicodeAttribute(hash_key=True)
    owner_id = UnicodeAttribute(range_key=True)


class OwnerItem(_Table):
    suffix = "owners"

    class Meta(_Table.Meta):
        table_name = "parkpass-owners"

    owner_id = UnicodeAttribute(hash_key=True)
    openid = UnicodeAttribute()
    unionid = UnicodeAttribute(null=True)
    phone_cipher = BinaryAttribute(null=True, legacy_encoding=False)
    session_key_cipher = BinaryAttribute(null=True, legacy_encoding=False)
    vehicles = UnicodeSetAttribute(null=True)
    oa_openid = UnicodeAttribute(null=True)
    """The owner's openid in the official account, once they follow it (for template messages)."""
    phone_last4 = UnicodeAttribute(null=True)
    """For the office's search by the last four digits; the whole number stays encrypted."""

    by_phone_last4 = OwnersByPhoneLast4()


class ClaimItem(_Table):
    """Uniqueness: one item per thing only one may hold.

    `wx-openid:<openid>` and `wx-unionid:<unionid>` point at an owner;
    `plate:<lot_id>:<plate>` points at the card (or open application) that holds the plate in that lot;
    `order-key:<owner_id>:<key>` at the order made with that idempotency key;
    `unpaid:<card_id>` at the card's one order waiting for payment;
    `form:<actor>:<key>` at what an office form did (its card, order or nothing: the action was done).
    A claim is written with attribute_not_exists in the same transaction as its holder.
    """

    suffix = "claims"

    class Meta(_Table.Meta):
        table_name = "parkpass-claims"

    claim = UnicodeAttribute(hash_key=True)
    owner_id = UnicodeAttribute(null=True)
    """The owner holding it; none for an office form's key."""
    card_id = UnicodeAttribute(null=True)
    order_id = UnicodeAttribute(null=True)
    application_id = UnicodeAttribute(null=True)
    """A plate claim held by an open application before its card exists."""


class CacheItem(_Table):
    """Short-lived shared values (the WeChat access token), so every Lambda container uses one."""

    suffix = "cache"

    class Meta(_Table.Meta):
        table_name = "parkpass-cache"

    key = UnicodeAttribute(hash_key=True)
    value = UnicodeAttribute(null=True)
    expires_at = TTLAttribute(null=True)
    hits = NumberAttribute(null=True)
    """Rate-limit windows: requests counted with ADD."""
    tries = NumberAttribute(null=True)
    """Office login tries under one limit (domain/login_limits), with the last and when the next may come."""
    last_try = UnicodeAttribute(null=True)
    next_try = UnicodeAttribute(null=True)


class PendingOrders(GlobalSecondaryIndex["OrderItem"]):
    """Sparse: only orders waiting for payment carry `pending`, so the sweep reads just those."""

    class Meta:
        index_name = "pending"
        projection = AllProjection()

    pending = UnicodeAttribute(hash_key=True)
    created_at = UnicodeAttribute(range_key=True)


class OrdersByCard(GlobalSecondaryIndex["OrderItem"]):
    class Meta:
        index_name = "by_card"
        projection = AllProjection()

    card_id = UnicodeAttribute(hash_key=True)
    created_at = UnicodeAttribute(range_key=True)


class OrdersByOwner(GlobalSecondaryIndex["OrderItem"]):
    """An owner's orders, newest first (GET /api/v1/me/orders pages through it)."""

    class Meta:
        index_name = "by_owner"
        projection = AllProjection()

    owner_id = UnicodeAttribute(hash_key=True)
    created_at = UnicodeAttribute(range_key=True)


class RefundingOrders(GlobalSecondaryIndex["OrderItem"]):
    """Refunds the provider has not settled yet (sparse: set while processing): the sweep asks about them."""

    class Meta:
        index_name = "refunding"
        projection = AllProjection()

    refunding = UnicodeAttribute(hash_key=True)
    created_at = UnicodeAttribute(range_key=True)


class OrderItem(_Table):
    suffix = "orders"

    class Meta(_Table.Meta):
        table_name = "parkpass-orders"

    order_id = UnicodeAttribute(hash_key=True)
    owner_id = UnicodeAttribute()
    card_id = UnicodeAttribute()
    lot_id = UnicodeAttribute()
    package = JSONAttribute()
    amount_fen = NumberAttribute()
    channel = UnicodeAttribute()
    quoted_from = UnicodeAttribute()
    quoted_until = UnicodeAttribute()
    state = UnicodeAttribute()
    created_at = UnicodeAttribute()
    expires_at = UnicodeAttribute()
    paid_at = UnicodeAttribute(null=True)
    transaction_id = UnicodeAttribute(null=True)
    new_valid_from = UnicodeAttribute(null=True)
    new_valid_until = UnicodeAttribute(null=True)
    pending = UnicodeAttribute(null=True)
    owner_label = UnicodeAttribute(null=True)

    staff = UnicodeAttribute(null=True)
    """Who entered an offline payment."""
    refund_state = UnicodeAttribute(null=True)
    refunding = UnicodeAttribute(null=True)
    """"1" while the refund is processing at the provider (the `refunding` index); removed once it is settled."""

    pending_orders = PendingOrders()
    refunding_orders = RefundingOrders()
    by_card = OrdersByCard()
    by_owner = OrdersByOwner()


class LedgerByLot(GlobalSecondaryIndex["LedgerItem"]):
    class Meta:
        index_name = "by_lot"
        projection = AllProjection()

    lot_id = UnicodeAttribute(hash_key=True)
    booked_at = UnicodeAttribute(range_key=True)


class LedgerByStatementDay(GlobalSecondaryIndex["LedgerItem"]):
    """A channel's lines of one provider statement day (sparse: online channels only), for the reconciliation."""

    class Meta:
        index_name = "by_statement_day"
        projection = AllProjection()

    statement_day = UnicodeAttribute(hash_key=True)
    entry_id = UnicodeAttribute(range_key=True)


class LedgerItem(_Table):
    """Money in and out, one item per movement; the key makes a second booking of one payment impossible."""

    suffix = "ledger"

    class Meta(_Table.Meta):
        table_name = "parkpass-ledger"

    entry_id = UnicodeAttribute(hash_key=True)
    lot_id = UnicodeAttribute()
    order_id = UnicodeAttribute()
    card_id = UnicodeAttribute()
    owner_id = UnicodeAttribute()
    amount_fen = NumberAttribute()
    channel = UnicodeAttribute()
    transaction_id = UnicodeAttribute()
    booked_at = UnicodeAttribute()
    package = UnicodeAttribute(null=True)
    statement_day = UnicodeAttribute(null=True)
    """"wechat#2026-12-01": the day of the provider's statement the line belongs on (domain.reconciliation)."""

    by_lot = LedgerByLot()
    by_statement_day = LedgerByStatementDay()


class EntitlementItem(_Table):
    """The gate feed of a lot: versions without gaps, written with the change they announce."""

    suffix = "entitlements"

    class Meta(_Table.Meta):
        table_name = "parkpass-entitlements"
        stream_view_type = "NEW_IMAGE"  # fan-out publishes from the stream's records (as serverless.yml)

    lot_id = UnicodeAttribute(hash_key=True)
    version = NumberAttribute(range_key=True)
    plate = UnicodeAttribute()
    card_id = UnicodeAttribute()
    valid_from = UnicodeAttribute(null=True)
    valid_until = UnicodeAttribute(null=True)
    state = UnicodeAttribute()
    issued_at = UnicodeAttribute()
    paused_from = UnicodeAttribute(null=True)
    paused_until = UnicodeAttribute(null=True)
    grace_until = UnicodeAttribute(null=True)
    inside = UnicodeAttribute(null=True)
    epoch = UnicodeAttribute(null=True)
    order_id = UnicodeAttribute(null=True)
    """The order that made the change (for the logs that follow it to the gates); not sent to gates."""
    kind = UnicodeAttribute(null=True)
    """Absent for a card's plate; `exempt`, `blacklisted` or `visit` (a paid visit: `leave_by`)."""
    leave_by = UnicodeAttribute(null=True)


class GatesByLot(GlobalSecondaryIndex["GateItem"]):
    class Meta:
        index_name = "by_lot"
        projection = AllProjection()

    lot_id = UnicodeAttribute(hash_key=True)
    gate_id = UnicodeAttribute(range_key=True)


class GateItem(_Table):
    """A gate controller allowed to sync its lot's feed; its secret is encrypted like personal data."""

    suffix = "gates"

    class Meta(_Table.Meta):
        table_name = "parkpass-gates"

    gate_id = UnicodeAttribute(hash_key=True)
    lot_id = UnicodeAttribute()
    secret_cipher = BinaryAttribute(legacy_encoding=False)
    synced_version = NumberAttribute(null=True)
    """The feed version the gate last said it has (its `since` in a delta sync)."""
    synced_at = UnicodeAttribute(null=True)

    by_lot = GatesByLot()


class ReminderItem(_Table):
    """One reminder, filed under the UTC hour it falls due: a tick queries only the hours up to now."""

    suffix = "reminders"

    class Meta(_Table.Meta):
        table_name = "parkpass-reminders"

    bucket = UnicodeAttribute(hash_key=True)
    slot = UnicodeAttribute(range_key=True)
    """`<card>#<cycle>#<offset>`: at most one reminder per card, cycle and offset."""
    card_id = UnicodeAttribute()
    owner_id = UnicodeAttribute()
    lot_id = UnicodeAttribute()
    cycle = UnicodeAttribute()
    offset = NumberAttribute()
    due_at = UnicodeAttribute()
    state = UnicodeAttribute()
    attempts = NumberAttribute(null=True)
    reason = UnicodeAttribute(null=True)
    lease_until = UnicodeAttribute(null=True)


class ReminderPrefsItem(_Table):
    suffix = "reminder_prefs"

    class Meta(_Table.Meta):
        table_name = "parkpass-reminder_prefs"

    card_id = UnicodeAttribute(hash_key=True)
    enabled = BooleanAttribute()
    channel = UnicodeAttribute()


class ConsentItem(_Table):
    """Subscribe-message consents: each one WeChat reports allows exactly one message."""

    suffix = "consents"

    class Meta(_Table.Meta):
        table_name = "parkpass-consents"

    owner_id = UnicodeAttribute(hash_key=True)
    template_id = UnicodeAttribute(range_key=True)
    count = NumberAttribute()


class ApplicationsByOwner(GlobalSecondaryIndex["ApplicationItem"]):
    class Meta:
        index_name = "by_owner"
        projection = AllProjection()

    owner_id = UnicodeAttribute(hash_key=True)
    queue_key = UnicodeAttribute(range_key=True)


class ApplicationQueue(GlobalSecondaryIndex["ApplicationItem"]):
    """Sparse: a lot's applications waiting for the office, oldest first."""

    class Meta:
        index_name = "queue"
        projection = AllProjection()

    queue = UnicodeAttribute(hash_key=True)
    queue_key = UnicodeAttribute(range_key=True)


class Waitlist(GlobalSecondaryIndex["ApplicationItem"]):
    """Sparse: a lot's waitlisted applications in arrival order; the first is offered the next free place."""

    class Meta:
        index_name = "waitlist"
        projection = AllProjection()

    waitlist = UnicodeAttribute(hash_key=True)
    queue_key = UnicodeAttribute(range_key=True)


class ApplicationItem(_Table):
    suffix = "applications"

    class Meta(_Table.Meta):
        table_name = "parkpass-applications"

    application_id = UnicodeAttribute(hash_key=True)
    lot_id = UnicodeAttribute()
    owner_id = UnicodeAttribute()
    plates = ListAttribute(of=UnicodeAttribute)
    package_id = UnicodeAttribute()
    note = UnicodeAttribute(null=True)
    state = UnicodeAttribute()
    applied_at = UnicodeAttribute()
    queue_key = UnicodeAttribute()
    decided_at = UnicodeAttribute(null=True)
    decided_by = UnicodeAttribute(null=True)
    reason = UnicodeAttribute(null=True)
    card_id = UnicodeAttribute(null=True)
    pay_by = UnicodeAttribute(null=True)
    queue = UnicodeAttribute(null=True)
    waitlist = UnicodeAttribute(null=True)
    held_elsewhere = ListAttribute(of=UnicodeAttribute, null=True)
    """Plates another card or application held when it came: it waits for review, holding none."""

    by_owner = ApplicationsByOwner()
    office_queue = ApplicationQueue()
    waiting = Waitlist()


class AuditItem(_Table):
    """Who changed what, when and why, with the before and after; written in the change's own transaction."""

    suffix = "audit"

    class Meta(_Table.Meta):
        table_name = "parkpass-audit"

    subject = UnicodeAttribute(hash_key=True)
    entry = UnicodeAttribute(range_key=True)
    """A card's `v<version, 6 digits>#<at, ISO>` (its history in the order it changed), others `<at, ISO>#<action>`
    (in time order); the entry's time is read back from it."""
    actor = UnicodeAttribute()
    action = UnicodeAttribute()
    reason = UnicodeAttribute(null=True)
    before = JSONAttribute(null=True)
    after = JSONAttribute(null=True)


class UnfinishedInvoices(GlobalSecondaryIndex["InvoiceItem"]):
    """Sparse: invoices a provider has not answered for yet (issuing, reversing), for the retry job."""

    class Meta:
        index_name = "unfinished"
        projection = AllProjection()

    unfinished = UnicodeAttribute(hash_key=True)
    requested_at = UnicodeAttribute(range_key=True)


class RequestedInvoices(GlobalSecondaryIndex["InvoiceItem"]):
    """Sparse: a lot's invoices waiting for the office, oldest first."""

    class Meta:
        index_name = "office_queue"
        projection = AllProjection()

    office_queue = UnicodeAttribute(hash_key=True)
    requested_at = UnicodeAttribute(range_key=True)


class InvoiceItem(_Table):
    """One invoice per order, keyed by the order's id."""

    suffix = "invoices"

    class Meta(_Table.Meta):
        table_name = "parkpass-invoices"

    order_id = UnicodeAttribute(hash_key=True)
    owner_id = UnicodeAttribute()
    lot_id = UnicodeAttribute()
    amount_fen = NumberAttribute()
    type = UnicodeAttribute()
    title = UnicodeAttribute()
    tax_id = UnicodeAttribute(null=True)
    email_cipher = BinaryAttribute(legacy_encoding=False)
    phone_cipher = BinaryAttribute(null=True, legacy_encoding=False)
    state = UnicodeAttribute()
    requested_at = UnicodeAttribute()
    number = UnicodeAttribute(null=True)
    issued_on = UnicodeAttribute(null=True)
    document = UnicodeAttribute(null=True)
    reason = UnicodeAttribute(null=True)
    red_number = UnicodeAttribute(null=True)
    red_document = UnicodeAttribute(null=True)
    reversed_on = UnicodeAttribute(null=True)
    unfinished = UnicodeAttribute(null=True)
    office_queue = UnicodeAttribute(null=True)

    unfinished_invoices = UnfinishedInvoices()
    requested_invoices = RequestedInvoices()


class ReceiptsByLot(GlobalSecondaryIndex["ReceiptItem"]):
    """A lot's receipt chain in order: the verifier reads the previous link."""

    class Meta:
        index_name = "chain"
        projection = AllProjection()

    lot_id = UnicodeAttribute(hash_key=True)
    seq = NumberAttribute(range_key=True)


class ReceiptItem(_Table):
    suffix = "receipts"

    class Meta(_Table.Meta):
        table_name = "parkpass-receipts"

    receipt_id = UnicodeAttribute(hash_key=True)
    lot_id = UnicodeAttribute()
    seq = NumberAttribute()
    fields = JSONAttribute()
    """Exactly what was hashed and signed."""
    signature = BinaryAttribute(legacy_encoding=False)

    chain = ReceiptsByLot()


class StaffByTenant(GlobalSecondaryIndex["StaffItem"]):
    class Meta:
        index_name = "by_tenant"
        projection = AllProjection()

    tenant_id = UnicodeAttribute(hash_key=True)
    email = UnicodeAttribute(range_key=True)


class StaffItem(_Table):
    """The property office's accounts, keyed by login email."""

    suffix = "staff"

    class Meta(_Table.Meta):
        table_name = "parkpass-staff"

    email = UnicodeAttribute(hash_key=True)
    tenant_id = UnicodeAttribute()
    role = UnicodeAttribute()
    lot_ids = UnicodeSetAttribute(null=True)
    password_hash = UnicodeAttribute()
    disabled = BooleanAttribute(null=True)
    revision = NumberAttribute(null=True)
    """Moves with each change of role, lots, password or the disabled flag (a conditional save)."""
    session_epoch = NumberAttribute(null=True)
    """Moved on (ADD 1) by a logout, a new password or disabling: tokens of an earlier epoch stop working."""

    by_tenant = StaffByTenant()


class SessionItem(_Table):
    """Owners' sessions (refresh-token families), by id: a refresh reads one and moves it on conditionally.
    Kept while any of its refresh tokens could still be presented, then gone by TTL."""

    suffix = "sessions"

    class Meta(_Table.Meta):
        table_name = "parkpass-sessions"

    session_id = UnicodeAttribute(hash_key=True)
    subject = UnicodeAttribute()
    generation = NumberAttribute()
    ended = UnicodeAttribute(null=True)
    """Why it ended (logout, reuse); absent while it lives."""
    expires_at = TTLAttribute()


class ReconciliationItem(_Table):
    """Each channel's day as last reconciled against the provider's statement, with what differed."""

    suffix = "reconciliations"

    class Meta(_Table.Meta):
        table_name = "parkpass-reconciliations"

    channel = UnicodeAttribute(hash_key=True)
    day = UnicodeAttribute(range_key=True)
    checked_at = UnicodeAttribute()
    provider_lines = NumberAttribute()
    ledger_lines = NumberAttribute()
    differences = JSONAttribute()


class BillingByKey(GlobalSecondaryIndex["BillingItem"]):
    """What belongs to one thing: a community's units, fee items, meters, runs, bills, vacancies
    (`community#<id>`), a meter's readings (`meter#<id>`), the units of a phone (`phone#<fingerprint>`)."""

    class Meta:
        index_name = "by_key"
        projection = AllProjection()

    key = UnicodeAttribute(hash_key=True)
    sort = UnicodeAttribute(range_key=True)


class BillingByUnit(GlobalSecondaryIndex["BillingItem"]):
    """Sparse: a unit's bills and vacancies (what an owner reads)."""

    class Meta:
        index_name = "by_unit"
        projection = AllProjection()

    unit_id = UnicodeAttribute(hash_key=True)
    sort = UnicodeAttribute(range_key=True)


class BillingItem(_Table):
    """Property fees, one table: communities, units, fee items, meters, readings, vacancies, bill runs, bills, bill
    orders and prepaid balances, each under `<kind>#<id>`; the record itself in `body`. Bills, bill orders and
    balances are written only by the one commit path (their `state` and `balance` carry its conditions)."""

    suffix = "billing"

    class Meta(_Table.Meta):
        table_name = "parkpass-billing"

    id = UnicodeAttribute(hash_key=True)
    kind = UnicodeAttribute()
    key = UnicodeAttribute(null=True)
    sort = UnicodeAttribute(null=True)
    unit_id = UnicodeAttribute(null=True)
    state = UnicodeAttribute(null=True)
    body = JSONAttribute(null=True)
    balance = NumberAttribute(null=True)
    revision = NumberAttribute(null=True)
    """A fee item's or a unit's: moves with each change, written only over the one read."""
    lease_until = UnicodeAttribute(null=True)
    """A bill reminder being sent: until when its consumer holds it."""

    by_key = BillingByKey()
    by_unit = BillingByUnit()


class ParkingByKey(GlobalSecondaryIndex["ParkingItem"]):
    """What belongs together: a lot's exemptions and blacklist (`passes#<lot>`), its visits of a day
    (`visits#<lot>#<day>`), plates owing for visits (`owing#<lot>`, sparse)."""

    class Meta:
        index_name = "by_key"
        projection = AllProjection()

    key = UnicodeAttribute(hash_key=True)
    sort = UnicodeAttribute(range_key=True)


class ParkingByOpen(GlobalSecondaryIndex["ParkingItem"]):
    """Sparse: the open visits of a lot (`inside#<lot>`)."""

    class Meta:
        index_name = "by_open"
        projection = AllProjection()

    open_key = UnicodeAttribute(hash_key=True)
    sort = UnicodeAttribute(range_key=True)


class ParkingItem(_Table):
    """Parking at the barrier, one table: each lot's setup, the passages gates reported, plates' stays, visits,
    the count of cars inside, exemptions and blacklistings, visit orders; each under `<kind>#<id>`, the record in
    `body`. All but the setup are written by the one commit path (`version`, `state` and the counts carry its
    conditions)."""

    suffix = "parking"

    class Meta(_Table.Meta):
        table_name = "parkpass-parking"

    id = UnicodeAttribute(hash_key=True)
    kind = UnicodeAttribute()
    key = UnicodeAttribute(null=True)
    sort = UnicodeAttribute(null=True)
    open_key = UnicodeAttribute(null=True)
    """An open visit's `inside#<lot>` (sparse): the cars inside now."""
    state = UnicodeAttribute(null=True)
    body = JSONAttribute(null=True)
    version = NumberAttribute(null=True)
    inside = NumberAttribute(null=True)
    visitors = NumberAttribute(null=True)

    by_key = ParkingByKey()
    by_open = ParkingByOpen()


TABLES: tuple[type[_Table], ...] = (
    LotItem,
    PackageItem,
    CardItem,
    OwnerItem,
    ClaimItem,
    CacheItem,
    OrderItem,
    LedgerItem,
    EntitlementItem,
    GateItem,
    ReminderItem,
    ReminderPrefsItem,
    ConsentItem,
    ApplicationItem,
    AuditItem,
    InvoiceItem,
    ReceiptItem,
    StaffItem,
    SessionItem,
    ReconciliationItem,
    BillingItem,
    ParkingItem,
)


def bind(
    prefix: str,
    region: str,
    endpoint: str | None = None,
    credentials: tuple[str, str] | None = None,
) -> None:
    """Point every table model at `endpoint` (None: the region's AWS endpoint)."""
    for model in TABLES:
        meta = model.Meta
        meta.table_name = f"{prefix}-{model.suffix}"
        meta.region = region
        meta.host = endpoint
        meta.aws_access_key_id, meta.aws_secret_access_key = credentials or (None, None)
        model._connection = None
    _share_one_client()


def _share_one_client() -> None:
    """Every table model talks through one Connection, so one botocore client.

    pynamodb gives each model a connection of its own, and each one's first
    request builds a botocore client (about 0.1 s, mostly reading botocore's
    JSON models): a request touching five tables paid that five times on a
    cold start.
    """
    shared = TABLES[0]._get_connection().connection
    for model in TABLES[1:]:
        table = model._get_connection()
        shared.add_meta_table(table.connection.get_meta_table(model.Meta.table_name))
        table.connection = shared


def transaction_connection() -> Connection:
    """The low-level connection transactions go through, bound like the tables."""
    return CardItem._get_connection().connection


def create_tables() -> list[str]:
    """Create the missing tables (on-demand billing); answer the names created. Idempotent."""
    created = []
    for model in TABLES:
        if model.exists():
            continue
        try:
            model.create_table(billing_mode="PAY_PER_REQUEST", wait=True)
        except TableError as e:
            if e.cause_response_code != "ResourceInUseException":  # created meanwhile by another process
                raise
        created.append(model.Meta.table_name)
    return created
