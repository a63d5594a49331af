"""The queues' one query (:func:`queues.page`) on real demands in a real database, SQLite and
PostgreSQL alike: the urgency order, every filter, search in English and Chinese (checked
against the rule in :mod:`dueprocess.review.search`), cursors that neither lose nor repeat a
row while demands arrive, the bounded totals, and bad filters named."""

from __future__ import annotations

import os
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, text, update
from sqlalchemy.orm import Session

from dueprocess.accounts import service as accounts, signin
from dueprocess.accounts.signin import Principal
from dueprocess.demands.models import Demand, DemandStatus
from dueprocess.errors import InvalidInput
from dueprocess.review import flags, queue_filters, queues, search, service as review
from dueprocess.review.models import DemandSearch
from dueprocess.review.queue_filters import Cursor, Filters
from dueprocess.runtime import Runtime
from tests import factories

S = DemandStatus
#: Received 7 July 2020 09:30 +08:00 (the factory's), so "now" is set relative to it.
RECEIVED = datetime(2020, 7, 7, 1, 30, tzinfo=UTC)
NOW = RECEIVED + timedelta(hours=6)
US = {
    "slug": "us-fbi",
    "name": "Federal Bureau of Investigation",
    "jurisdiction": "US",
    "kind": "police",
    "status": "verified",
    "official_domains": ["fbi.gov"],
    "phone_numbers": ["+1 202 324 3000"],
}
POST = "https://microblog.demo/@hk_student_union/1"


def _submit(session: Session, runtime: Runtime, **changes: Any) -> int:
    body = factories.body(**changes)
    return factories.submit(session, runtime, body).demand.id


def _read(session: Session, queue: str = "intake", **values: str) -> list[int]:
    filters = queue_filters.read(session, values, me=_me(session))
    shown = queues.page(session, queue, filters, now=NOW, limit=queues.MAX_LIMIT)
    return [r.id for r in shown.rows]


def _me(session: Session) -> int:
    found = accounts.get_by_email(session, "intake@example.org")
    assert found is not None
    return found.id


@dataclass
class Set:
    """The demands of :func:`demands`, by what makes each one different."""

    hk: int  # removal, administrative order, deadline in a day (due in a day)
    de: int  # Germany: user data on a court order, no deadline (due in 14 days)
    us_ca: int  # California, a subdivision of the US
    emergency: int  # emergency disclosure: due in 4 hours, first in the queue
    chinese: int  # a Chinese summary
    overdue: int  # its deadline passed before NOW
    mine: int  # claimed by intake@
    suspicious: int  # requester assessed suspicious
    escalated: int  # stance escalate, in human-rights review
    flagged: int  # the political flag, from the post it targets


@pytest.fixture
def intake(session: Session) -> Principal:
    account = factories.account(session, "intake@example.org", ["intake"])
    factories.account(session, "legal@example.org", ["legal-reviewer"])
    return signin.principal_of(account, "session")


@pytest.fixture
def demands(
    session: Session, runtime: Runtime, intake: Principal, posts: dict[str, list[str]]
) -> Set:
    factories.authority(session)
    factories.authority(session, factories.BKA)
    factories.authority(session, US)
    day = "2020-07-08T09:30:00+08:00"
    made = Set(
        hk=_submit(
            session, runtime, reference="HK-1", summary="Remove the protest post", deadline=day
        ),
        de=_submit(
            session,
            runtime,
            authority="de-bka",
            jurisdiction="DE",
            reference="BKA/2020/77",
            kind="user-data",
            legal_process="court-order",
            data_categories=["subscriber"],
            summary="Subscriber records of a fraud suspect",
            deadline=None,
            legal_basis={"instrument": "StPO", "article": "§ 100j"},
            targets=[{"type": "account", "id": "@fraud_suspect"}],
        ),
        us_ca=_submit(
            session,
            runtime,
            authority="us-fbi",
            jurisdiction="US-CA",
            reference="FBI-SF-9",
            summary="Preserve the account",
            kind="preservation",
            legal_process="subpoena",
            deadline=None,
            legal_basis={"instrument": "18 U.S.C.", "article": "2703(f)"},
            targets=[{"type": "account", "id": "@sf_account"}],
        ),
        emergency=_submit(
            session,
            runtime,
            reference="HK-EMERG",
            kind="emergency-disclosure",
            legal_process="emergency",
            emergency_justification="a life is at risk",
            data_categories=["subscriber"],
            deadline=None,
            summary="Threat to life",
            targets=[{"type": "account", "id": "@at_risk"}],
        ),
        chinese=_submit(
            session,
            runtime,
            reference="NSD/202007/0042",
            deadline=day,
            summary="要求刪除「光復香港，時代革命」的帖子，並提供記者資料",
            targets=[{"type": "content", "id": "https://microblog.demo/@standnews_reporter/9"}],
        ),
        overdue=_submit(
            session,
            runtime,
            reference="HK-LATE",
            summary="Late",
            deadline="2020-07-07T10:00:00+08:00",
        ),
        mine=_submit(session, runtime, reference="HK-MINE", summary="Mine", deadline=day),
        suspicious=_submit(session, runtime, reference="HK-SUS", summary="Odd", deadline=day),
        escalated=_submit(session, runtime, reference="HK-ESC", summary="Escalated", deadline=day),
        flagged=_submit(
            session,
            runtime,
            reference="HK-FLAG",
            summary="Student union",
            deadline=day,
            targets=[{"type": "content", "id": posts["hk_student_union"][0]}],
        ),
    )
    review.claim(session, made.mine, me=intake, revision=None)
    # Columns set directly where producing them through intake would need a whole scenario
    # (these tests are about reading them): a suspicious requester, an escalate stance.
    session.execute(
        update(Demand).where(Demand.id == made.suspicious).values(verification_state="suspicious")
    )
    session.execute(update(Demand).where(Demand.id == made.escalated).values(stance="escalate"))
    flags.compute(session, runtime.connectors, made.flagged, actor="test")
    session.commit()
    return made


def test_a_queue_is_emergencies_first_then_earliest_due_then_id(
    session: Session, demands: Set
) -> None:
    rows = queues.page(session, "intake", Filters(), now=NOW, limit=50).rows
    assert rows[0].id == demands.emergency
    keys = [(not r.emergency, r.due_at, r.id) for r in rows]
    assert keys == sorted(keys)
    assert rows[1].id == demands.overdue  # due first among the rest
    assert {r.id for r in rows} == set(vars(demands).values())
    row = next(r for r in rows if r.id == demands.overdue)
    assert (row.urgency, row.time_left) == ("overdue", "overdue by 5 h 30 min")
    assert row.penalty == "Fine of HK$100,000 and imprisonment for six months"
    assert row.target_at == row.received_at + timedelta(days=3)  # removal: 3 days
    flagged = next(r for r in rows if r.id == demands.flagged)
    assert ("political", "high") in flagged.flags


def test_every_filter(session: Session, demands: Set) -> None:
    d = demands
    hk = {d.hk, d.emergency, d.chinese, d.overdue, d.mine, d.suspicious, d.escalated, d.flagged}
    cases: list[tuple[dict[str, str], set[int]]] = [
        ({"jurisdiction": "HK"}, hk),
        ({"jurisdiction": "us"}, {d.us_ca}),  # a country takes its subdivisions
        ({"jurisdiction": "US-CA"}, {d.us_ca}),
        ({"jurisdiction": "US-NY"}, set()),
        ({"authority": "de-bka"}, {d.de}),
        ({"kind": "preservation"}, {d.us_ca}),
        ({"legal_process": "court-order"}, {d.de}),
        ({"stance": "escalate"}, {d.escalated}),
        ({"stance": "process"}, set(vars(d).values()) - {d.escalated}),
        ({"verification": "suspicious"}, {d.suspicious}),
        ({"flag": "political"}, {d.flagged}),
        ({"assignee": "me"}, {d.mine}),
        ({"assignee": "intake@example.org"}, {d.mine}),
        ({"assignee": "nobody"}, set(vars(d).values()) - {d.mine}),
        ({"due": "overdue"}, {d.overdue, d.emergency}),  # the emergency: due 4 h after receipt
        # due soon: within 2 days and the last quarter of its window (the emergency: due in
        # 4 h from receipt, 6 h ago: overdue; the day-long ones: 18 h left of 24: not yet)
        ({"due": "soon"}, set()),
        ({"due_within": "20h"}, {d.hk, d.chinese, d.mine, d.suspicious, d.escalated, d.flagged}),
        ({"due_within": "90m"}, set()),
        ({"due_after": "2020-07-09"}, {d.de, d.us_ca}),  # preservation: 2 days
        ({"due_after": "2020-07-10"}, {d.de}),  # user data: 14 days
        ({"due_before": "2020-07-07T12:00:00+08:00"}, {d.overdue}),
        ({"due_after": "2020-07-07", "due_before": "2020-07-08"}, {d.emergency, d.overdue}),
        ({"emergency": "true"}, {d.emergency}),
        (
            {"jurisdiction": "HK", "kind": "removal", "assignee": "nobody", "due": "overdue"},
            {d.overdue},
        ),
    ]
    for values, expected in cases:
        assert set(_read(session, **values)) == expected, values


def test_due_soon_follows_the_rows_urgency(session: Session, demands: Set) -> None:
    later = NOW + timedelta(hours=15)  # 3 h left of a 24 h window: the last quarter
    filters = Filters(due="soon")
    rows = queues.page(session, "intake", filters, now=later, limit=50).rows
    assert {r.id for r in rows} == {
        demands.hk,
        demands.chinese,
        demands.mine,
        demands.suspicious,
        demands.escalated,
        demands.flagged,
    }
    assert {r.urgency for r in rows} == {"due-soon"}
    every = queues.page(session, "intake", Filters(), now=later, limit=50).rows
    assert {r.id for r in every if r.urgency == "due-soon"} == {r.id for r in rows}


QUERIES = [
    "protest",
    "PROT",
    "remove post",
    "post remove",
    "test",  # inside "protest": not the start of a word
    "NSD/202007",
    "0042",
    "bka/2020/77",
    "@fraud_suspect",
    "fraud",
    "suspect records",
    "standnews",
    "光復香港",
    "香港",
    "時代革命",
    "記者",
    "港",
    "時代香港",  # its pairs are all there, apart: not found
    "光复香港",  # Simplified: not found
    "hk_student_union",
    "-",
    "nothing-like-this",
]


@pytest.mark.parametrize("query", QUERIES)
def test_search_selects_exactly_what_the_rule_says(
    session: Session, demands: Set, query: str
) -> None:
    documents = {
        row.demand_id: search.Document(row.text, row.terms)
        for row in session.scalars(select(DemandSearch))
    }
    expected = {i for i, doc in documents.items() if search.matches(doc, search.parse(query))}
    assert set(_read(session, q=query)) == expected


def test_search_finds_english_and_chinese(session: Session, demands: Set) -> None:
    assert _read(session, q="protest") == [demands.hk]
    assert _read(session, q="光復香港 記者") == [demands.chinese]
    assert _read(session, q="香港") == [demands.chinese]
    assert _read(session, q="時代香港") == []
    assert _read(session, q="nsd/202007/0042") == [demands.chinese]
    assert set(_read(session, q="hk_student_union")) == {
        demands.hk,
        demands.flagged,
        demands.mine,
        demands.suspicious,
        demands.escalated,
        demands.overdue,
    }


def test_search_finds_a_demand_stored_without_terms(
    session: Session, runtime: Runtime, demands: Set
) -> None:
    # 300 targets of 400 Chinese characters at random: some 120,000 distinct pairs
    rng = random.Random(7)
    texts = ["".join(chr(rng.randrange(0x4E00, 0x9FA5)) for _ in range(400)) for _ in range(300)]
    targets = [{"type": "content", "id": f"https://x.example/{t}"} for t in texts]
    big = _submit(session, runtime, reference="BIG", summary="a sweep of posts", targets=targets)
    session.commit()
    assert session.get(DemandSearch, big).terms is None  # type: ignore[union-attr]
    assert _read(session, q="sweep") == [big]
    assert _read(session, q=texts[299][100:104]) == [big]
    assert _read(session, q=f"x.example/{texts[5][:3]}") == [big]
    assert _read(session, q="weep") == [big]  # no terms: the text alone decides


def _walk(session: Session, limit: int, during: Any = None) -> list[int]:
    seen: list[int] = []
    after: Cursor | None = None
    while True:
        shown = queues.page(session, "intake", Filters(), now=NOW, after=after, limit=limit)
        seen += [r.id for r in shown.rows]
        if shown.next is None:
            return seen
        if during is not None:
            during()
        after = Cursor.decode(shown.next, "after")


def test_cursors_neither_lose_nor_repeat_a_row_while_demands_arrive(
    session: Session, runtime: Runtime, demands: Set
) -> None:
    for n in range(14):
        _submit(
            session,
            runtime,
            reference=f"MORE-{n}",
            summary="more",
            deadline=f"2020-07-{8 + n % 5:02d}T09:30:00+08:00",
        )
    session.commit()
    before = _walk(session, 5)
    assert len(before) == len(set(before)) == 24
    arrived: list[int] = []

    def arrive() -> None:  # one due at once (sorts early), one due late (sorts late)
        n = len(arrived)
        arrived.append(
            _submit(
                session,
                runtime,
                reference=f"NEW-{n}",
                summary="new",
                deadline="2020-07-07T09:31:00+08:00",
            )
        )
        arrived.append(
            _submit(
                session,
                runtime,
                reference=f"LATE-{n}",
                summary="new",
                deadline=None,
                kind="user-data",
                data_categories=["subscriber"],
            )
        )
        session.commit()

    during = _walk(session, 5, arrive)
    assert len(during) == len(set(during)), "a row was repeated"
    assert set(before) <= set(during), "a row was lost"
    late = set(arrived[1::2])
    assert late <= set(during)  # they sort after every cursor, so each shows up
    rows = {r.id: r for r in queues.page(session, "intake", Filters(), now=NOW, limit=200).rows}
    keys = [(not rows[i].emergency, rows[i].due_at, i) for i in during]
    assert keys == sorted(keys)


def test_pages_back_and_forth(session: Session, runtime: Runtime, demands: Set) -> None:
    for n in range(11):
        _submit(session, runtime, reference=f"MORE-{n}", summary="more")
    session.commit()
    pages = []
    after = None
    while True:
        shown = queues.page(session, "intake", Filters(), now=NOW, after=after, limit=4)
        pages.append(shown)
        if shown.next is None:
            break
        after = Cursor.decode(shown.next, "after")
    assert [len(p.rows) for p in pages] == [4, 4, 4, 4, 4, 1]
    assert pages[0].prev is None
    assert pages[1].prev is not None
    # back from the last page, page by page, to the first
    back = pages[-1]
    for expected in reversed(pages[:-1]):
        assert back.prev is not None
        back = queues.page(
            session,
            "intake",
            Filters(),
            now=NOW,
            before=Cursor.decode(back.prev, "before"),
            limit=4,
        )
        assert [r.id for r in back.rows] == [r.id for r in expected.rows]
    assert back.prev is None  # the first page


def test_a_page_before_the_first_is_the_first(session: Session, demands: Set) -> None:
    first = queues.page(session, "intake", Filters(), now=NOW, limit=3)
    second = queues.page(
        session,
        "intake",
        Filters(),
        now=NOW,
        limit=3,
        after=Cursor.decode(first.next or "", "after"),
    )
    # one row before the second page's first: going back gives a whole first page
    earlier = queues.page(
        session, "intake", Filters(), now=NOW, limit=3, before=second.rows[0].cursor
    )
    assert [r.id for r in earlier.rows] == [r.id for r in first.rows]
    assert earlier.prev is None


def test_totals_are_exact_up_to_the_bound_and_then_say_so(
    session: Session, demands: Set, monkeypatch: pytest.MonkeyPatch
) -> None:
    shown = queues.page(session, "intake", Filters(), now=NOW, limit=2)
    assert (shown.total, shown.total_is) == (10, "exact")
    monkeypatch.setattr(queues, "EXACT_UP_TO", 4)
    shown = queues.page(session, "intake", Filters(), now=NOW, limit=2)
    if session.get_bind().dialect.name == "postgresql":
        assert shown.total_is == "estimate"
        assert shown.total >= 5
    else:
        assert (shown.total, shown.total_is) == (5, "lower-bound")
    assert queues.page(session, "intake", Filters(emergency_only=True), now=NOW).total_is == (
        "exact"
    )


def test_the_index_counts_every_queue(session: Session, demands: Set, intake: Principal) -> None:
    counted = {q.queue: q for q in queues.index(session, me=intake.account_id, now=NOW)}
    assert set(counted) == {"intake", "legal", "human-rights", "approval"}
    assert counted["intake"].waiting == (10, "exact")
    assert counted["intake"].overdue == (2, "exact")  # the late one, and the emergency
    assert counted["intake"].mine == (1, "exact")
    assert counted["legal"].waiting == (0, "exact")


def test_bad_filters_are_each_named(session: Session, demands: Set) -> None:
    with pytest.raises(InvalidInput) as refused:
        queue_filters.read(
            session,
            {
                "jurisdiction": "XX",
                "authority": "nobody-here",
                "kind": "telepathy",
                "stance": "maybe",
                "verification": "sure",
                "flag": "spicy",
                "assignee": "ghost@example.org",
                "due": "yesterday",
                "due_within": "5y",
                "due_after": "2020-07-31T09:00:00",
                "due_before": "not a date",
                "emergency": "perhaps",
                "q": "x" * 201,
            },
            me=1,
        )
    named = {e.loc for e in refused.value.errors}
    assert named == {
        ("query", n)
        for n in (
            "jurisdiction",
            "authority",
            "kind",
            "stance",
            "verification",
            "flag",
            "assignee",
            "due",
            "due_within",
            "due_after",
            "due_before",
            "emergency",
            "q",
        )
    }
    with pytest.raises(InvalidInput, match="later than due_after"):
        queue_filters.read(session, {"due_after": "2020-08-01", "due_before": "2020-07-01"}, me=1)
    # not base64; id 0; id past 2^31-1; not a 0/1; a time past the year 9999
    for token in (
        "",
        "garbage!",
        "MS4xLjA",
        "MS4xLjQyOTQ5NjcyOTY",
        "Mi4xLjE",
        "MS45OTk5OTk5OTk5OTk5OTk5OTkuMQ",
    ):
        with pytest.raises(InvalidInput) as bad:
            Cursor.decode(token, "after")
        assert bad.value.errors[0].loc == ("query", "after")


def test_a_cursor_round_trips() -> None:
    here = Cursor(True, datetime(2020, 7, 7, 1, 30, 0, 123456, tzinfo=UTC), 42)
    assert Cursor.decode(here.encode(), "after") == here


@pytest.mark.skipif(
    os.environ.get("DUEPROCESS_TEST_DATABASE") != "postgresql", reason="PostgreSQL's timeout"
)
def test_a_count_over_its_budget_gives_way_to_the_estimate(
    session: Session, demands: Set, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A count PostgreSQL cannot finish within the budget is cancelled (here: one that sleeps
    a fifth of a second, against a budget of a millisecond); the transaction goes on, with
    its own time limit as it was."""
    before = session.scalar(text("SELECT current_setting('statement_timeout')"))
    monkeypatch.setattr(queues, "COUNT_BUDGET_MS", 1)
    slow = select(func.count()).select_from(select(func.pg_sleep(0.2)).subquery())
    assert queues._within_budget(session, slow) is None
    assert session.scalar(text("SELECT current_setting('statement_timeout')")) == before
    monkeypatch.setattr(queues, "COUNT_BUDGET_MS", 10_000)
    assert queues._within_budget(session, select(func.count()).select_from(Demand)) == 10
    assert session.scalar(text("SELECT current_setting('statement_timeout')")) == before
