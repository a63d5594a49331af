"""Age public keys ("recipients"): the one form a production is encrypted to.

Shared vocabulary, like :mod:`dueprocess.jurisdictions`: the authority registry checks an
authority's key with :func:`check_recipient` when it is registered, and
:mod:`dueprocess.productions.crypto` encrypts to it, so both read the same rule.

Only native X25519 recipients (``age1...``, Bech32) are accepted. Not SSH keys
(``ssh-ed25519``/``ssh-rsa``), though age can encrypt to them: an SSH key is a login key,
usually kept on the machines people work on and often shared across systems, where a
delivery key should exist for this one purpose; age's SSH recipient stanzas also carry a
tag of the key, so a file names the key it is for, where an X25519 file does not. Not
plugin recipients (``age1yubikey1...``, ``age1pq1...``): the plugin would have to run here.
An authority with any of these is told to make an X25519 key with ``age-keygen``.
"""

from __future__ import annotations

import pyrage

_HOW = "make one with age-keygen and give the line it prints as 'Public key: age1...'"


class InvalidRecipient(ValueError):
    """Not an age X25519 public key; the message says what it is instead and what to give."""


def check_recipient(text: str) -> str:
    """``text`` as an age X25519 recipient in its canonical (lower-case) form, or
    :class:`InvalidRecipient` saying what is wrong and what to give instead."""
    given = text.strip()
    if not given:
        raise InvalidRecipient(f"is empty: give an age public key (age1...); {_HOW}")
    lowered = given.lower()
    if lowered.startswith("age-secret-key-"):
        raise InvalidRecipient(
            "is an age SECRET key: never share it; give the public key (age1...) instead"
        )
    if lowered.startswith(("ssh-", "ecdsa-sha2-", "sk-ssh-", "sk-ecdsa-")):
        raise InvalidRecipient(
            "is an SSH key: productions are encrypted only to an age X25519 key (age1...) "
            f"kept for this purpose; {_HOW}"
        )
    # Bech32's data never holds a "1", so a second one marks age1<plugin>1...
    if lowered.startswith("age1") and "1" in lowered[4:]:
        plugin = lowered[4:].split("1", 1)[0]
        raise InvalidRecipient(
            f"is a recipient for the age plugin {plugin!r}: only X25519 keys (age1...) "
            f"are accepted; {_HOW}"
        )
    if not lowered.startswith("age1"):
        raise InvalidRecipient(f"is not an age public key (it must start with age1); {_HOW}")
    try:
        recipient = pyrage.x25519.Recipient.from_str(given)
    except pyrage.RecipientError as exc:
        raise InvalidRecipient(
            f"is not a valid age public key ({exc}): check it was copied whole; {_HOW}"
        ) from None
    return str(recipient)
