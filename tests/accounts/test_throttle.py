"""The sign-in throttle (``signin.throttled``): one person's typos hold only that person at
that address; guessing one account from many addresses, or many accounts from one address,
is held to a few guesses a window, while people at addresses they signed in from before
still get in."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy.orm import Session

from dueprocess.accounts import signin
from dueprocess.accounts.signin import Failures, throttled
from dueprocess.clock import utcnow
from tests import factories

P, A, W = signin.PAIR_FAILURES, signin.ACCOUNT_FAILURES, signin.ADDRESS_FAILURES


@pytest.mark.parametrize(
    ("failures", "known", "refused"),
    [
        (Failures(0, 0, 0), False, False),
        (Failures(P - 1, A - 1, W - 1), False, False),
        (Failures(P, P, P), False, True),  # one's own typos, here
        (Failures(P, P, P), True, True),  # ... even where one signed in before
        (Failures(0, A, 0), False, True),  # one account, guessed from many addresses
        (Failures(0, A, 0), True, False),  # ... its owner at a known address
        (Failures(0, 0, W), False, True),  # many accounts, guessed from one address
        (Failures(0, 0, W), True, False),  # ... a colleague who works there
    ],
)
def test_the_rule(failures: Failures, known: bool, refused: bool) -> None:
    assert throttled(failures, known=known) is refused


def _try(
    session: Session, email: str, remote: str, *, right: bool = False, at: datetime | None = None
) -> signin.SignInOutcome:
    password = factories.PASSWORD if right else "a guess"
    return signin.sign_in(session, email, password, "", remote=remote, now=at or utcnow())


def test_typos_behind_a_shared_address_hold_only_their_author(session: Session) -> None:
    factories.account(session, "ann@example.org", ["intake"])
    factories.account(session, "bob@example.org", ["intake"])
    office = "198.51.100.10"
    for _ in range(P):
        assert _try(session, "ann@example.org", office).problem == signin.REFUSED
    assert _try(session, "ann@example.org", office, right=True).throttled
    assert _try(session, "bob@example.org", office, right=True).principal is not None
    # Ann, elsewhere, is not held either: it is her typos at that address that count.
    assert _try(session, "ann@example.org", "192.0.2.1", right=True).principal is not None


def test_one_account_guessed_from_many_addresses(session: Session) -> None:
    factories.account(session, "ann@example.org", ["intake"])
    now = utcnow()
    home = "198.51.100.10"
    assert _try(session, "ann@example.org", home, right=True, at=now).principal is not None
    for i in range(A):  # one guess from each of many addresses: no pair reaches its limit
        assert not _try(session, "ann@example.org", f"203.0.113.{i}", at=now).throttled
    assert _try(session, "ann@example.org", "203.0.113.200", at=now).throttled
    assert _try(session, "ann@example.org", "192.0.2.1", right=True, at=now).throttled
    # Ann at home still gets in; others' accounts at those addresses are not held.
    assert _try(session, "ann@example.org", home, right=True, at=now).principal is not None
    factories.account(session, "bob@example.org", ["intake"])
    assert _try(session, "bob@example.org", "203.0.113.1", right=True, at=now).principal
    # The window ends.
    later = now + signin.THROTTLE_WINDOW + timedelta(seconds=1)
    assert _try(session, "ann@example.org", "192.0.2.1", right=True, at=later).principal


def test_many_accounts_guessed_from_one_address(session: Session) -> None:
    factories.account(session, "ann@example.org", ["intake"])
    factories.account(session, "new@example.org", ["intake"])
    now = utcnow()
    cafe = "192.0.2.77"
    assert _try(session, "ann@example.org", cafe, right=True, at=now).principal is not None
    for i in range(W):  # one password, tried on many e-mails
        assert not _try(session, f"user{i}@example.org", cafe, at=now).throttled
    assert _try(session, "user999@example.org", cafe, at=now).throttled
    assert _try(session, "new@example.org", cafe, right=True, at=now).throttled
    assert _try(session, "ann@example.org", cafe, right=True, at=now).principal is not None
    assert _try(session, "new@example.org", "198.51.100.3", right=True, at=now).principal


def test_a_throttled_attempt_is_audited_and_not_counted(session: Session) -> None:
    from dueprocess.audit import service as audit

    factories.account(session, "ann@example.org", ["intake"])
    now = utcnow()
    for _ in range(P):
        _try(session, "ann@example.org", "192.0.2.1", at=now)
    for _ in range(3):
        assert _try(session, "ann@example.org", "192.0.2.1", at=now).throttled
    assert signin._failures(session, "ann@example.org", "192.0.2.1", now).pair == P
    (event, *_) = audit.search(session, action="auth.sign_in_throttled")
    assert event.data["failures"] == {"email_here": P, "email": P, "here": P}
