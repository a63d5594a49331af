"""Encryption to an authority's age key, and the check an authority's key passes when it is
registered (dueprocess.agekeys)."""

from __future__ import annotations

import pyrage
import pytest

from dueprocess.productions.crypto import (
    AGE_HEADER,
    InvalidRecipient,
    check_recipient,
    decrypt,
    encrypt,
)


def _identity() -> tuple[str, str]:
    identity = pyrage.x25519.Identity.generate()
    return str(identity), str(identity.to_public())


def test_a_package_round_trips_through_the_recipients_identity() -> None:
    secret, public = _identity()
    plaintext = b"manifest and data\x00" * 1000
    sealed = encrypt(plaintext, public)
    assert sealed.startswith(AGE_HEADER)
    assert plaintext[:16] not in sealed
    assert decrypt(sealed, secret) == plaintext


def test_another_identity_cannot_open_it() -> None:
    _, public = _identity()
    other_secret, _ = _identity()
    with pytest.raises(ValueError, match="cannot decrypt"):
        decrypt(encrypt(b"data", public), other_secret)


def test_a_recipient_is_kept_in_its_canonical_form() -> None:
    _, public = _identity()
    assert check_recipient(f"  {public.upper()}\n") == public


@pytest.mark.parametrize(
    ("given", "says"),
    [
        ("", "is empty"),
        ("hello", "must start with age1"),
        ("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHgz user@host", "is an SSH key"),
        ("ssh-rsa AAAAB3NzaC1yc2E", "is an SSH key"),
        ("age1yubikey1qwertyuiop", "age plugin 'yubikey'"),
        ("AGE-SECRET-KEY-1QQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQ", "SECRET"),
        ("age1qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqq", "not a valid age public key"),
    ],
)
def test_what_is_not_an_x25519_recipient_is_refused_saying_what_it_is(
    given: str, says: str
) -> None:
    with pytest.raises(InvalidRecipient, match=says) as refused:
        check_recipient(given)
    assert "AGE-SECRET-KEY" not in str(refused.value)  # a pasted secret is never echoed


def test_a_key_with_one_character_changed_is_refused_by_its_checksum() -> None:
    _, public = _identity()
    changed = public[:-1] + ("q" if public[-1] != "q" else "p")
    with pytest.raises(InvalidRecipient, match="copied whole"):
        check_recipient(changed)


def test_encrypting_to_a_bad_recipient_is_refused_before_anything_is_sealed() -> None:
    with pytest.raises(InvalidRecipient):
        encrypt(b"data", "ssh-ed25519 AAAA")
