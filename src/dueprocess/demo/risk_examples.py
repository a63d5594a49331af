"""The demo's posts and demands that show each risk flag (docs/review.md, "Risk flags").

Posts in Simplified Chinese and English beside the scenario's Traditional Chinese slogans,
reporting, prayers, and everyday posts in both scripts that must raise nothing; a few Hong
Kong demands targeting them; the demo's protected-accounts list. Nothing here draws on the
scenario's random numbers, so the seeded scenario (:mod:`dueprocess.demo.scenario`) stays as
it was: these posts are published after its own, and these demands are entered among its
own in the order they were received.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from dueprocess.demo.scenario import HK_PENALTY, HK_RULES, DemoDemand, DemoPost

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
#: :data:`scenario.ORDINARY_POSTS`), though 飲茶 is in 和你飲茶 and 游行 in 旅游行程.
ORDINARY_POSTS_ZH = [
    ("今朝同屋企人去飲茶，蝦餃好好味。", "zh-Hant"),
    ("今日落大雨，記得帶遮。", "zh-Hant"),
    ("今晚睇波，曼聯對利物浦。", "zh-Hant"),
    ("这家餐厅的小笼包真好吃。", "zh-Hans"),
    ("今天天气很好，我们去公园跑步。", "zh-Hans"),
    ("周末的旅游行程已经订好了，期待！", "zh-Hans"),
]

#: The protected-accounts list of the demo (handle, category, the keepers' note).
PROTECTED_ACCOUNTS: list[tuple[str, str, str]] = [
    ("standnews_reporter", "journalist", "Reporter for an independent outlet (demo)"),
    ("lamwingkee_hk", "activist", "Organises solidarity campaigns (demo)"),
    ("hk_student_union", "activist", "Student union that called the 2019 class boycotts (demo)"),
]


def posts() -> list[DemoPost]:
    """Posts the risk flags are shown on, published after :func:`scenario.posts`:
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
    """The URLs of ``handle``'s :func:`posts`, the last of its posts."""
    count = sum(1 for p in posts() if p.handle == handle)
    urls = post_urls.get(handle) or []
    return urls[-count:] if count and len(urls) >= count else []


def demands(post_urls: dict[str, list[str]]) -> list[DemoDemand]:
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
                "period_start": "2019-01-01T00:00:00Z",
                "period_end": "2020-07-10T00:00:00Z",
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
