"""Wiring: which adapter serves which port. Built once per container and reused while warm."""

from __future__ import annotations

import functools
from dataclasses import dataclass

from handlers.ports import CardRepository, Clock, LotRepository, OwnerRepository, PackageRepository
from infra.clock import SystemClock
from infra.dynamodb import tables
from infra.dynamodb.emulator import LOCAL_CREDENTIALS, is_emulator
from infra.dynamodb.repositories import (
    DynamoCardRepository,
    DynamoLotRepository,
    DynamoOwnerRepository,
    DynamoPackageRepository,
)
from infra.settings import Settings


@dataclass(frozen=True)
class Services:
    clock: Clock
    lots: LotRepository
    packages: PackageRepository
    cards: CardRepository
    owners: OwnerRepository


def bind_dynamodb(settings: Settings) -> None:
    """Point the table models at the configured endpoint (an emulator gets dummy credentials)."""
    endpoint = settings.dynamodb_endpoint
    credentials = LOCAL_CREDENTIALS if is_emulator(endpoint) else None
    tables.bind(settings.table_prefix, settings.region, endpoint, credentials)


def dynamodb_services(clock: Clock) -> Services:
    return Services(
        clock=clock,
        lots=DynamoLotRepository(),
        packages=DynamoPackageRepository(),
        cards=DynamoCardRepository(),
        owners=DynamoOwnerRepository(),
    )


@functools.cache
def services_from_env() -> Services:
    """The Lambda wiring: settings from the environment, the real clock."""
    bind_dynamodb(Settings.from_env())
    return dynamodb_services(SystemClock())
