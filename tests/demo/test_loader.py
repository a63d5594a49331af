"""The demo loads through the real services, once, and its targets resolve on the demo service."""

from __future__ import annotations

from collections import Counter

from sqlalchemy.orm import Session

from dueprocess.authorities import service as authorities
from dueprocess.connectors import service as connectors
from dueprocess.demands import service as demands
from dueprocess.demo import loader
from dueprocess.runtime import Runtime


def test_demo_loads_once_with_the_hong_kong_scenario(session: Session, runtime: Runtime) -> None:
    login = loader.load(runtime, session)
    session.commit()
    assert login is not None
    assert len(login.password) >= 12
    assert loader.saved_login(runtime) == login
    assert loader.load(runtime, session) is None  # second run: nothing new

    hk = authorities.get_by_slug(session, "hkpf-nsd")
    assert hk is not None
    assert hk.jurisdiction == "HK"
    rows = demands.list_summaries(session, limit=1000)
    assert 30 <= len(rows) <= 60
    by_jurisdiction = Counter(r.jurisdiction for r in rows)
    assert by_jurisdiction["HK"] >= 15
    assert {"DE", "US", "GB", "IN"} <= set(by_jurisdiction)
    kinds = {r.kind.value for r in rows}
    assert {
        "user-data",
        "preservation",
        "emergency-disclosure",
        "removal",
        "geo-restriction",
        "decryption",
    } <= kinds
    months = {r.received_at.month for r in rows}
    assert min(months) == 6
    assert max(months) == 12


def test_demo_targets_resolve_through_the_connector(session: Session, runtime: Runtime) -> None:
    loader.load(runtime, session)
    session.commit()
    manager = runtime.connectors
    texts = []
    for row in demands.list_summaries(session, limit=1000):
        for target in demands.get(session, row.id).targets:
            if target.type.value == "content":
                info = connectors.lookup_content(manager, target.identifier)
                assert info is not None, target.identifier
                texts.append(info.text)
            else:
                assert connectors.lookup_account(manager, target.identifier) is not None
    assert any("光復香港" in t or "Liberate Hong Kong" in t for t in texts)
    assert connectors.lookup_account(manager, "@nobody_here") is None


def test_same_seed_gives_same_scenario() -> None:
    import random

    from dueprocess.demo import scenario

    urls = {"hk_student_union": ["https://microblog.demo/@hk_student_union/1"]}
    first = [d.body for d in scenario.demands(random.Random(7), urls)]
    second = [d.body for d in scenario.demands(random.Random(7), urls)]
    assert first == second


def test_the_demo_shows_every_risk_flag_with_its_evidence(
    session: Session, runtime: Runtime
) -> None:
    from dueprocess.review import flags

    loader.load(runtime, session)
    session.commit()
    by_reference = {}
    for row in demands.list_summaries(session, limit=1000):
        demand = demands.get(session, row.id)
        by_reference[demand.reference] = (demand, flags.shown(session, demand))
    seen = {f.code for _d, shown in by_reference.values() for f in shown.flags}
    assert {"political", "journalism", "religion", "protected-account", "over-broad"} <= seen

    removal, shown = by_reference["NSD/202007/R001"]
    assert removal.human_rights_required
    matched = [e["matched"] for f in shown.flags if f.code == "political" for e in f.evidence]
    assert "光复香港，时代革命" in matched  # Simplified, as posted
    assert "Join the march" in matched

    _user_data, shown = by_reference["NSD/202007/R002"]
    (over_broad,) = [f for f in shown.flags if f.code == "over-broad"]
    assert over_broad.summary.startswith(
        "Asks more than its purpose needs: content on an administrative order; a 556-day period"
    )
    protected = [f.summary for f in shown.flags if f.code == "protected-account"]
    assert protected[0] == "@standnews_reporter is on the protected-accounts list (journalist)"

    _prayers, shown = by_reference["NSD/202007/R003"]
    assert [f.code for f in shown.flags] == ["religion", "religion"]

    _sweep, shown = by_reference["NSD/202007/R004"]
    assert "11 targets" in next(f.summary for f in shown.flags if f.code == "over-broad")

    everyday, shown = by_reference["NSD/202007/R005"]
    assert shown.flags == []
    assert shown.computed_at is not None
    assert not everyday.human_rights_required


def test_the_demo_is_recorded_on_the_scenarios_clock(session: Session, runtime: Runtime) -> None:
    from datetime import datetime

    from sqlalchemy import select

    from dueprocess.accounts.models import Account
    from dueprocess.audit.models import AuditEvent
    from dueprocess.authorities.models import Authority
    from dueprocess.demands.models import Demand, Reply
    from dueprocess.policy.models import PolicyVersion

    loader.load(runtime, session)
    session.commit()
    scenario_end = datetime(2021, 1, 1, tzinfo=loader.PAUSE_FROM.tzinfo)

    # Every audit event is dated in the scenario, and time never goes back along the chain.
    events = list(session.execute(select(AuditEvent.seq, AuditEvent.at).order_by(AuditEvent.seq)))
    assert events
    times = [at for _, at in events]
    assert all(loader.SET_UP_AT <= at < scenario_end for at in times), (min(times), max(times))
    assert times == sorted(times)

    # What was set up, on the day the installation was set up.
    assert {a.created_at for a in session.scalars(select(Account))} == {loader.SET_UP_AT}
    assert {a.verified_at for a in session.scalars(select(Account)) if a.authority_id} == {
        loader.SET_UP_AT
    }
    assert {a.created_at for a in session.scalars(select(Authority))} == {loader.SET_UP_AT}
    (version,) = session.scalars(select(PolicyVersion))
    assert (version.created_at, version.decided_at) == (loader.PAUSE_FROM, loader.PAUSE_FROM)

    # Each demand, its events and its replies at its time of receipt (or, for a reply the
    # policy's activation queued, on the day of the activation).
    for demand in session.scalars(select(Demand)):
        assert demand.created_at == demand.received_at
        own = [
            e.at
            for e in session.scalars(
                select(AuditEvent).where(AuditEvent.subject == f"demand:{demand.id}")
            )
        ]
        assert own
        assert min(own) == demand.received_at
        assert all(at in {demand.received_at, loader.PAUSE_FROM, loader.REVIEWED_AT} for at in own)
        for reply in session.scalars(select(Reply).where(Reply.demand_id == demand.id)):
            assert reply.created_at in {
                max(demand.received_at, loader.PAUSE_FROM), loader.REVIEWED_AT
            }
    session.rollback()


def test_dueprocess_demo_signs_the_loaded_log(cli_env: dict[str, str], session: Session) -> None:
    from sqlalchemy import func, select
    from typer.testing import CliRunner

    from dueprocess.audit.models import AuditCheckpoint, AuditEvent
    from dueprocess.cli.main import app

    assert CliRunner().invoke(app, ["demo", "--no-serve"]).exit_code == 0
    last = session.scalar(select(func.max(AuditEvent.seq)))
    signed = session.scalar(select(func.max(AuditCheckpoint.seq)))
    session.rollback()
    assert last is not None
    assert signed == last


def test_the_demo_has_a_demand_in_every_state_review_reaches(
    session: Session, runtime: Runtime
) -> None:
    """Every queue and every outcome of review shows in the demo: each demand got there
    through the review services (its events say who moved it), and the approved one was
    approved by the approver, not its reviewer, and its reply is queued for the requester."""
    from sqlalchemy import select

    from dueprocess.accounts import service as accounts
    from dueprocess.audit.models import AuditEvent
    from dueprocess.demands.models import Demand, ReplyKind
    from dueprocess.review.models import Approval

    loader.load(runtime, session)
    session.commit()
    by_status: dict[str, list[Demand]] = {}
    for demand in session.scalars(select(Demand).order_by(Demand.id)):
        by_status.setdefault(demand.status.value, []).append(demand)
    assert {
        "received", "paused", "legal-review", "human-rights-review", "awaiting-approval",
        "decided", "refused", "withdrawn",
    } <= set(by_status)  # fmt: skip
    assert sorted(d.outcome or "" for d in by_status["decided"]) == ["no-data", "partly-complied"]
    (refused,) = by_status["refused"]
    assert refused.outcome == "refused"
    assert [r.kind for r in demands.replies(session, refused.id)][-1] is ReplyKind.REFUSAL

    (approval,) = session.scalars(select(Approval))
    approver = accounts.get_by_email(session, loader.APPROVER_EMAIL)
    assert approver is not None
    assert approval.by == approver.id
    assert approval.approved
    approved = session.get(Demand, approval.demand_id)
    assert approved is not None
    assert approved.status.value == "decided"
    assert [r.kind for r in demands.replies(session, approved.id)][-1] is ReplyKind.DECISION
    (withdrawn,) = by_status["withdrawn"]
    trail = session.scalars(
        select(AuditEvent.actor).where(AuditEvent.subject == f"demand:{withdrawn.id}")
    ).all()
    officer = accounts.get_by_email(session, "anna.becker@bka.bund.de")
    assert officer is not None
    assert f"account:{officer.id}" in trail
    session.rollback()
