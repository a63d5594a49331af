"""Encrypting a production to the authority's age public key (the age format, v1, through
pyrage). Which keys are accepted, and why not SSH or plugin keys, is in
:mod:`dueprocess.agekeys`; :func:`check_recipient` is that check.
"""

from __future__ import annotations

import pyrage

from dueprocess.agekeys import InvalidRecipient, check_recipient

__all__ = ["InvalidRecipient", "check_recipient", "decrypt", "encrypt"]

#: The first line of every age v1 file.
AGE_HEADER = b"age-encryption.org/v1\n"


def encrypt(plaintext: bytes, recipient: str) -> bytes:
    """``plaintext`` encrypted to ``recipient`` (an ``age1...`` X25519 public key) in the
    binary age format; :class:`InvalidRecipient` if the key is not one. Only the holder of
    the matching identity (``AGE-SECRET-KEY-1...``) can read it; nothing here can."""
    key = pyrage.x25519.Recipient.from_str(check_recipient(recipient))
    sealed: bytes = pyrage.encrypt(plaintext, [key])
    return sealed


def decrypt(ciphertext: bytes, identity: str) -> bytes:
    """What :func:`encrypt` sealed, with the recipient's secret key. The service never holds
    one: this is for the authority's side (and tests). :class:`ValueError` if the identity
    is not an age secret key or not the one the file was sealed to."""
    try:
        key = pyrage.x25519.Identity.from_str(identity.strip())
    except pyrage.IdentityError:
        raise ValueError("not an age secret key (AGE-SECRET-KEY-1...)") from None
    try:
        opened: bytes = pyrage.decrypt(ciphertext, [key])
    except pyrage.DecryptError as exc:
        raise ValueError(f"cannot decrypt with this key: {exc}") from None
    return opened
