"""The owner's vehicles: the plates they drive, from which cards are applied for."""

from __future__ import annotations

from domain.card import CardState
from domain.errors import PlateOnCard, VehicleNotFound
from domain.owner import MAX_VEHICLES_PER_OWNER, Owner
from domain.plate import normalise_plate
from handlers.ports import CardRepository, OwnerRepository


def list_vehicles(owner: Owner) -> list[str]:
    return sorted(owner.vehicles)


def add_vehicle(owner_id: str, plate_text: str, owners: OwnerRepository) -> str:
    """Register a plate (adding one twice is harmless); answer it as stored."""
    plate = normalise_plate(plate_text)
    owners.add_vehicle(owner_id, plate, MAX_VEHICLES_PER_OWNER)
    return plate


def remove_vehicle(owner: Owner, plate_text: str, owners: OwnerRepository, cards: CardRepository) -> None:
    plate = normalise_plate(plate_text)
    if plate not in owner.vehicles:
        raise VehicleNotFound()
    on_cards = [
        c.id
        for c in cards.list_for_owner(owner.id)
        if plate in c.plates and c.state not in (CardState.CANCELLED, CardState.EXPIRED)
    ]
    if on_cards:
        raise PlateOnCard("plate_on_card", plate=plate, card_id=on_cards[0])
    owners.remove_vehicle(owner.id, plate)
