"""Domain failures. Each has a stable `code` that the API returns verbatim.

The category base classes (NotFound, InvalidInput, Conflict) let the HTTP edge
choose a status without knowing every error.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from domain.messages import MESSAGES, text

if TYPE_CHECKING:  # errors that show what is there already; those modules import this one
    from domain.invoice import Invoice
    from domain.order import Order


class DomainError(Exception):
    """A failure with a stable code and a message key into domain.messages (zh-CN and English).

    `key` names the message (the code itself when one message says it all); `params` fill it in.
    str(error) and `message` are the English text, for logs and tests; people read `text(lang)`.
    """

    code: str = "domain_error"

    def __init__(self, key: str | None = None, /, **params: object) -> None:
        self.key = key or self.code
        self.params = params
        super().__init__(self.message)

    @property
    def message(self) -> str:
        return text(self.key, "en", self.params)

    def text(self, lang: str) -> str:
        return text(self.key, lang, self.params)


class NotFound(DomainError):
    code = "not_found"


class InvalidInput(DomainError):
    code = "invalid_input"


class Conflict(DomainError):
    code = "conflict"


class Unauthenticated(DomainError):
    """Who is asking is unknown or unproven: the caller must log in (again)."""

    code = "unauthenticated"


class GateClockSkew(Unauthenticated):
    """A gate's signature is right but its time is outside the window: it corrects its clock by the
    server's time (answered with the error) and signs again, as AWS SigV4's RequestTimeTooSkewed."""

    code = "gate_clock_skew"

    def __init__(self, server_time: int, window_s: int) -> None:
        self.server_time = server_time
        super().__init__(window=window_s)


class TokenExpired(Unauthenticated):
    code = "token_expired"


class TokenInvalid(Unauthenticated):
    code = "token_invalid"


class SessionEnded(Unauthenticated):
    """The session the token belongs to was ended (a logout, a reuse, a new password, a disabled account)."""

    code = "session_ended"

    def __init__(self) -> None:
        super().__init__()


class RefreshTokenReused(Unauthenticated):
    """A refresh token presented after it was used: its whole session ends (a theft signal)."""

    code = "refresh_token_reused"

    def __init__(self) -> None:
        super().__init__()


class UpstreamUnavailable(DomainError):
    """A provider we depend on failed; the request may succeed if tried again."""

    code = "upstream_unavailable"


class InvalidId(InvalidInput):
    code = "invalid_id"


class LotNotFound(NotFound):
    code = "lot_not_found"

    def __init__(self, lot_id: str) -> None:
        super().__init__(lot_id=lot_id)


class PackageNotFound(NotFound):
    code = "package_not_found"

    def __init__(self, package_id: str) -> None:
        super().__init__(package_id=package_id)


class CardNotFound(NotFound):
    code = "card_not_found"

    def __init__(self, card_id: str) -> None:
        super().__init__(card_id=card_id)


class StaleCard(Conflict):
    """Someone else changed the card since it was read (optimistic locking)."""

    code = "card_changed"

    def __init__(self, card_id: str) -> None:
        super().__init__(card_id=card_id)


class InvalidLot(InvalidInput):
    code = "invalid_lot"


class InvalidPackage(InvalidInput):
    code = "invalid_package"


class InvalidCard(InvalidInput):
    code = "invalid_card"


class InvalidPlate(InvalidInput):
    code = "invalid_plate"


class LoginCodeInvalid(InvalidInput):
    code = "login_code_invalid"

    def __init__(self) -> None:
        super().__init__()


class LoginCodeUsed(InvalidInput):
    code = "login_code_used"

    def __init__(self) -> None:
        super().__init__()


class PhoneCodeInvalid(InvalidInput):
    code = "phone_code_invalid"

    def __init__(self) -> None:
        super().__init__()


class WechatUnavailable(UpstreamUnavailable):
    code = "wechat_unavailable"

    def __init__(self) -> None:
        super().__init__()


class VehicleNotFound(NotFound):
    code = "vehicle_not_found"

    def __init__(self) -> None:
        super().__init__()


class TooManyVehicles(Conflict):
    code = "too_many_vehicles"


class TooManyApplications(Conflict):
    """An owner already has the lot's allowance of applications in review, waiting or unpaid."""

    code = "too_many_applications"


class PlateOnCard(Conflict):
    code = "plate_on_card"


class PlateTaken(Conflict):
    """Inside one lot a plate is on one card only, so it belongs to one owner at a time."""

    code = "plate_taken"

    def __init__(self, plate: str) -> None:
        super().__init__(plate=plate)
        self.plate = plate


class OrderNotFound(NotFound):
    code = "order_not_found"

    def __init__(self, order_id: str) -> None:
        super().__init__(order_id=order_id)


class RenewalNotAllowed(Conflict):
    """The quote forbids this renewal; the code is the quote's reason (e.g. exceeds_max_renewal_date)."""

    code = "renewal_not_allowed"

    def __init__(self, reason: str, limit: object = None) -> None:
        self.code = reason
        super().__init__(reason, limit=limit)


class UnpaidOrderExists(Conflict):
    code = "unpaid_order_exists"

    def __init__(self, order_id: str) -> None:
        super().__init__(order_id=order_id)
        self.order_id = order_id


class OrderPaid(Conflict):
    """An order that is paid (perhaps just now: a cancel found it paid at the provider) is not cancelled."""

    code = "order_paid"

    def __init__(self, order_id: str, valid_until: str) -> None:
        super().__init__(order_id=order_id, valid_until=valid_until)
        self.order: Order | None = None
        """The order as it is now (the answer shows it)."""


class OrderRefundedAlready(Conflict):
    """A refunded order is not cancelled: it was paid, and the money went back."""

    code = "order_refunded"

    def __init__(self, order_id: str) -> None:
        super().__init__(order_id=order_id)
        self.order: Order | None = None


class InvoiceAlreadyRequested(Conflict):
    """An order has one invoice: asking again with other details answers what was asked for first."""

    code = "invoice_already_requested"

    def __init__(self, order_id: str, title: str) -> None:
        super().__init__(order_id=order_id, title=title)
        self.invoice: Invoice | None = None


class PaymentRejected(InvalidInput):
    """A payment notice we will not act on: forged, stale, or not matching its order (a security event)."""

    code = "payment_rejected"


class PaymentUnavailable(UpstreamUnavailable):
    code = "payment_unavailable"

    def __init__(self) -> None:
        super().__init__()


class StaleLot(Conflict):
    """Another change took the lot's next entitlement version first; read the lot again."""

    code = "lot_changed"

    def __init__(self, lot_id: str) -> None:
        super().__init__(lot_id=lot_id)


class LotFull(Conflict):
    """Every place the lot sells as monthly cards is held."""

    code = "lot_full"

    def __init__(self, lot_id: str) -> None:
        super().__init__(lot_id=lot_id)


class OrderKeyUsed(Conflict):
    """An order was made with this idempotency key before: that order is the answer (never reaches the API)."""

    code = "order_key_used"


class CardExists(Conflict):
    """A card with this id exists already (an import run again, an approval decided twice)."""

    code = "card_exists"

    def __init__(self, card_id: str) -> None:
        super().__init__(card_id=card_id)
        self.card_id = card_id


class CardClaimed(Conflict):
    """The card was claimed by its owner already (or was never the office's to hand over)."""

    code = "card_claimed"

    def __init__(self, card_id: str) -> None:
        super().__init__(card_id=card_id)


class ClaimCodeInvalid(InvalidInput):
    """No card waits for this claim code (mistyped, or its card was claimed already)."""

    code = "claim_code_invalid"

    def __init__(self) -> None:
        super().__init__()


class ClaimCodeLocked(Conflict):
    """Too many wrong tries against this card's code: the office prints a new one."""

    code = "claim_code_locked"

    def __init__(self) -> None:
        super().__init__()


class OrderSettled(Conflict):
    """The order was already paid (or refunded) by someone else: nothing more to do."""

    code = "order_settled"

    def __init__(self, order_id: str) -> None:
        super().__init__(order_id=order_id)


class InvalidPause(InvalidInput):
    """The pause's dates themselves are wrong (starts too early, ends before it starts)."""

    code = "invalid_pause"


class PauseRefused(Conflict):
    """The lot's pause policy or the card's state does not allow this pause now."""

    code = "pause_refused"


class PlateChangeRefused(Conflict):
    code = "plate_change_refused"


class ApplicationNotFound(NotFound):
    code = "application_not_found"

    def __init__(self, application_id: str) -> None:
        super().__init__(application_id=application_id)


class ApplicationClosed(Conflict):
    """The application was already decided the other way (or lapsed): nothing to approve or reject."""

    code = "application_closed"


class PauseNotFound(NotFound):
    code = "pause_not_found"

    def __init__(self, pause_id: str) -> None:
        super().__init__(pause_id=pause_id)


class InvalidTaxId(InvalidInput):
    """A company invoice needs a well-formed unified social credit code; the message says which part is wrong."""

    code = "invalid_tax_id"


class InvalidInvoice(InvalidInput):
    code = "invalid_invoice"


class InvoiceRefused(Conflict):
    """The order cannot be invoiced (not paid, refunded) or the invoice cannot take this step."""

    code = "invoice_refused"


class InvoiceNotFound(NotFound):
    code = "invoice_not_found"

    def __init__(self, order_id: str) -> None:
        super().__init__(order_id=order_id)


class ReceiptNotFound(NotFound):
    code = "receipt_not_found"

    def __init__(self, receipt_id: str) -> None:
        super().__init__(receipt_id=receipt_id)


class InvoiceProviderUnavailable(UpstreamUnavailable):
    code = "invoice_provider_unavailable"

    def __init__(self) -> None:
        super().__init__()


class Forbidden(DomainError):
    """Signed in, in scope, but the role does not allow it (a cashier changing a policy)."""

    code = "forbidden"


class LoginFailed(Unauthenticated):
    code = "login_failed"

    def __init__(self) -> None:
        super().__init__()


class RateLimited(DomainError):
    """Too many requests from one caller to a guarded route in a short time."""

    code = "rate_limited"

    def __init__(self, retry_after_s: int) -> None:
        super().__init__(retry_after_s=retry_after_s)
        self.retry_after_s = retry_after_s


class RecordedAlready(Conflict):
    """An office form's idempotency key was taken already: its action was done once; answer what it did."""

    def __init__(self) -> None:
        super().__init__("recorded_already")


class WeakPassword(InvalidInput):
    """A password an office account may not have (too short, one kind of character, common...)."""

    code = "weak_password"


class EmailUnavailable(Conflict):
    """This email cannot be the login of a new account. Logins are unique across every property company, so
    the answer is the same whoever holds it: it never tells that, or whether, another company has it."""

    code = "staff_email_unavailable"

    def __init__(self) -> None:
        super().__init__()


class BillNotFound(NotFound):
    """A bill, unit, community, fee item, meter, run or vacancy that is not there (or not the caller's)."""

    code = "bill_not_found"

    def __init__(self, what: str, id: str) -> None:
        key = f"{what}_not_found"
        super().__init__(key if key in MESSAGES else "bill_not_found", id=id)


class BillNotPayable(Conflict):
    """The bill is not unpaid any more (paid, cancelled, refunded) or not published yet."""

    code = "bill_not_payable"

    def __init__(self, bill_id: str) -> None:
        super().__init__(bill_id=bill_id)


class BillInOrder(Conflict):
    """The bill is in another order still waiting for payment."""

    code = "bill_in_order"

    def __init__(self, bill_id: str) -> None:
        super().__init__(bill_id=bill_id)


class RunStillDrafting(Conflict):
    """A run in chunks is published only once every chunk is drafted (the office reviews the whole run)."""

    code = "run_still_drafting"

    def __init__(self, run_id: str, drafted: int, chunks: int) -> None:
        super().__init__(run_id=run_id, drafted=drafted, chunks=chunks)


class BillChanged(Conflict):
    """The bill (or the unit's balance) changed since it was read: read again."""

    code = "bill_changed"

    def __init__(self, bill_id: str) -> None:
        super().__init__(bill_id=bill_id)


class BalanceTooLow(Conflict):
    code = "balance_too_low"

    def __init__(self, unit_id: str) -> None:
        super().__init__(unit_id=unit_id)


class BillingExists(Conflict):
    """A community, unit, fee item, meter or reading with this id (or date) is there already."""

    code = "billing_exists"

    def __init__(self, id: str) -> None:
        super().__init__(id=id)


class StaleVisit(Conflict):
    """A plate's stay, its visit or the lot's count of cars changed since it was read: read and decide again."""

    code = "visit_changed"

    def __init__(self, lot_id: str) -> None:
        super().__init__(lot_id=lot_id)


class VisitNotFound(NotFound):
    code = "visit_not_found"

    def __init__(self, what: str) -> None:
        super().__init__(what=what)


class VisitOrderNotFound(NotFound):
    """A visit order that is not there, or not the caller's."""

    code = "visit_not_found"

    def __init__(self, what: str) -> None:
        super().__init__("visit_order_not_found", what=what)


class VisitInOrder(Conflict):
    """Another order of the visit waits for payment."""

    code = "visit_in_order"

    def __init__(self, visit_id: str) -> None:
        super().__init__(visit_id=visit_id)


class NothingToPay(Conflict):
    """The visit is paid (and nothing else is owed): the car may leave."""

    code = "visit_paid"

    def __init__(self, visit_id: str) -> None:
        super().__init__(visit_id=visit_id)


class GuestLimit(Conflict):
    """The owner registered as many guests this month as the lot allows."""

    code = "guest_limit"

    def __init__(self, most: int) -> None:
        super().__init__(most=most)


class GuestNotAllowed(Forbidden):
    """Only a card holder of the lot, or an owner of a unit of its community, registers guests there."""

    def __init__(self) -> None:
        super().__init__("guest_not_allowed")


class PassNotFound(NotFound):
    code = "pass_not_found"

    def __init__(self, plate: str) -> None:
        super().__init__(plate=plate)


class SlotFull(Conflict):
    """Every visit of the slot is booked."""

    code = "slot_full"

    def __init__(self, slot: str) -> None:
        super().__init__(slot=slot)


class BookingChanged(Conflict):
    """The booking changed since it was read (collected, cancelled, assigned): read again."""

    code = "booking_changed"

    def __init__(self, booking_id: str) -> None:
        super().__init__(booking_id=booking_id)


class CustodyChanged(Conflict):
    """The collector's cash in hand moved since it was read (another handover, a collection): count again."""

    code = "custody_changed"

    def __init__(self, collector: str) -> None:
        super().__init__(collector=collector)


class BookingNotFound(NotFound):
    code = "booking_not_found"

    def __init__(self, booking_id: str) -> None:
        super().__init__(booking_id=booking_id)
