"""Our session tokens and field encryption: pure, clock-driven, no I/O."""

from datetime import UTC, datetime, timedelta

import pytest
from cryptography.exceptions import InvalidTag

from domain.errors import TokenExpired, TokenInvalid
from domain.phone import masked_phone
from handlers.ports import AccessClaims, RefreshClaims
from infra.clock import SimClock
from infra.crypto import FieldCipher
from infra.tokens import ACCESS_TTL_S, REFRESH_TTL_S, SignedTokens

NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)


def test_access_token_names_its_owner_for_two_hours() -> None:
    clock = SimClock(NOW)
    tokens = SignedTokens(b"secret", clock)
    issued = tokens.issue("owner-1", session="session-1", generation=2)
    assert issued.expires_in == ACCESS_TTL_S == 7200
    clock.set(NOW + timedelta(seconds=ACCESS_TTL_S - 5))
    assert tokens.verify_access(issued.access_token) == "owner-1"
    clock.set(NOW + timedelta(seconds=ACCESS_TTL_S + 5))
    with pytest.raises(TokenExpired):
        tokens.verify_access(issued.access_token)
    assert tokens.verify_refresh(issued.refresh_token) == RefreshClaims("owner-1", "session-1", 2)
    clock.set(NOW + timedelta(seconds=REFRESH_TTL_S + 5))
    with pytest.raises(TokenExpired):
        tokens.verify_refresh(issued.refresh_token)


def test_tampered_or_foreign_tokens_are_invalid() -> None:
    clock = SimClock(NOW)
    issued = SignedTokens(b"secret", clock).issue("owner-1")
    payload, stamp, signature = issued.access_token.split(".")
    forged_payload = "eyJzdWIiOiJvd25lci0yIn0"  # {"sub":"owner-2"}
    for token in (
        f"{forged_payload}.{stamp}.{signature}",
        f"{payload}.{stamp}.{signature[:-2]}xx",
        "not-a-token",
        "",
    ):
        with pytest.raises(TokenInvalid):
            SignedTokens(b"secret", clock).verify_access(token)
    with pytest.raises(TokenInvalid):
        SignedTokens(b"other-secret", clock).verify_access(issued.access_token)


def test_an_access_token_carries_the_accounts_session_epoch() -> None:
    tokens = SignedTokens(b"secret", SimClock(NOW))
    assert tokens.access_claims(tokens.issue("a@b.cn", epoch=3).access_token) == AccessClaims("a@b.cn", 3)
    assert tokens.access_claims(tokens.issue("owner-1").access_token) == AccessClaims("owner-1", 0)


def test_a_refresh_token_is_not_an_access_token_nor_the_other_way() -> None:
    tokens = SignedTokens(b"secret", SimClock(NOW))
    issued = tokens.issue("owner-1", session="session-1")
    with pytest.raises(TokenInvalid):
        tokens.verify_access(issued.refresh_token)
    with pytest.raises(TokenInvalid):
        tokens.verify_refresh(issued.access_token)


def test_field_cipher_round_trips_and_binds_the_value_to_its_record() -> None:
    cipher = FieldCipher(bytes(range(32)))
    sealed = cipher.encrypt("13800001234", "owner-1:phone")
    assert b"13800001234" not in sealed
    assert cipher.decrypt(sealed, "owner-1:phone") == "13800001234"
    assert cipher.encrypt("13800001234", "owner-1:phone") != sealed  # a fresh nonce every time
    with pytest.raises(InvalidTag):
        cipher.decrypt(sealed, "owner-2:phone")
    with pytest.raises(InvalidTag):
        cipher.decrypt(sealed[:-1] + bytes([sealed[-1] ^ 1]), "owner-1:phone")
    with pytest.raises(InvalidTag):
        FieldCipher(bytes(32)).decrypt(sealed, "owner-1:phone")


@pytest.mark.parametrize(
    ("number", "shown"), [("13800000000", "138****0000"), ("+8613912345678", "861******5678"), ("12345", "*****")]
)
def test_phone_numbers_are_shown_masked(number: str, shown: str) -> None:
    assert masked_phone(number) == shown
