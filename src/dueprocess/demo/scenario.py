"""The July 2020 Hong Kong scenario as data, generated from a seed (never hand-typed SQL).

On 30 June 2020 Hong Kong's National Security Law took effect; on 6 July its Article 43
Implementation Rules let police require service providers to remove messages, restrict
access, and produce information, on pain of a HK$100,000 fine and six months' imprisonment.
Authorities of Germany, the United States, the United Kingdom and India are here for contrast.
Contact details are illustrative demo values, not real directory entries.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

HK_PENALTY = "Fine of HK$100,000 and imprisonment for six months (Article 43 Implementation Rules)"
HK_RULES = "Implementation Rules for Article 43 of the National Security Law"

AUTHORITIES: list[dict[str, Any]] = [
    {
        "slug": "hkpf-nsd",
        "name": "Hong Kong Police Force, National Security Department",
        "jurisdiction": "HK",
        "kind": "police",
        "status": "verified",
        "official_domains": ["police.gov.hk"],
        "phone_numbers": ["+852 2860 2000"],
    },
    {
        "slug": "de-bka",
        "name": "Bundeskriminalamt",
        "jurisdiction": "DE",
        "kind": "police",
        "status": "verified",
        "official_domains": ["bka.bund.de"],
        "phone_numbers": ["+49 611 550"],
    },
    {
        "slug": "us-fbi",
        "name": "Federal Bureau of Investigation",
        "jurisdiction": "US",
        "kind": "police",
        "status": "verified",
        "official_domains": ["fbi.gov", "ic.fbi.gov"],
        "phone_numbers": ["+1 202 324 3000"],
    },
    {
        "slug": "us-cand-court",
        "name": "United States District Court for the Northern District of California",
        "jurisdiction": "US-CA",
        "kind": "court",
        "status": "verified",
        "official_domains": ["cand.uscourts.gov"],
        "phone_numbers": ["+1 415 522 2000"],
    },
    {
        "slug": "gb-met",
        "name": "Metropolitan Police Service",
        "jurisdiction": "GB",
        "kind": "police",
        "status": "verified",
        "official_domains": ["met.police.uk"],
        "phone_numbers": ["+44 20 7230 1212"],
    },
    {
        "slug": "in-meity",
        "name": "Ministry of Electronics and Information Technology",
        "jurisdiction": "IN",
        "kind": "government",
        "status": "verified",
        "official_domains": ["meity.gov.in"],
        "phone_numbers": ["+91 11 2436 3075"],
    },
]

OFFICERS: list[tuple[str, str, str]] = [
    ("hkpf-nsd", "Inspector Chan Tai-man", "chan.taiman@police.gov.hk"),
    ("hkpf-nsd", "Senior Inspector Wong Ka-yan", "wong.kayan@police.gov.hk"),
    ("de-bka", "Kriminalkommissarin Anna Becker", "anna.becker@bka.bund.de"),
    ("us-fbi", "Special Agent Dana Morris", "dana.morris@ic.fbi.gov"),
    ("us-cand-court", "Clerk Robert Lee", "robert.lee@cand.uscourts.gov"),
    ("gb-met", "Detective Sergeant Priya Shah", "priya.shah@met.police.uk"),
    ("in-meity", "Under Secretary Arjun Rao", "arjun.rao@meity.gov.in"),
]

PROTEST_POSTS_ZH = [
    "光復香港，時代革命",
    "五大訴求，缺一不可",
    "今晚八點，銅鑼灣集合，和平表達意見",
    "香港人，加油！反對國安法",
]
PROTEST_POSTS_EN = [
    "Liberate Hong Kong, revolution of our time",
    "Five demands, not one less. See you at Causeway Bay tonight.",
    "The national security law ends Hong Kong's freedoms. Speak up while you can.",
    "Reporting from Mong Kok: police are clearing the street, journalists pushed back.",
]
ORDINARY_POSTS = [
    "Dim sum with the family this morning.",
    "Anyone know a good bike repair shop in Kowloon?",
    "Typhoon signal 8 again, stay safe everyone.",
    "Neues Rezept ausprobiert: Käsespätzle!",
    "Game night at ours, bring snacks.",
    "Selling two concert tickets, DM me.",
]

MICROBLOG_ACCOUNTS: list[tuple[str, str, str, str]] = [
    # handle, display name, country, role in the story
    ("lamwingkee_hk", "Lam Wing-kee supporters", "HK", "activist"),
    ("standnews_reporter", "Reporter, independent outlet", "HK", "journalist"),
    ("hk_student_union", "Student union (demo)", "HK", "activist"),
    ("causeway_bay_mum", "Causeway Bay Mum", "HK", "ordinary"),
    ("kowloon_cyclist", "Kowloon Cyclist", "HK", "ordinary"),
    ("hk_pastor_lee", "Pastor Lee", "HK", "religious"),
    ("tsimshatsui_foodie", "TST Foodie", "HK", "ordinary"),
    ("berlin_trader", "Berlin Trader", "DE", "ordinary"),
    ("hassprediger_x", "Account posting incitement", "DE", "illegal"),
    ("sf_scammer", "Crypto giveaway", "US", "fraud"),
    ("ny_missing_teen", "Account of a missing teenager", "US", "emergency"),
    ("london_drill", "London account", "GB", "ordinary"),
    ("delhi_farmer_voice", "Farmers' voice", "IN", "activist"),
]


@dataclass(frozen=True)
class DemoPost:
    """A post the seed publishes on the microblog."""

    handle: str
    text: str
    language: str
    posted_at: datetime


@dataclass
class DemoDemand:
    """A demand in submission form; ``targets`` name microblog handles or post indexes."""

    body: dict[str, Any]
    channel: str
    officer_email: str | None = None
    post_targets: list[int] = field(default_factory=list)


def posts(rng: random.Random) -> list[DemoPost]:
    """The microblog's posts, June to December 2020, protest slogans among them."""
    out: list[DemoPost] = []
    start = datetime(2020, 6, 1, tzinfo=UTC)
    for handle, _name, country, role in MICROBLOG_ACCOUNTS:
        if role in {"activist", "journalist"} and country == "HK":
            texts = [(t, "zh-Hant") for t in PROTEST_POSTS_ZH] + [
                (t, "en") for t in PROTEST_POSTS_EN
            ]
            chosen = rng.sample(texts, 3)
        else:
            chosen = [(rng.choice(ORDINARY_POSTS), "en") for _ in range(2)]
        for text, lang in chosen:
            when = start + timedelta(minutes=rng.randrange(0, 60 * 24 * 150))
            out.append(DemoPost(handle, text, lang, when))
    return out


def _at(rng: random.Random, month: int, day_from: int = 1, day_to: int = 28) -> datetime:
    return datetime(
        2020,
        month,
        rng.randint(day_from, day_to),
        rng.randint(1, 22),
        rng.randint(0, 59),
        tzinfo=UTC,
    )


def demands(rng: random.Random, post_urls: dict[str, list[str]]) -> list[DemoDemand]:
    """A few dozen demands dated June to December 2020, of every kind the scenario needs."""
    out: list[DemoDemand] = []
    hk_handles = [h for h, _n, c, r in MICROBLOG_ACCOUNTS if c == "HK" and r != "ordinary"]
    used: set[str] = set()

    def unique(prefix: str, low: int, high: int, suffix: str = "") -> str:
        # Each demand its own reference: a reference used twice by one authority is a repeat,
        # which intake refuses. Drawn again on a clash (no seed's scenario then fails to load).
        while (reference := f"{prefix}{rng.randint(low, high)}{suffix}") in used:
            pass
        used.add(reference)
        return reference

    def hk(kind: str, received: datetime, targets: list[dict[str, str]], **extra: Any) -> None:
        schedule = {
            "removal": "Schedule 4",
            "geo-restriction": "Schedule 4",
            "decryption": "Schedule 4",
            "user-data": "Schedule 7",
            "preservation": "Schedule 7",
            "emergency-disclosure": "Schedule 7",
        }[kind]
        body = {
            "authority": "hkpf-nsd",
            "jurisdiction": "HK",
            "reference": unique(f"NSD/{received:%Y%m}/", 1000, 9999),
            "kind": kind,
            "legal_process": "emergency"
            if kind == "emergency-disclosure"
            else "administrative-order",
            "legal_basis": {"instrument": HK_RULES, "article": schedule},
            "received_at": received.isoformat(),
            "deadline": (received + timedelta(days=rng.choice([1, 3, 7]))).isoformat(),
            "penalty": HK_PENALTY,
            "targets": targets,
            "sender": rng.choice(["chan.taiman@police.gov.hk", "wong.kayan@police.gov.hk"]),
            **extra,
        }
        officer = body["sender"]
        out.append(DemoDemand(body, rng.choice(["portal", "api", "email"]), officer))

    # Hong Kong: some in June (before the Article 43 rules), most after 6 July.
    for month, count in ((6, 3), (7, 6), (8, 3), (9, 2), (10, 2), (11, 1), (12, 1)):
        for _ in range(count):
            received = _at(rng, month, 7 if month == 7 else 1)
            handle = rng.choice(hk_handles)
            kind = rng.choice(
                ["removal", "user-data", "removal", "geo-restriction", "preservation", "decryption"]
            )
            if kind in {"removal", "geo-restriction"}:
                urls = post_urls.get(handle) or []
                targets = [{"type": "content", "id": u} for u in urls[:2]]
                if not targets:
                    targets = [{"type": "account", "id": f"@{handle}"}]
                summary = (
                    "Remove messages likely to constitute an offence endangering national security"
                )
                hk(kind, received, targets, summary=summary)
            elif kind == "user-data":
                hk(
                    kind,
                    received,
                    [{"type": "account", "id": f"@{handle}"}],
                    data_categories=["subscriber", "traffic"],
                    summary="Identify the person behind the account",
                    gag_order={
                        "basis": "Implementation Rules, Schedule 7: non-disclosure",
                        "until": (received + timedelta(days=180)).isoformat(),
                    },
                )
            else:
                hk(
                    kind,
                    received,
                    [{"type": "account", "id": f"@{handle}"}],
                    summary=f"{kind.replace('-', ' ').capitalize()} for the account's messages",
                )
    hk(
        "emergency-disclosure",
        _at(rng, 7, 8, 20),
        [{"type": "account", "id": "@hk_student_union"}],
        data_categories=["subscriber"],
        emergency_justification="Claimed imminent violence at a planned assembly",
        summary="Emergency disclosure of subscriber information",
    )

    # A forged "emergency" request from a look-alike mailbox, as in 2021-2022: verification
    # must flag it (the sender's domain imitates police.gov.hk).
    forged_at = _at(rng, 9, 1, 28)
    out.append(
        DemoDemand(
            {
                "authority": "hkpf-nsd",
                "jurisdiction": "HK",
                "reference": f"URGENT/{forged_at:%Y%m%d}/77",
                "kind": "emergency-disclosure",
                "legal_process": "emergency",
                "legal_basis": {"instrument": HK_RULES, "article": "Schedule 7"},
                "received_at": forged_at.isoformat(),
                "deadline": (forged_at + timedelta(hours=2)).isoformat(),
                "targets": [{"type": "account", "id": "@standnews_reporter"}],
                "data_categories": ["subscriber", "traffic"],
                "emergency_justification": "Imminent threat to life; respond within two hours",
                "sender": "duty.officer@police-gov-hk.com",
                "summary": "Emergency disclosure request received by e-mail",
            },
            "email",
            None,
        )
    )

    others: list[
        tuple[str, str, str, str, dict[str, str], str, list[dict[str, str]], dict[str, Any]]
    ] = [
        (
            "de-bka",
            "DE",
            "user-data",
            "court-order",
            {"instrument": "Strafprozessordnung", "article": "§ 100j"},
            "anna.becker@bka.bund.de",
            [{"type": "account", "id": "@hassprediger_x"}],
            {"data_categories": ["subscriber"]},
        ),
        (
            "de-bka",
            "DE",
            "removal",
            "administrative-order",
            {"instrument": "Netzwerkdurchsetzungsgesetz", "article": "§ 3"},
            "anna.becker@bka.bund.de",
            [{"type": "account", "id": "@hassprediger_x"}],
            {},
        ),
        (
            "us-fbi",
            "US",
            "user-data",
            "subpoena",
            {"instrument": "18 U.S.C.", "article": "§ 2703(c)(2)"},
            "dana.morris@ic.fbi.gov",
            [{"type": "account", "id": "@sf_scammer"}],
            {"data_categories": ["subscriber"]},
        ),
        (
            "us-fbi",
            "US",
            "emergency-disclosure",
            "emergency",
            {"instrument": "18 U.S.C.", "article": "§ 2702(b)(8)"},
            "dana.morris@ic.fbi.gov",
            [{"type": "account", "id": "@ny_missing_teen"}],
            {
                "data_categories": ["subscriber", "traffic"],
                "emergency_justification": "Missing 15-year-old, last contact via this account",
            },
        ),
        (
            "us-cand-court",
            "US-CA",
            "user-data",
            "warrant",
            {"instrument": "18 U.S.C.", "article": "§ 2703(a)"},
            "robert.lee@cand.uscourts.gov",
            [{"type": "account", "id": "@sf_scammer"}],
            {"data_categories": ["content"]},
        ),
        (
            "us-fbi",
            "US",
            "preservation",
            "subpoena",
            {"instrument": "18 U.S.C.", "article": "§ 2703(f)"},
            "dana.morris@ic.fbi.gov",
            [{"type": "account", "id": "@sf_scammer"}],
            {},
        ),
        (
            "gb-met",
            "GB",
            "user-data",
            "court-order",
            {"instrument": "Investigatory Powers Act 2016", "article": "Part 3"},
            "priya.shah@met.police.uk",
            [{"type": "account", "id": "@london_drill"}],
            {"data_categories": ["subscriber"]},
        ),
        (
            "gb-met",
            "GB",
            "removal",
            "court-order",
            {"instrument": "Terrorism Act 2006", "article": "section 3"},
            "priya.shah@met.police.uk",
            [{"type": "account", "id": "@london_drill"}],
            {},
        ),
        (
            "in-meity",
            "IN",
            "geo-restriction",
            "administrative-order",
            {"instrument": "Information Technology Act 2000", "article": "Section 69A"},
            "arjun.rao@meity.gov.in",
            [{"type": "account", "id": "@delhi_farmer_voice"}],
            {},
        ),
        (
            "in-meity",
            "IN",
            "account-restriction",
            "administrative-order",
            {"instrument": "Information Technology Act 2000", "article": "Section 69A"},
            "arjun.rao@meity.gov.in",
            [{"type": "account", "id": "@delhi_farmer_voice"}],
            {},
        ),
    ]
    for round_ in range(2):
        for slug, jur, kind, process, basis, sender, targets, extra in others:
            received = _at(rng, rng.randint(6, 12))
            body = {
                "authority": slug,
                "jurisdiction": jur,
                "reference": unique(f"{slug.upper()}-{received:%Y}-", 100, 999, f"-{round_}"),
                "kind": kind,
                "legal_process": process,
                "legal_basis": basis,
                "received_at": received.isoformat(),
                "deadline": (received + timedelta(days=rng.choice([2, 10, 30]))).isoformat(),
                "targets": targets,
                "sender": sender,
                "summary": f"{kind.replace('-', ' ').capitalize()} request",
                **extra,
            }
            out.append(DemoDemand(body, rng.choice(["portal", "api", "email", "post"]), sender))
    out.sort(key=lambda d: str(d.body["received_at"]))
    return out
