"""Computing and storing a demand's flags through the real demo connector, against the real
database: evidence, the audit event, human-rights review required (and never unset), a
connector that fails, and the protected list."""

from __future__ import annotations

import json
from typing import Any

import pluggy
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from dueprocess.audit import service as audit
from dueprocess.connectors.spec import PROJECT, ConnectorSpec, ContentInfo, hookimpl
from dueprocess.demands.models import Demand
from dueprocess.errors import NotFound
from dueprocess.policy import service as policy
from dueprocess.review import flags, protected
from dueprocess.review.models import FlagLevel, ProtectedCategory, RiskFlag
from dueprocess.runtime import Runtime
from tests import factories


def demand(session: Session, runtime: Runtime, targets: list[str], **changes: Any) -> Demand:
    body = factories.body(
        targets=[
            {"type": "content" if t.startswith("http") else "account", "id": t} for t in targets
        ],
        **changes,
    )
    return factories.submit(session, runtime, body).demand


@pytest.fixture
def hk(session: Session) -> None:
    factories.authority(session)
    session.commit()


@pytest.fixture
def keeper(session: Session) -> str:
    account = factories.account(session, "rights@example.org", ["human-rights-reviewer"])
    session.commit()
    return f"account:{account.id}"


def test_flags_with_evidence_are_stored_and_human_rights_review_is_required(
    session: Session, runtime: Runtime, posts: dict[str, list[str]], hk: None, keeper: str
) -> None:
    protected.add(
        session,
        protected.ProtectedIn(
            handle="hk_student_union", category=ProtectedCategory.ACTIVIST, note="secret note"
        ),
        actor=keeper,
    )
    slogan, simplified, _english = posts["hk_student_union"]
    d = demand(session, runtime, [slogan, simplified])
    assert not flags.requires_human_rights_review(session, d)

    result = flags.compute(session, runtime.connectors, d.id, actor="test")
    session.commit()

    assert result.human_rights_required
    assert result.newly_required
    assert result.reasons == ["political flag (high)", "protected-account flag (high)"]
    assert d.human_rights_required
    assert flags.requires_human_rights_review(session, d)
    first, second = d.targets
    stored = flags.stored(session, d.id)
    assert [(f.code, f.level, f.target_id) for f in stored] == [
        ("political", FlagLevel.HIGH, first.id),
        ("political", FlagLevel.HIGH, second.id),
        ("protected-account", FlagLevel.HIGH, first.id),
        ("protected-account", FlagLevel.HIGH, second.id),
    ]
    assert stored[0].evidence[0]["matched"] == "光復香港，時代革命"
    assert stored[0].evidence[0]["source"] == slogan
    assert stored[1].evidence[0]["matched"] == "五大诉求，缺一不可"  # Simplified, as written
    assert stored[2].summary == "@hk_student_union is on the protected-accounts list (activist)"

    (event,) = audit.search(session, action="review.flags_computed")
    assert event.subject == f"demand:{d.id}"
    assert event.data == {
        "flags": [
            {"code": "political", "level": "high", "target": first.id},
            {"code": "political", "level": "high", "target": second.id},
            {"code": "protected-account", "level": "high", "target": first.id},
            {"code": "protected-account", "level": "high", "target": second.id},
        ],
        "human_rights_required": True,
        "human_rights_set_now": True,
        "reasons": ["political flag (high)", "protected-account flag (high)"],
    }
    text = json.dumps(event.data, ensure_ascii=False)
    assert "光復" not in text
    assert "secret note" not in text

    shown = flags.shown(session, d)
    assert shown.computed_at == event.at
    assert shown.flags[0].target == slogan
    assert shown.flags[2].evidence[0]["what"].endswith("staff keep, as an activist")


def test_computing_again_replaces_the_flags_and_never_unsets_human_rights_review(
    session: Session, runtime: Runtime, posts: dict[str, list[str]], hk: None, keeper: str
) -> None:
    entry = protected.add(
        session,
        protected.ProtectedIn(handle="causeway_bay_mum", category=ProtectedCategory.POLITICIAN),
        actor=keeper,
    )
    d = demand(session, runtime, [posts["causeway_bay_mum"][0]])
    flags.compute(session, runtime.connectors, d.id, actor="test")
    session.commit()
    assert [f.code for f in flags.stored(session, d.id)] == ["protected-account"]
    assert d.human_rights_required

    protected.remove(session, entry.id, actor=keeper)
    again = flags.compute(session, runtime.connectors, d.id, actor="test")
    session.commit()
    assert flags.stored(session, d.id) == []
    assert session.scalar(select(func.count(RiskFlag.id))) == 0  # replaced, not added
    assert again.human_rights_required
    assert not again.newly_required
    assert again.reasons == []
    assert d.human_rights_required  # a safeguard once set stays set
    latest = audit.search(session, action="review.flags_computed")[0]
    assert latest.data["human_rights_set_now"] is False
    assert latest.data["flags"] == []


def test_an_ordinary_post_raises_nothing(
    session: Session, runtime: Runtime, posts: dict[str, list[str]], hk: None
) -> None:
    d = demand(session, runtime, posts["causeway_bay_mum"])
    assert flags.shown(session, d).computed_at is None  # never computed: not "no flags"
    result = flags.compute(session, runtime.connectors, d.id, actor="test")
    session.commit()
    assert result.flags == []
    assert not result.human_rights_required
    assert not flags.requires_human_rights_review(session, d)
    shown = flags.shown(session, d)
    assert shown.flags == []
    assert shown.computed_at is not None


def test_a_protected_account_matches_whatever_case_or_form_the_demand_uses(
    session: Session, runtime: Runtime, posts: dict[str, list[str]], hk: None, keeper: str
) -> None:
    protected.add(
        session,
        protected.ProtectedIn(
            handle="https://microblog.demo/@standnews_reporter",
            category=ProtectedCategory.JOURNALIST,
        ),
        actor=keeper,
    )
    d = demand(session, runtime, ["@StandNews_Reporter", posts["standnews_reporter"][0]])
    flags.compute(session, runtime.connectors, d.id, actor="test")
    found = [(f.code, f.target_id) for f in flags.stored(session, d.id)]
    account, post = d.targets
    assert ("protected-account", account.id) in found
    assert ("protected-account", post.id) in found
    assert ("journalism", account.id) in found  # "Reporter" in the display name
    assert ("journalism", post.id) in found  # 記者 ... 現場報道


def test_an_escalate_stance_requires_human_rights_review_without_a_flag(
    session: Session, runtime: Runtime, posts: dict[str, list[str]], hk: None
) -> None:
    owner = factories.account(session, "owner@example.org", ["policy-owner"])
    approver = factories.account(session, "approver@example.org", ["approver"])
    text = (
        "policy: Test\ndefault: process\nrules:\n  - id: hk\n    jurisdiction: HK\n"
        "    stance: escalate\n    condition: human-rights review\n"
    )
    version = policy.propose(session, text, "t.yaml", "test", actor=f"account:{owner.id}")
    policy.approve(session, version.id, actor=f"account:{approver.id}")
    d = demand(session, runtime, posts["causeway_bay_mum"][:1])
    assert d.stance == "escalate"
    assert flags.requires_human_rights_review(session, d)  # before any flag
    result = flags.compute(session, runtime.connectors, d.id, actor="test")
    assert result.flags == []
    assert result.reasons == ["the jurisdiction policy's stance is escalate"]
    assert d.human_rights_required


class Broken:
    """A connector whose service is down: the edge of the system, where a stand-in is fair."""

    @hookimpl
    def dueprocess_lookup_content(self, ref: str) -> ContentInfo | None:
        raise TimeoutError(f"the service did not answer for {ref}")

    @hookimpl
    def dueprocess_lookup_account(self, handle: str) -> None:
        return None


def test_a_connector_that_fails_is_shown_as_a_fact_not_a_crash(
    session: Session, runtime: Runtime, hk: None
) -> None:
    manager = pluggy.PluginManager(PROJECT)
    manager.add_hookspecs(ConnectorSpec)
    manager.register(Broken())
    d = demand(session, runtime, ["https://microblog.demo/@x/1", "@nobody_here"])
    result = flags.compute(session, manager, d.id, actor="test")
    session.commit()
    failed, missing = flags.stored(session, d.id)
    assert (failed.code, failed.level, failed.target_id) == (
        "lookup-failed",
        FlagLevel.MEDIUM,
        d.targets[0].id,
    )
    assert failed.evidence[0]["matched"] == (
        "TimeoutError: the service did not answer for https://microblog.demo/@x/1"
    )
    assert (missing.code, missing.level) == ("target-not-found", FlagLevel.LOW)
    assert not result.human_rights_required


@pytest.mark.parametrize(
    ("error", "shown"),
    [
        (TimeoutError("no answer\nTraceback..."), "TimeoutError: no answer"),
        (
            ConnectionError("cannot reach postgresql://svc:s3cret@db.internal/users"),
            "ConnectionError: cannot reach postgresql://***@db.internal/users",
        ),
        (RuntimeError(), "RuntimeError"),
    ],
)
def test_a_connectors_error_is_shown_without_its_secrets(error: Exception, shown: str) -> None:
    assert flags.describe_failure(error) == shown


def test_an_unknown_demand_is_not_found(session: Session, runtime: Runtime) -> None:
    with pytest.raises(NotFound):
        flags.compute(session, runtime.connectors, 999_999, actor="test")
