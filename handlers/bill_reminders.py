"""Bill reminders: a tick sends those fallen due, each once, to the owners of the bill's unit (the owners whose
verified phone the office entered for it), while the bill is unpaid; a paid or cancelled bill's are skipped.

Like expiry reminders: found by the day they fall due (a query per shard of the day, never a scan) and handed to the
work queue; a consumer claims each with a conditional write under a lease before sending, and sends it by subscribe
message (with the owner's consent) or official-account template."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from domain.bill_payment import payable
from domain.bill_reminder import VISIT_NOTICE, VISIT_OFFSET, BillReminder, reminder_text, worth_sending
from domain.bill_run import Unit
from domain.collection import BookingState
from domain.labels import local_time
from domain.money import yuan_text
from domain.owner import Owner
from handlers.ports import (
    Billing,
    CollectionRecords,
    Consents,
    Messenger,
    OwnerRepository,
    RateLimited,
    Sealer,
    SendFailed,
)
from handlers.reminders import LOOK_BACK, Outcome, TickReport

BILL_TEMPLATE = "sim-bill"
"""The local simulator's bill template id; deployments set PARKPASS_BILL_TEMPLATE."""
BILLS_PAGE = "pages/bills/index"
COLLECTION_TEMPLATE = "sim-collection"
COLLECTION_PAGE = "pages/collection/index"
log = logging.getLogger("parkpass.reminders")


@dataclass(frozen=True)
class BillReminding:
    billing: Billing
    owners: OwnerRepository
    sealer: Sealer
    consents: Consents
    messenger: Messenger
    template_id: str = BILL_TEMPLATE
    bookings: CollectionRecords | None = None
    """Where a collector's visits are (their owners are reminded an hour before)."""
    visit_template: str = COLLECTION_TEMPLATE

    def due(self, at: datetime) -> list[BillReminder]:
        """What a tick finds: the bill reminders of the look-back still to send."""
        return [r for r, state in self.billing.due_bill_reminders(at - LOOK_BACK, at) if state == "pending"]

    def send_due(self, at: datetime) -> TickReport:
        """Find and send in one go, in this process (the deployed tick hands them to the work queue instead)."""
        report = TickReport()
        for reminder in self.due(at):
            report.add(reminder.key, self.send(reminder, at))
        return report

    def send(self, reminder: BillReminder, at: datetime) -> Outcome:
        """Send one, once however often it is asked."""
        if not self.billing.claim_bill_reminder(reminder, at):
            return Outcome.BUSY if self.billing.bill_reminder_held(reminder, at) else Outcome.DONE
        if at - reminder.due_at > LOOK_BACK:  # a message redriven or kept a day: its text would be untrue now
            self.billing.finish_bill_reminder(reminder, "skipped")
            return Outcome.SKIPPED
        if reminder.offset == VISIT_OFFSET:
            return self._send_visit(reminder, at)
        return self._send_bill(reminder)

    def owners_of(self, unit_id: str) -> list[str]:
        """The owners whose verified phone is one the office entered for the unit."""
        unit = self.billing.unit(unit_id)
        return [owner.id for owner in self._owners_of(unit)] if unit is not None else []

    def _owners_of(self, unit: Unit) -> list[Owner]:
        """Found by the phones' last 4 digits, then by the phone's fingerprint: no number is read in the clear
        from the store."""
        found: dict[str, Owner] = {}
        for masked in unit.owners:
            for owner_id in sorted(self.owners.with_phone_ending(masked[-4:])):
                owner = found.get(owner_id) or self.owners.get(owner_id)
                if owner is None or owner.phone is None:
                    continue
                if unit.id in self.billing.units_of_phone(self.sealer.fingerprint(owner.phone, "phone")):
                    found[owner_id] = owner
        return list(found.values())

    def _send_bill(self, reminder: BillReminder) -> Outcome:
        bill, community, unit = self.billing.reminder_records(reminder.bill_id, reminder.community_id,
                                                               reminder.unit_id)  # fmt: skip
        if not worth_sending(bill):
            self.billing.finish_bill_reminder(reminder, "skipped")
            return Outcome.SKIPPED
        assert bill is not None
        found = self.billing.fee_item(bill.fee_item_id)
        where = (community.name if community else "", f"{unit.building}{unit.number}" if unit else "")
        place = " ".join(x for x in where if x)
        today = community.today(reminder.due_at) if community else reminder.due_at.date()
        owed = payable(bill, found[0].late_fee if found else None, today).total_fen  # the late fee of the day too
        data = {
            "thing1": {"value": place[:20]},
            "amount2": {"value": f"{yuan_text(owed)}元"},
            "date3": {"value": bill.due_date.isoformat()},
            "thing4": {"value": reminder_text(reminder)},
        }
        owners = self._owners_of(unit) if unit is not None else []
        if not owners:  # nobody bound the unit's phone yet: nobody to remind in the mini-program
            self.billing.finish_bill_reminder(reminder, "skipped")
            return Outcome.SKIPPED
        sent, spent_by = False, None
        try:
            for owner in owners:
                if self.consents.spend(owner.id, self.template_id):
                    spent_by = owner.id
                    self.messenger.send_subscribe(owner.openid, self.template_id, data, BILLS_PAGE)
                    spent_by, sent = None, True
                elif owner.oa_openid:
                    self.messenger.send_template(owner.oa_openid, self.template_id, data, BILLS_PAGE)
                    sent = True
        except RateLimited:
            if spent_by is not None:  # WeChat refused it untried: the owner's consent is still theirs
                self.consents.record(spent_by, self.template_id)
            if not sent:  # told to slow down before any owner had it: given back untried
                self.billing.finish_bill_reminder(reminder, "pending")
                return Outcome.SLOWED
            log.warning("bill reminder %s reached some of the unit's owners before WeChat slowed us", reminder.key)
        except SendFailed as e:
            log.warning("bill reminder %s not sent: %s", reminder.key, str(e)[:200])
            self.billing.finish_bill_reminder(reminder, "failed")
            return Outcome.FAILED
        self.billing.finish_bill_reminder(reminder, "sent" if sent else "failed")
        return Outcome.SENT if sent else Outcome.FAILED

    def _send_visit(self, reminder: BillReminder, at: datetime) -> Outcome:
        """An hour before a collector's visit, to the owner who booked it, while it is still on."""
        booking = self.bookings.booking(reminder.bill_id) if self.bookings is not None else None
        community = self.billing.community(reminder.community_id)
        owner = self.owners.get(booking.owner_id) if booking is not None else None
        # Only a visit a collector will make, and never once its slot has begun (a tick catching up).
        gone = booking is None or booking.state is not BookingState.ASSIGNED or reminder.due_at + VISIT_NOTICE <= at
        if gone or booking is None or owner is None or community is None:
            self.billing.finish_bill_reminder(reminder, "skipped")
            return Outcome.SKIPPED
        unit = self.billing.unit(booking.unit_id)
        data = {
            "thing1": {"value": (f"{community.name} {unit.building}{unit.number}" if unit else community.name)[:20]},
            "time2": {"value": local_time(booking.slot, community.timezone)},
            "thing3": {"value": "收费员一小时后上门"},
        }
        spent = False
        try:
            if self.consents.spend(owner.id, self.visit_template):
                spent = True
                self.messenger.send_subscribe(owner.openid, self.visit_template, data, COLLECTION_PAGE)
            elif owner.oa_openid:
                self.messenger.send_template(owner.oa_openid, self.visit_template, data, COLLECTION_PAGE)
            else:
                self.billing.finish_bill_reminder(reminder, "skipped")
                return Outcome.SKIPPED
        except RateLimited:
            if spent:
                self.consents.record(owner.id, self.visit_template)
            self.billing.finish_bill_reminder(reminder, "pending")
            return Outcome.SLOWED
        except SendFailed as e:
            log.warning("visit reminder %s not sent: %s", reminder.key, str(e)[:200])
            self.billing.finish_bill_reminder(reminder, "failed")
            return Outcome.FAILED
        self.billing.finish_bill_reminder(reminder, "sent")
        return Outcome.SENT
