"""The protected-accounts list: normalised handles, audited changes and reads, kept only by
holders of protected:manage, rows never deleted."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from dueprocess.audit import service as audit
from dueprocess.errors import Conflict, NotFound, NotPermitted
from dueprocess.review import protected
from dueprocess.review.models import ProtectedAccount, ProtectedCategory
from tests import factories


@pytest.mark.parametrize(
    "raw",
    [
        "standnews_reporter",
        "@standnews_reporter",
        "@StandNews_Reporter",
        "  @standnews_reporter ",
        "＠ｓｔａｎｄｎｅｗｓ_ｒｅｐｏｒｔｅｒ",  # full-width
        "https://microblog.demo/@standnews_reporter",
        "https://microblog.demo/@StandNews_Reporter/",
        "http://microblog.demo/@standnews_reporter/42",
        "microblog.demo/@standnews_reporter",
        "https://www.microblog.demo/@standnews_reporter?ref=share",
    ],
)
def test_a_handle_is_normalised_from_every_form(raw: str) -> None:
    assert protected.normalise_handle(raw) == "standnews_reporter"


@pytest.mark.parametrize(
    "raw", ["", "@", "two words", "post:12", "https://microblog.demo/posts/12", "a" * 65, "@a/b"]
)
def test_what_is_not_a_handle_is_refused(raw: str) -> None:
    with pytest.raises(ValueError, match="not a handle"):
        protected.normalise_handle(raw)
    assert protected.handle_of(raw) is None


@pytest.fixture
def keeper(session: Session) -> str:
    return (
        f"account:{factories.account(session, 'rights@example.org', ['human-rights-reviewer']).id}"
    )


def entry(handle: str, category: str = "journalist", note: str = "") -> protected.ProtectedIn:
    return protected.ProtectedIn(handle=handle, category=ProtectedCategory(category), note=note)


def events(session: Session, action: str) -> list[dict[str, object]]:
    return [e.data for e in audit.search(session, action=action)]


def test_add_list_remove_each_audited_without_the_note(session: Session, keeper: str) -> None:
    row = protected.add(
        session, entry("@StandNews_Reporter", note="arrested 2021, see file 7"), actor=keeper
    )
    session.commit()
    assert (row.handle, row.category, row.removed_at) == (
        "standnews_reporter",
        ProtectedCategory.JOURNALIST,
        None,
    )
    (added,) = audit.search(session, action="review.protected_added")
    assert added.actor == keeper
    assert added.subject == f"protected_account:{row.id}"
    assert added.data == {"handle": "standnews_reporter", "category": "journalist"}

    (shown,) = protected.list_entries(session, actor=keeper, via="test")
    assert shown.note == "arrested 2021, see file 7"
    assert shown.added_by == "rights@example.org"
    assert shown.active
    assert events(session, "review.protected_listed") == [
        {"via": "test", "include_removed": False, "entries": 1}
    ]

    protected.remove(session, row.id, actor=keeper)
    session.commit()
    assert protected.list_entries(session, actor=keeper, via="test") == []
    (kept,) = protected.list_entries(session, actor=keeper, via="test", include_removed=True)
    assert kept.removed_by == "rights@example.org"
    assert kept.removed_at is not None
    assert events(session, "review.protected_removed") == [
        {"handle": "standnews_reporter", "category": "journalist"}
    ]
    assert session.scalar(select(func.count(ProtectedAccount.id))) == 1  # never deleted
    for event in audit.search(session, action="review.protected_added"):
        assert "arrested" not in str(event.data)


def test_a_handle_already_on_the_list_is_refused_until_removed(
    session: Session, keeper: str
) -> None:
    first = protected.add(session, entry("lamwingkee_hk", "activist"), actor=keeper)
    with pytest.raises(Conflict, match=f"already on the list as activist \\(entry {first.id}\\)"):
        protected.add(
            session, entry("https://microblog.demo/@LamWingKee_HK", "politician"), actor=keeper
        )
    protected.remove(session, first.id, actor=keeper)
    again = protected.add(session, entry("lamwingkee_hk", "politician"), actor=keeper)
    assert again.id != first.id
    with pytest.raises(Conflict, match="already removed"):
        protected.remove(session, first.id, actor=keeper)
    with pytest.raises(NotFound):
        protected.remove(session, 999_999, actor=keeper)


@pytest.mark.parametrize("roles", [["legal-reviewer"], ["approver"], ["intake", "auditor"]])
def test_only_the_lists_keepers_may_read_or_change_it(
    session: Session, keeper: str, roles: list[str]
) -> None:
    row = protected.add(session, entry("standnews_reporter"), actor=keeper)
    other = f"account:{factories.account(session, 'other@example.org', roles).id}"
    with pytest.raises(NotPermitted, match="protected:manage"):
        protected.add(session, entry("someone"), actor=other)
    with pytest.raises(NotPermitted, match="protected:manage"):
        protected.remove(session, row.id, actor=other)
    with pytest.raises(NotPermitted, match="protected:manage"):
        protected.list_entries(session, actor=other, via="test")
    with pytest.raises(NotPermitted, match="a person's account"):
        protected.add(session, entry("someone"), actor="cli:root")


def test_a_disabled_keeper_is_refused(session: Session, keeper: str) -> None:
    from dueprocess.accounts import service as accounts

    accounts.disable(session, "rights@example.org", actor="test")
    with pytest.raises(NotPermitted):
        protected.add(session, entry("someone"), actor=keeper)


def test_match_gives_categories_of_entries_on_the_list_now(session: Session, keeper: str) -> None:
    gone = protected.add(session, entry("gone_now", "lawyer"), actor=keeper)
    protected.remove(session, gone.id, actor=keeper)
    protected.add(session, entry("@MP_Chan", "politician"), actor=keeper)
    found = protected.match(session, ["mp_chan", "gone_now", "nobody", ""])
    assert found == {"mp_chan": ProtectedCategory.POLITICIAN}
    assert protected.match(session, []) == {}


def test_bad_input_names_the_field() -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError) as caught:
        protected.ProtectedIn.model_validate({"handle": "two words", "category": "priest"})
    fields = {e["loc"][0] for e in caught.value.errors()}
    assert fields == {"handle", "category"}
