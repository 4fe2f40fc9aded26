"""What the mini-program, the gates and the providers may send: the request bodies, checked by pydantic.

The route modules reach these through `lazy_module`, so pydantic (about a
quarter of the API's import time) loads with the first request that carries a
body, not at every cold start: a gate's sync or an owner's card list never
pays for it. openapi.yaml describes the same shapes for the client.
"""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field


class LoginBody(BaseModel):
    code: str = Field(min_length=1, max_length=128)


class RefreshBody(BaseModel):
    refresh_token: str = Field(min_length=1, max_length=512)


class PhoneBody(BaseModel):
    code: str = Field(min_length=1, max_length=128)


class ClaimBody(BaseModel):
    code: str = Field(min_length=1, max_length=32)
    """The claim code on the slip the office printed (7KQ2-MX4P9D; case, spaces and dashes do not matter)."""


class VehicleBody(BaseModel):
    plate: str = Field(min_length=1, max_length=32)


class RenewalBody(BaseModel):
    package_id: str = Field(min_length=1, max_length=64)
    channel: Literal["wechat", "alipay"]
    idempotency_key: str = Field(min_length=8, max_length=64)


class RemindersBody(BaseModel):
    enabled: bool
    channel: Literal["subscribe", "official_account"] = "subscribe"


class ConsentBody(BaseModel):
    template_id: str = Field(min_length=1, max_length=64)
    accepted: bool


class InvoiceBody(BaseModel):
    type: Literal["personal", "company"]
    title: str = Field(min_length=1, max_length=100)
    tax_id: str | None = Field(default=None, max_length=32)
    email: str = Field(min_length=3, max_length=254)
    phone: str | None = Field(default=None, max_length=24)


PlateText = Field(min_length=1, max_length=32)


class ApplicationBody(BaseModel):
    plates: list[str] = Field(min_length=1, max_length=5)
    package_id: str = Field(min_length=1, max_length=64)
    note: str = Field(default="", max_length=200)


class PauseBody(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    starts: date = Field(alias="from")
    until: date | None = None


class PlateBody(BaseModel):
    plate: str = PlateText


class PlateChangeBody(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    old: str = Field(alias="from", min_length=1, max_length=32)
    new: str = Field(alias="to", min_length=1, max_length=32)


class PassageBody(BaseModel):
    plate: str = PlateText
    direction: Literal["in", "out"]
    at: AwareDatetime
    event_id: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_-]{1,64}$")
    """The gate's own id of the event (a gate from before sends none: one is made from the report)."""
    opened: bool | None = None
    """Sent when the gate reports a passage after the fact (it was offline): whether it let the car through."""
    photo: str | None = Field(default=None, max_length=256, pattern=r"^[^\x00-\x1f\x7f]*$")
    """The gate's own reference to its picture of the car."""


class VisitPaymentBody(BaseModel):
    channel: Literal["wechat", "alipay"]
    idempotency_key: str = Field(min_length=8, max_length=64)


class BookingBody(BaseModel):
    slot: AwareDatetime
    bill_ids: list[str] = Field(default_factory=list, max_length=50)
    notes: str = Field(default="", max_length=200, pattern=r"^[^\x00-\x1f\x7f]*$")
    idempotency_key: str = Field(min_length=8, max_length=64)


class BookingChangeBody(BaseModel):
    slot: AwareDatetime
    notes: str | None = Field(default=None, max_length=200, pattern=r"^[^\x00-\x1f\x7f]*$")


class GuestBody(BaseModel):
    lot_id: str = Field(min_length=1, max_length=64)
    plate: str = PlateText
    day: date


class BillPaymentBody(BaseModel):
    bill_ids: list[str] = Field(min_length=1, max_length=50)
    channel: Literal["wechat", "alipay"]
    idempotency_key: str = Field(min_length=8, max_length=64)


class PrepaymentBody(BaseModel):
    amount_fen: int = Field(ge=1, le=10_000_000)
    channel: Literal["wechat", "alipay"]
    idempotency_key: str = Field(min_length=8, max_length=64)


class VacancyBody(BaseModel):
    from_: date = Field(alias="from")
    until: date
    reason: str = Field(min_length=1, max_length=200)
    idempotency_key: str = Field(min_length=8, max_length=64)
