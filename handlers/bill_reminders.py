"""Bill reminders: a tick sends those fallen due, each once, to the owners of the bill's unit (the owners whose
verified phone the office entered for it), while the bill is unpaid; a paid or cancelled bill's are skipped.

Like expiry reminders: read by the hour they fall due (a query per hour, never a scan), claimed with a conditional
write before sending, sent by subscribe message (with the owner's consent) or official-account template."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from domain.bill_payment import payable
from domain.bill_reminder import VISIT_NOTICE, VISIT_OFFSET, BillReminder, reminder_text, worth_sending
from domain.collection import BookingState
from domain.labels import local_time
from domain.money import yuan_text
from handlers.ports import Billing, CollectionRecords, Consents, Messenger, OwnerRepository, Sealer, SendFailed
from handlers.reminders import LOOK_BACK, TickReport

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

    def send_due(self, at: datetime) -> TickReport:
        report = TickReport()
        for reminder, state in self.billing.due_bill_reminders(at - LOOK_BACK, at):
            if state == "pending" and self.billing.claim_bill_reminder(reminder):
                self._send(reminder, report, at)
        return report

    def owners_of(self, unit_id: str) -> list[str]:
        """The owners whose verified phone is one the office entered for the unit (found by its last 4 digits,
        then by the phone's fingerprint: no number is read in the clear from the store)."""
        unit = self.billing.unit(unit_id)
        if unit is None:
            return []
        found = []
        for masked in unit.owners:
            for owner_id in sorted(self.owners.with_phone_ending(masked[-4:])):
                owner = self.owners.get(owner_id)
                if owner is None or owner.phone is None:
                    continue
                if unit.id in self.billing.units_of_phone(self.sealer.fingerprint(owner.phone, "phone")):
                    found.append(owner_id)
        return list(dict.fromkeys(found))

    def _send(self, reminder: BillReminder, report: TickReport, at: datetime) -> None:
        if reminder.offset == VISIT_OFFSET:
            self._send_visit(reminder, report, at)
            return
        bill = self.billing.bill(reminder.bill_id)
        if not worth_sending(bill):
            self.billing.finish_bill_reminder(reminder, "skipped")
            report.skipped.append(reminder.key)
            return
        assert bill is not None
        community = self.billing.community(bill.community_id)
        unit = self.billing.unit(bill.unit_id)
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
        owners = self.owners_of(bill.unit_id)
        if not owners:  # nobody bound the unit's phone yet: nobody to remind in the mini-program
            self.billing.finish_bill_reminder(reminder, "skipped")
            report.skipped.append(reminder.key)
            return
        sent = False
        try:
            for owner_id in owners:
                owner = self.owners.get(owner_id)
                if owner is None:
                    continue
                if self.consents.spend(owner.id, self.template_id):
                    self.messenger.send_subscribe(owner.openid, self.template_id, data, BILLS_PAGE)
                    sent = True
                elif owner.oa_openid:
                    self.messenger.send_template(owner.oa_openid, self.template_id, data, BILLS_PAGE)
                    sent = True
        except SendFailed as e:
            log.warning("bill reminder %s not sent: %s", reminder.key, str(e)[:200])
            self.billing.finish_bill_reminder(reminder, "failed")
            report.failed.append(reminder.key)
            return
        self.billing.finish_bill_reminder(reminder, "sent" if sent else "failed")
        (report.sent if sent else report.failed).append(reminder.key)

    def _send_visit(self, reminder: BillReminder, report: TickReport, at: datetime) -> None:
        """An hour before a collector's visit, to the owner who booked it, while it is still on."""
        booking = self.bookings.booking(reminder.bill_id) if self.bookings is not None else None
        community = self.billing.community(reminder.community_id)
        owner = self.owners.get(booking.owner_id) if booking is not None else None
        # Only a visit a collector will make, and never once its slot has begun (a tick catching up).
        gone = booking is None or booking.state is not BookingState.ASSIGNED or reminder.due_at + VISIT_NOTICE <= at
        if gone or booking is None or owner is None or community is None:
            self.billing.finish_bill_reminder(reminder, "skipped")
            report.skipped.append(reminder.key)
            return
        unit = self.billing.unit(booking.unit_id)
        data = {
            "thing1": {"value": (f"{community.name} {unit.building}{unit.number}" if unit else community.name)[:20]},
            "time2": {"value": local_time(booking.slot, community.timezone)},
            "thing3": {"value": "收费员一小时后上门"},
        }
        try:
            if self.consents.spend(owner.id, self.visit_template):
                self.messenger.send_subscribe(owner.openid, self.visit_template, data, COLLECTION_PAGE)
            elif owner.oa_openid:
                self.messenger.send_template(owner.oa_openid, self.visit_template, data, COLLECTION_PAGE)
            else:
                self.billing.finish_bill_reminder(reminder, "skipped")
                report.skipped.append(reminder.key)
                return
        except SendFailed as e:
            log.warning("visit reminder %s not sent: %s", reminder.key, str(e)[:200])
            self.billing.finish_bill_reminder(reminder, "failed")
            report.failed.append(reminder.key)
            return
        self.billing.finish_bill_reminder(reminder, "sent")
        report.sent.append(reminder.key)
