"""Telling an owner something outside a reminder: the same channels, one message each."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from handlers.ports import Consents, Messenger, OwnerRepository, SendFailed

log = logging.getLogger("parkpass.notify")


@dataclass(frozen=True)
class Notices:
    owners: OwnerRepository
    consents: Consents
    messenger: Messenger
    template_id: str


def notify_owner(owner_id: str, data: dict[str, dict[str, str]], page: str, notices: Notices) -> bool:
    """A subscribe message if the owner gave a consent for it, else the official account; True if one went out.

    A failed send is logged and dropped: the owner also sees the news in the mini-program.
    """
    owner = notices.owners.get(owner_id)
    if owner is None:
        return False
    try:
        if notices.consents.spend(owner.id, notices.template_id):
            notices.messenger.send_subscribe(owner.openid, notices.template_id, data, page)
        elif owner.oa_openid:
            notices.messenger.send_template(owner.oa_openid, notices.template_id, data, page)
        else:
            return False
    except SendFailed as e:
        log.warning("notice to an owner not sent: %s", e)
        return False
    return True
