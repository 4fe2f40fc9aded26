"""Domain failures. Each has a stable `code` that the API returns verbatim.

The category base classes (NotFound, InvalidInput, Conflict) let the HTTP edge
choose a status without knowing every error.
"""

from __future__ import annotations


class DomainError(Exception):
    code: str = "domain_error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(DomainError):
    code = "not_found"


class InvalidInput(DomainError):
    code = "invalid_input"


class Conflict(DomainError):
    code = "conflict"


class InvalidId(InvalidInput):
    code = "invalid_id"


class LotNotFound(NotFound):
    code = "lot_not_found"

    def __init__(self, lot_id: str) -> None:
        super().__init__(f"no lot with id {lot_id!r}")


class PackageNotFound(NotFound):
    code = "package_not_found"

    def __init__(self, package_id: str) -> None:
        super().__init__(f"no package with id {package_id!r} in this lot")


class CardNotFound(NotFound):
    code = "card_not_found"

    def __init__(self, card_id: str) -> None:
        super().__init__(f"no card with id {card_id!r}")


class StaleCard(Conflict):
    """Someone else changed the card since it was read (optimistic locking)."""

    code = "card_changed"

    def __init__(self, card_id: str) -> None:
        super().__init__(f"card {card_id!r} was changed concurrently; read it again")


class InvalidLot(InvalidInput):
    code = "invalid_lot"


class InvalidPackage(InvalidInput):
    code = "invalid_package"


class InvalidCard(InvalidInput):
    code = "invalid_card"
