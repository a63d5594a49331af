"""How many demands per second the stance engine evaluates on one core.

Builds a realistic policy (the Facebook/WhatsApp July 2020 template plus ~200 generated rules
over 60 countries: country, subdivision, authority, kind, legal-process and dated rules) and
1,000,000 demands, three quarters from countries the policy names. Times
``evaluate(policy, facts, explain=False)`` over all of them, beside a baseline measured in
the same run on the same facts (a plain loop doing one dict lookup per demand), and states
PASS or FAIL against the target of 200,000 demands/second. Also reports the explained path
(``explain=True``), which writes a line per rule and is not held to the target.

Run: ``.venv/bin/python bench/policy_eval.py [--demands N] [--seed S]``
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import sys
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta

import pycountry

from dueprocess.policy.rules import (
    KINDS,
    LEGAL_PROCESSES,
    DemandFacts,
    PolicyDocument,
    Rule,
    Stance,
    evaluate,
    find_conflicts,
)
from dueprocess.policy.templates import load_template

TARGET_PER_SECOND = 200_000
YEAR_START = datetime(2020, 1, 1, tzinfo=UTC)
CONDITIONS = {
    Stance.PAUSE: "pending human-rights due diligence",
    Stance.REFUSE: "no independent judicial review",
    Stance.REDIRECT: "send an MLAT request through the US Department of Justice",
    Stance.ESCALATE: "human-rights review and a named approver first",
}


def subdivisions_by_country() -> dict[str, list[str]]:
    """ISO 3166-2 codes per country, from pycountry's tables."""
    out: dict[str, list[str]] = {}
    for subdivision in pycountry.subdivisions:
        out.setdefault(str(subdivision.country_code), []).append(str(subdivision.code))
    return out


SUBDIVISIONS = subdivisions_by_country()


def pin_to_one_core() -> str:
    """Run on a single CPU where the OS allows it, so the figure is per core."""
    if hasattr(os, "sched_setaffinity"):
        cpu = min(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {cpu})
        return f"pinned to CPU {cpu}"
    return "not pinned (no sched_setaffinity here)"


def build_policy(rng: random.Random, rule_target: int = 200) -> tuple[PolicyDocument, list[str]]:
    """The template's rules, then generated ones; a generated rule that would tie is dropped."""
    template = load_template("facebook-whatsapp-2020")
    countries = sorted(c.alpha_2 for c in pycountry.countries if c.alpha_2 != "HK")
    chosen = ["HK", "US", "GB", "DE", "FR", "IN", "BR", *rng.sample(countries, 53)]
    chosen = list(dict.fromkeys(chosen))[:60]
    rules: list[Rule] = list(template.rules)
    stances = list(Stance)
    n = 0
    while len(rules) < rule_target:
        n += 1
        country = rng.choice(chosen)
        stance = rng.choice(stances)
        jurisdiction = country
        subdivisions = SUBDIVISIONS.get(country, [])
        if subdivisions and rng.random() < 0.25:
            jurisdiction = rng.choice(subdivisions)
        authority = f"{country.lower()}-police-{rng.randrange(4)}" if rng.random() < 0.2 else None
        kinds = frozenset(rng.sample(KINDS, rng.randint(1, 3))) if rng.random() < 0.4 else None
        processes = None
        if rng.random() < 0.25:
            processes = frozenset(rng.sample(LEGAL_PROCESSES, rng.randint(1, 2)))
        starts = ends = None
        if rng.random() < 0.3:
            starts = YEAR_START + timedelta(days=rng.randrange(0, 300))
            if rng.random() < 0.5:
                ends = starts + timedelta(days=rng.randrange(10, 120))
        candidate = Rule(
            id=f"gen-{n}",
            jurisdiction=jurisdiction,
            stance=stance,
            condition=CONDITIONS.get(stance),
            authority=authority,
            kinds=kinds,
            legal_processes=processes,
            starts=starts,
            ends=ends,
        )
        if not find_conflicts([*rules, candidate]):
            rules.append(candidate)
    doc = PolicyDocument("benchmark", Stance.PROCESS, tuple(rules))
    doc.compiled()  # validate and build the index now, outside the timed loop
    return doc, chosen


def build_facts(rng: random.Random, named: Sequence[str], count: int) -> list[DemandFacts]:
    """Demands: 3/4 from countries with rules (a fifth of those from a subdivision)."""
    others = sorted(c.alpha_2 for c in pycountry.countries if c.alpha_2 not in set(named))
    subdivisions = {country: SUBDIVISIONS.get(country, []) for country in named}
    instants = [YEAR_START + timedelta(hours=h) for h in range(0, 366 * 24, 7)]
    facts: list[DemandFacts] = []
    for _ in range(count):
        if rng.random() < 0.75:
            country = rng.choice(named)
            subs = subdivisions[country]
            jurisdiction = rng.choice(subs) if subs and rng.random() < 0.2 else country
        else:
            country = jurisdiction = rng.choice(others)
        facts.append(
            DemandFacts(
                jurisdiction=jurisdiction,
                authority=f"{country.lower()}-police-{rng.randrange(6)}",
                kind=rng.choice(KINDS),
                legal_process=rng.choice(LEGAL_PROCESSES),
                received_at=rng.choice(instants),
            )
        )
    return facts


def best_of(runs: int, loop: Callable[[], object]) -> float:
    """The fastest of ``runs`` timings of ``loop``, in seconds."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        loop()
        times.append(time.perf_counter() - start)
    return min(times)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--demands", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=20200706)
    parser.add_argument("--runs", type=int, default=3, help="timed runs; the best is reported")
    args = parser.parse_args(argv)
    rng = random.Random(args.seed)
    pinned = pin_to_one_core()

    started = time.perf_counter()
    policy, named = build_policy(rng)
    facts = build_facts(rng, named, args.demands)
    setup = time.perf_counter() - started

    lookup = {country: True for country in named}

    def baseline() -> None:
        get = lookup.get
        for demand in facts:
            get(demand.jurisdiction)

    def fast() -> None:
        for demand in facts:
            evaluate(policy, demand, explain=False)

    explained_facts = facts[: max(1, len(facts) // 10)]

    def explained() -> None:
        for demand in explained_facts:
            evaluate(policy, demand)

    # The fast path must give exactly the answers of the explained path.
    for demand in explained_facts[:20_000]:
        quick, full = evaluate(policy, demand, explain=False), evaluate(policy, demand)
        assert (quick.rule_id, quick.stance) == (full.rule_id, full.stance), demand

    t_base = best_of(args.runs, baseline)
    t_fast = best_of(args.runs, fast)
    t_explained = best_of(1, explained)
    stances: dict[str, int] = {}
    for demand in facts:
        stance = evaluate(policy, demand, explain=False).stance
        stances[stance] = stances.get(stance, 0) + 1

    n = len(facts)
    rate_base, rate_fast = n / t_base, n / t_fast
    rate_explained = len(explained_facts) / t_explained
    print(f"python {platform.python_version()} on {platform.machine()}, {pinned}")
    print(
        f"policy: {len(policy.rules)} rules over {len({r.jurisdiction[:2] for r in policy.rules})}"
        f" countries; {n:,} demands; set-up {setup:.1f}s; best of {args.runs} runs"
    )
    print(f"stances given: {', '.join(f'{k} {v:,}' for k, v in sorted(stances.items()))}")
    print(f"baseline (one dict lookup per demand): {rate_base:>13,.0f} demands/s")
    print(
        f"evaluate(explain=False):               {rate_fast:>13,.0f} demands/s "
        f"({t_fast / t_base:.1f}x the baseline's time, {t_fast / n * 1e6:.2f} µs each)"
    )
    print(
        f"evaluate(explain=True):                {rate_explained:>13,.0f} demands/s "
        f"(on {len(explained_facts):,} demands; not held to the target)"
    )
    verdict = "PASS" if rate_fast >= TARGET_PER_SECOND else "FAIL"
    print(f"{verdict}: {rate_fast:,.0f} demands/s against a target of {TARGET_PER_SECOND:,}/s")
    return 0 if verdict == "PASS" else 1


if __name__ == "__main__":
    sys.exit(main())
