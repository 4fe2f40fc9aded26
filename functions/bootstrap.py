"""Wiring: which adapter serves which port. Built once per container and reused while warm."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from urllib.parse import urlsplit

from handlers.ports import CardRepository, Clock, LotRepository, OwnerRepository, PackageRepository
from infra.clock import SystemClock
from infra.dynamodb import tables
from infra.dynamodb.embedded import LOCAL_CREDENTIALS
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
    """Point the table models at the configured endpoint.

    A loopback endpoint is an emulator (moto, DynamoDB Local): it gets dummy
    credentials so a developer's real AWS keys never travel to it.
    """
    endpoint = settings.dynamodb_endpoint
    loopback = endpoint is not None and urlsplit(endpoint).hostname in ("127.0.0.1", "localhost", "::1")
    tables.bind(settings.table_prefix, settings.region, endpoint, LOCAL_CREDENTIALS if loopback else None)


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
