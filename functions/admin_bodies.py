"""What the office's admin page may send: the admin function's request bodies, checked by pydantic.

Loaded with the first request that carries a body, like functions/bodies.py.
"""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field


class Body(BaseModel):
    """An office form's body: a field it does not know is refused (400), so a misspelt field never does
    nothing silently; functions/admin_openapi.yaml says `additionalProperties: false`."""

    model_config = ConfigDict(extra="forbid")


LINE = r"^[^\x00-\x1f\x7f-\x9f]*$"
"""A line of text people type (a name, a holder, a reason): no control characters, which could hide text or
break a row in an export."""
ID = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$"
"""The shape of an id (domain.ids): an id of another shape could never be named in a route."""
KEY = r"^[A-Za-z0-9_-]{8,64}$"
"""A form's idempotency key (handlers.office_keys): a UUID, say."""


class LoginBody(Body):
    email: str = Field(min_length=3, max_length=254)
    password: str = Field(min_length=1, max_length=256)


class PolicyBody(Body):
    name: str | None = Field(default=None, max_length=100, pattern=LINE)
    timezone: str | None = Field(default=None, max_length=64, pattern=LINE)
    quota: int | None = Field(default=None, ge=0)
    mode: Literal["continuous", "calendar_month"] | None = None
    max_until: date | None = None
    max_months_ahead: int | None = Field(default=None, ge=1, le=120)
    online_renewal: bool | None = None
    approval: Literal["auto", "manual"] | None = None
    pay_within_days: int | None = Field(default=None, ge=1, le=90)
    auto_pay_within_days: int | None = Field(default=None, ge=1, le=90)
    open_applications_per_owner: int | None = Field(default=None, ge=1, le=20)
    pause_allowed: bool | None = None
    pause_min_days: int | None = Field(default=None, ge=1, le=366)
    pause_max_days: int | None = Field(default=None, ge=1, le=366)
    pauses_per_year: int | None = Field(default=None, ge=0, le=12)
    pause_needs_approval: bool | None = None
    max_plates: int | None = Field(default=None, ge=1, le=5)
    plate_changes_per_month: int | None = Field(default=None, ge=0, le=10)
    grace_days: int | None = Field(default=None, ge=0, le=31)
    reminder_offsets: list[int] | None = Field(default=None, max_length=5)
    reminder_hour: int | None = Field(default=None, ge=0, le=23)
    invoice_provider: Literal["simulator", "manual"] | None = None
    clear_max_until: bool = False
    clear_max_months_ahead: bool = False
    reason: str | None = Field(default=None, max_length=200, pattern=LINE)
    idempotency_key: str | None = Field(default=None, min_length=8, max_length=64)


class NewLotBody(PolicyBody):
    id: str = Field(min_length=1, max_length=64, pattern=ID)
    name: str = Field(min_length=1, max_length=100, pattern=LINE)  # type: ignore[assignment]


class PackageBody(Body):
    id: str = Field(min_length=1, max_length=64, pattern=ID)
    name: str = Field(min_length=1, max_length=50, pattern=LINE)
    unit: Literal["months", "days"] = "months"
    count: int = Field(default=1, ge=1, le=3660)
    price_fen: int = Field(gt=0, le=100_000_000)
    enabled: bool = True
    position: int = Field(default=0, ge=0, le=1000)
    idempotency_key: str | None = Field(default=None, min_length=8, max_length=64)


class ReasonBody(Body):
    reason: str = Field(min_length=1, max_length=200, pattern=LINE)
    idempotency_key: str | None = Field(default=None, min_length=8, max_length=64)
    """The office form's key, made when it opened: the same form sent twice is done once."""


class KeyBody(Body):
    """An action with nothing to say but its form's key (approve)."""

    idempotency_key: str | None = Field(default=None, min_length=8, max_length=64)


class PackageChangeBody(Body):
    """What changes of a package; what is left out stays."""

    name: str | None = Field(default=None, min_length=1, max_length=50, pattern=LINE)
    price_fen: int | None = Field(default=None, gt=0, le=100_000_000)
    enabled: bool | None = None
    position: int | None = Field(default=None, ge=0, le=1000)
    idempotency_key: str | None = Field(default=None, min_length=8, max_length=64)


class PasswordBody(Body):
    password: str = Field(min_length=1, max_length=256)
    idempotency_key: str | None = Field(default=None, min_length=8, max_length=64)


class RoleBody(Body):
    role: Literal["tenant_admin", "lot_manager", "cashier", "collector"]
    lots: list[str] = Field(default_factory=list, max_length=100)
    idempotency_key: str | None = Field(default=None, min_length=8, max_length=64)


class FixBody(Body):
    valid_until: date | None = None
    holder: str | None = Field(default=None, max_length=50, pattern=LINE)
    state: Literal["active", "expired", "cancelled"] | None = None
    """Kept for older clients: `cancelled` cancels, `active` restores a cancelled card (their own routes)."""
    reason: str = Field(min_length=1, max_length=200, pattern=LINE)
    idempotency_key: str | None = Field(default=None, min_length=8, max_length=64)


class PaymentBody(Body):
    package_id: str = Field(min_length=1, max_length=64, pattern=ID)
    channel: Literal["cash", "pos", "transfer"]
    idempotency_key: str = Field(min_length=8, max_length=64, pattern=KEY)


class StaffBody(Body):
    email: str = Field(min_length=3, max_length=254)
    password: str = Field(min_length=1, max_length=256)
    role: Literal["tenant_admin", "lot_manager", "cashier", "collector"]
    lots: list[str] = Field(default_factory=list, max_length=100)
    idempotency_key: str | None = Field(default=None, min_length=8, max_length=64)


class IdempotentBody(Body):
    """An action whose form carries one idempotency key from when it opened: a second click does it once."""

    idempotency_key: str = Field(min_length=8, max_length=64, pattern=KEY)


class ImportBody(Body):
    first_row: int = Field(ge=1)
    rows: list[dict[str, str]] = Field(max_length=1000)


# --- property fees: amounts in fen, areas, readings and rates as decimal strings (never floats)
DECIMAL = r"^[0-9]{1,9}(\.[0-9]{1,2})?$"
RATE = r"^[0-9](\.[0-9]{1,6})?$"


class CommunityBody(Body):
    id: str = Field(pattern=ID)
    name: str = Field(min_length=1, max_length=100, pattern=LINE)
    lot_ids: list[str] = Field(default_factory=list, max_length=50)


class UnitBody(Body):
    id: str = Field(pattern=ID)
    building: str = Field(min_length=1, max_length=30, pattern=LINE)
    number: str = Field(min_length=1, max_length=30, pattern=LINE)
    area: str = Field(pattern=DECIMAL)
    state: Literal["occupied", "vacant", "undelivered"] = "occupied"
    phones: list[str] = Field(default_factory=list, max_length=5)


class BandBody(Body):
    up_to: str | None = Field(pattern=DECIMAL)
    price_fen: int = Field(ge=0, le=10_000_000)


class LateFeeBody(Body):
    daily_rate: str = Field(pattern=RATE)
    grace_days: int = Field(ge=0, le=365)
    cap: str = Field(pattern=RATE)


class FeeItemBody(Body):
    id: str = Field(pattern=ID)
    name: str = Field(min_length=1, max_length=50, pattern=LINE)
    kind: Literal["area", "fixed", "metered"]
    price_fen: int | None = Field(default=None, ge=0, le=10_000_000)
    meter: str | None = Field(default=None, min_length=1, max_length=20, pattern=ID)
    bands: list[BandBody] | None = Field(default=None, min_length=1, max_length=10)
    cycle_months: Literal[1, 3, 6, 12] = 1
    due_day: int | None = Field(default=None, ge=1, le=31)
    late_fee: LateFeeBody | None = None
    vacancy_rate: str | None = Field(default=None, pattern=RATE)
    category: Literal["property", "parking", "on_behalf"] | None = None
    from_: date = Field(alias="from")


class PriceBody(Body):
    from_: date = Field(alias="from")
    price_fen: int | None = Field(default=None, ge=0, le=10_000_000)
    bands: list[BandBody] | None = Field(default=None, min_length=1, max_length=10)


class SharedBody(Body):
    split: Literal["area", "equal"]
    unit_ids: list[str] = Field(min_length=1, max_length=2000)
    sub_meter_ids: list[str] = Field(default_factory=list, max_length=2000)


class MeterBody(Body):
    id: str = Field(pattern=ID)
    kind: str = Field(min_length=1, max_length=20, pattern=ID)
    unit_id: str | None = Field(default=None, pattern=ID)
    shared: SharedBody | None = None
    digits: int | None = Field(default=None, ge=3, le=10)
    """The register's whole digits: a rollover reading is counted from them."""


class ReadingBody(Body):
    date: date
    reading: str = Field(pattern=DECIMAL)
    kind: Literal["normal", "replacement", "rollover"] = "normal"
    old_final: str | None = Field(default=None, pattern=DECIMAL)


class BillRunBody(Body):
    period: str = Field(pattern=r"^[0-9]{4}-[0-9]{2}$")
    fee_item_ids: list[str] = Field(min_length=1, max_length=50)


class BillLineBody(Body):
    kind: Literal["base", "band", "shared", "vacancy"]
    text: str = Field(min_length=1, max_length=100, pattern=LINE)
    amount_fen: int = Field(ge=-10_000_000, le=10_000_000)


class CancelBillBody(Body):
    reason: str = Field(min_length=1, max_length=200, pattern=LINE)
    reissue: list[BillLineBody] | None = Field(default=None, min_length=1, max_length=20)
    """Set: a new bill with these lines replaces the cancelled one (a draft, published with its run)."""


class VacancyBody(Body):
    from_: date = Field(alias="from")
    until: date
    reason: str = Field(min_length=1, max_length=200, pattern=LINE)
    idempotency_key: str | None = Field(default=None, min_length=8, max_length=64, pattern=KEY)


class BillPaymentBody(Body):
    bill_ids: list[str] = Field(min_length=1, max_length=50)
    channel: Literal["cash", "pos", "transfer"]
    idempotency_key: str = Field(min_length=8, max_length=64, pattern=KEY)


class NightBody(Body):
    from_: str = Field(alias="from", pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    until: str = Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    price_fen: int = Field(ge=0, le=1_000_000)


class VisitorFeeBody(Body):
    from_: date = Field(alias="from")
    free_minutes: int = Field(ge=0, le=24 * 60)
    period_minutes: int = Field(ge=1, le=24 * 60)
    price_fen: int = Field(ge=0, le=1_000_000)
    cap_fen_per_24h: int | None = Field(default=None, ge=0, le=10_000_000)
    night: NightBody | None = None


class SpacesBody(Body):
    total: int | None = Field(default=None, ge=0, le=1_000_000)
    visitor: int | None = Field(default=None, ge=0, le=1_000_000)


class BarrierPolicyBody(Body):
    expired_card: Literal["refuse", "visitor"] = "visitor"
    unpaid_visit: Literal["refuse", "remind"] = "remind"
    property_arrears: Literal["remind"] = "remind"
    """Only `remind`: property-fee arrears never stop a car (Civil Code art. 944)."""
    leave_minutes: int = Field(default=15, ge=1, le=120)
    guests_per_month: int | None = Field(default=None, ge=0, le=100)


class PassBody(Body):
    plate: str = Field(min_length=1, max_length=32)
    reason: str = Field(min_length=1, max_length=200, pattern=LINE)
    until: date | None = None
    idempotency_key: str | None = Field(default=None, pattern=KEY)


class BlacklistBody(Body):
    plate: str = Field(min_length=1, max_length=32)
    reason: str = Field(min_length=1, max_length=200, pattern=LINE)
    idempotency_key: str | None = Field(default=None, pattern=KEY)


class LiftBody(Body):
    reason: str = Field(min_length=1, max_length=200, pattern=LINE)
    idempotency_key: str | None = Field(default=None, pattern=KEY)


class CountBody(Body):
    inside: int = Field(ge=0, le=1_000_000)
    visitors: int = Field(ge=0, le=1_000_000)
    reason: str = Field(min_length=1, max_length=200, pattern=LINE)
    idempotency_key: str | None = Field(default=None, pattern=KEY)


class WindowBody(Body):
    weekday: int = Field(ge=0, le=6)
    from_: str = Field(alias="from", pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    until: str = Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$")


class BuildingBody(Body):
    name: str = Field(min_length=1, max_length=40, pattern=LINE)
    x_m: float = Field(ge=-100_000, le=100_000)
    y_m: float = Field(ge=-100_000, le=100_000)


class OriginBody(Body):
    """Where the buildings' x/y are measured from, on the map: a door's check-in is compared with its building."""

    latitude: float = Field(ge=-90, le=90)
    longitude: float = Field(ge=-180, le=180)


class CollectionHoursBody(Body):
    windows: list[WindowBody] = Field(min_length=1, max_length=50)
    slot_minutes: int = Field(default=30, ge=5, le=240)
    visits_per_slot: int = Field(default=2, ge=1, le=50)
    change_until_hours: int = Field(default=2, ge=0, le=72)
    buildings: list[BuildingBody] = Field(default_factory=list, max_length=500)
    origin: OriginBody | None = None


class AssignBody(Body):
    collector: str = Field(min_length=3, max_length=254)


class CheckInBody(Body):
    """The browser's geolocation at the door: where, how sure (metres), when."""

    latitude: float = Field(ge=-90, le=90)
    longitude: float = Field(ge=-180, le=180)
    accuracy_m: float = Field(ge=0, le=100_000)
    at: AwareDatetime


class DoorCashBody(Body):
    amount_fen: int = Field(ge=1, le=100_000_000)
    check_in: CheckInBody
    signature_png: str = Field(min_length=100, max_length=280_000, pattern=r"^[A-Za-z0-9+/=]+$")
    """The owner's signature drawn on the screen: a PNG, base64."""
    idempotency_key: str = Field(pattern=KEY)


class DoorQrBody(Body):
    channel: Literal["wechat", "alipay"]
    check_in: CheckInBody
    signature_png: str = Field(min_length=100, max_length=280_000, pattern=r"^[A-Za-z0-9+/=]+$")
    idempotency_key: str = Field(pattern=KEY)


class NotHomeBody(Body):
    reason: str = Field(min_length=1, max_length=100, pattern=LINE)
    check_in: CheckInBody | None = None


class HandoverBody(Body):
    collector: str = Field(min_length=3, max_length=254)
    counted_fen: int = Field(ge=0, le=100_000_000)
    expected_fen: int | None = Field(default=None, ge=0, le=100_000_000)
    """What the cashier was shown the collector holds: if it moved since, count again (409 custody_changed)."""
    idempotency_key: str = Field(pattern=KEY)
