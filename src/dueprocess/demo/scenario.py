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

# Posts in Simplified Chinese, more English, religious and ordinary Chinese posts: what the
# risk flags read (review/lexicon.yaml). Published by :func:`more_posts`, after the posts
# above, without drawing on the seed's random numbers (so the demands they generate stay
# the same); the demands of :func:`risk_examples` target them.
PROTEST_POSTS_HANS = [
    "光复香港，时代革命",
    "五大诉求，缺一不可",
    "今晚八点，铜锣湾集合，和平表达意见",
    "香港人，加油！反对国安法",
]
CRITICISM_POSTS_EN = [
    "Carrie Lam must step down. Police brutality has to end.",
    "Join the march on Sunday: five demands, not one less.",
]
JOURNALISM_POSTS = [
    ("記者在銅鑼灣現場報道：警察施放催淚彈，多人被捕。", "zh-Hant"),
    ("记者在铜锣湾现场报道：警察施放催泪弹，多人被捕。", "zh-Hans"),
]
RELIGIOUS_POSTS = [
    ("主日崇拜後為香港禱告，願主保守每一位受逼迫的人。", "zh-Hant"),
    ("主日崇拜后为香港祷告，愿主保守每一位受逼迫的人。", "zh-Hans"),
    ("Sunday service: we pray for Hong Kong and for everyone in prison for their faith.", "en"),
]
#: Everyday posts in both scripts: the risk flags must find nothing in them (nor in
#: :data:`ORDINARY_POSTS`), though 飲茶 is in 和你飲茶 and 游行 in 旅游行程.
ORDINARY_POSTS_ZH = [
    ("今朝同屋企人去飲茶，蝦餃好好味。", "zh-Hant"),
    ("今日落大雨，記得帶遮。", "zh-Hant"),
    ("今晚睇波，曼聯對利物浦。", "zh-Hant"),
    ("这家餐厅的小笼包真好吃。", "zh-Hans"),
    ("今天天气很好，我们去公园跑步。", "zh-Hans"),
    ("周末的旅游行程已经订好了，期待！", "zh-Hans"),
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

#: The protected-accounts list of the demo (handle, category, the keepers' note).
PROTECTED_ACCOUNTS: list[tuple[str, str, str]] = [
    ("standnews_reporter", "journalist", "Reporter for an independent outlet (demo)"),
    ("lamwingkee_hk", "activist", "Organises solidarity campaigns (demo)"),
    ("hk_student_union", "activist", "Student union that called the 2019 class boycotts (demo)"),
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


def more_posts() -> list[DemoPost]:
    """Posts the risk flags are shown on, published after :func:`posts` (no randomness):
    Simplified Chinese and English protest posts for the Hong Kong activists, reporting in
    both scripts for the journalist, the pastor's religious posts, everyday Chinese posts for
    the ordinary Hong Kong accounts. Dated 1 to 3 July 2020."""
    start = datetime(2020, 7, 1, 9, tzinfo=UTC)
    plan: list[tuple[str, list[tuple[str, str]]]] = [
        (
            "hk_student_union",
            [(t, "zh-Hans") for t in PROTEST_POSTS_HANS[:2]] + [(CRITICISM_POSTS_EN[1], "en")],
        ),
        (
            "lamwingkee_hk",
            [(t, "zh-Hans") for t in PROTEST_POSTS_HANS[2:]] + [(CRITICISM_POSTS_EN[0], "en")],
        ),
        ("standnews_reporter", JOURNALISM_POSTS),
        ("hk_pastor_lee", RELIGIOUS_POSTS),
        ("causeway_bay_mum", ORDINARY_POSTS_ZH[:2]),
        ("kowloon_cyclist", ORDINARY_POSTS_ZH[2:4]),
        ("tsimshatsui_foodie", ORDINARY_POSTS_ZH[4:]),
    ]
    out = []
    for handle, texts in plan:
        for n, (text, language) in enumerate(texts):
            out.append(DemoPost(handle, text, language, start + timedelta(days=n, hours=n)))
    return out


def _extra_urls(post_urls: dict[str, list[str]], handle: str) -> list[str]:
    """The URLs of ``handle``'s :func:`more_posts`, the last of its posts."""
    count = sum(1 for p in more_posts() if p.handle == handle)
    urls = post_urls.get(handle) or []
    return urls[-count:] if count and len(urls) >= count else []


def risk_examples(post_urls: dict[str, list[str]]) -> list[DemoDemand]:
    """Hong Kong demands that show each risk flag with its evidence (no randomness):
    Simplified and English protest posts, a journalist's reporting asked as content on an
    administrative order over two years, a pastor's prayers, a sweep of eleven posts, and
    one everyday post that raises nothing. Skipped where the posts are missing."""
    union = _extra_urls(post_urls, "hk_student_union")
    lam = _extra_urls(post_urls, "lamwingkee_hk")
    reporter = _extra_urls(post_urls, "standnews_reporter")
    pastor = _extra_urls(post_urls, "hk_pastor_lee")
    mum = _extra_urls(post_urls, "causeway_bay_mum")
    if not (union and lam and reporter and pastor and mum):
        return []

    def content(urls: list[str]) -> list[dict[str, str]]:
        return [{"type": "content", "id": u} for u in urls]

    plans: list[tuple[str, str, list[dict[str, str]], str, dict[str, Any]]] = [
        (
            "removal",
            "2020-07-15T10:20:00+08:00",
            content([union[0], union[2]]),
            "Remove posts inciting secession and an unauthorised assembly",
            {},
        ),
        (
            "user-data",
            "2020-07-20T16:05:00+08:00",
            content(reporter),
            "Identify the reporter and produce all their messages",
            {
                "data_categories": ["subscriber", "content"],
                "period_start": "2019-01-01T00:00:00+08:00",
                "period_end": "2020-07-10T00:00:00+08:00",
            },
        ),
        ("removal", "2020-07-22T11:40:00+08:00", content(pastor[:2]), "Remove two posts", {}),
        (
            "preservation",
            "2020-07-24T09:15:00+08:00",
            content(union + lam + reporter[:2] + pastor),
            "Preserve the listed messages pending investigation",
            {},
        ),
        ("removal", "2020-07-27T14:00:00+08:00", content(mum[:1]), "Remove a post", {}),
    ]
    out = []
    for number, (kind, received, targets, summary, extra) in enumerate(plans, start=1):
        body: dict[str, Any] = {
            "authority": "hkpf-nsd",
            "jurisdiction": "HK",
            "reference": f"NSD/202007/R{number:03d}",
            "kind": kind,
            "legal_process": "administrative-order",
            "legal_basis": {
                "instrument": HK_RULES,
                "article": "Schedule 4" if kind == "removal" else "Schedule 7",
            },
            "received_at": received,
            "deadline": (datetime.fromisoformat(received) + timedelta(days=3)).isoformat(),
            "penalty": HK_PENALTY,
            "targets": targets,
            "sender": "chan.taiman@police.gov.hk",
            "summary": summary,
            **extra,
        }
        out.append(DemoDemand(body, "portal", "chan.taiman@police.gov.hk"))
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
            "reference": f"NSD/{received:%Y%m}/{rng.randint(1000, 9999)}",
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
                "reference": f"{slug.upper()}-{received:%Y}-{rng.randint(100, 999)}-{round_}",
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
    out += risk_examples(post_urls)
    out.sort(key=lambda d: str(d.body["received_at"]))
    return out
