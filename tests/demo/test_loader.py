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
