"""The checklist API over real HTTP, against the real app and database: versions proposed and
approved by two people, a demand's checklist read and answered, and every refusal answered
with its status and reason, changing nothing."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy.orm import Session

from dueprocess.accounts.models import Account
from dueprocess.accounts.passwords import current_code
from dueprocess.demands import service as demands
from dueprocess.demands.models import DemandStatus
from dueprocess.review import checklists
from dueprocess.review.checklist_file import dump_checklist
from dueprocess.review.models import ChecklistKind
from dueprocess.runtime import Runtime
from tests import factories
from tests.conftest import LiveServer

LEGAL = ChecklistKind.LEGAL


@pytest.fixture
def world(session: Session, runtime: Runtime) -> dict[str, Any]:
    """A demand in legal review, another just received, and tokens for each role."""
    factories.authority(session)
    demand = factories.submit(session, runtime, factories.body()).demand
    waiting = factories.submit(session, runtime, factories.body(reference="NSD-2")).demand
    demands.move(
        session, demand, DemandStatus.LEGAL_REVIEW, actor="test", by=factories.ANYONE, reason="t"
    )
    tokens = {
        name: factories.bearer(factories.token(session, f"{name}@example.org", [role]))
        for name, role in (
            ("owner", "policy-owner"),
            ("approver", "approver"),
            ("legal", "legal-reviewer"),
            ("rights", "human-rights-reviewer"),
            ("auditor", "auditor"),
        )
    }
    session.commit()
    return {"demand": demand.id, "waiting": waiting.id, **tokens}


@pytest.fixture
def api(live_server: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live_server.url) as client:
        yield client


def legal_file(in_writing: str = "Do we hold the demand itself as a document?") -> str:
    document = checklists.default_document(LEGAL)
    old = document.question("in-writing")
    assert old is not None
    return dump_checklist(document).replace(f"text: {old.text}", f"text: {in_writing}")


def test_propose_four_eyes_approve_and_read_back(api: httpx.Client, world: dict[str, Any]) -> None:
    active = api.get("/api/v1/checklists", headers=world["auditor"])
    assert active.status_code == 200, active.text
    first_legal = active.json()[0]
    assert [(v["kind"], v["version"], v["status"]) for v in active.json()] == [
        ("legal", 1, "active"),
        ("human-rights", 1, "active"),
    ]
    assert first_legal["proposed_by"] is None  # the shipped default
    assert first_legal["questions"][0]["id"] == "in-writing"

    body = {"text": legal_file(), "reason": "clearer first question", "source_name": "l.yaml"}
    assert (
        api.post("/api/v1/checklists/versions", json=body, headers=world["approver"]).status_code
        == 403
    )
    created = api.post("/api/v1/checklists/versions", json=body, headers=world["owner"])
    assert created.status_code == 201, created.text
    version = created.json()
    assert (version["kind"], version["version"], version["status"]) == ("legal", 2, "proposed")
    assert version["proposed_by"] == "owner@example.org"

    path = f"/api/v1/checklists/versions/{version['id']}/approve"
    own = api.post(path, headers=world["owner"])
    assert own.status_code == 403
    assert own.json()["detail"].startswith("four eyes: checklist version")
    assert api.post(path, headers=world["legal"]).status_code == 403
    done = api.post(path, headers=world["approver"])
    assert done.status_code == 200, done.text
    assert done.json()["retired"] == first_legal["id"]
    assert done.json()["version"]["decided_by"] == "approver@example.org"
    again = api.post(path, headers=world["approver"])
    assert again.status_code == 409
    assert "only a proposed version" in again.json()["detail"]
    assert (
        api.post(
            "/api/v1/checklists/versions/999999/approve", headers=world["approver"]
        ).status_code
        == 404
    )

    history = api.get("/api/v1/checklists/versions?kind=legal", headers=world["legal"]).json()
    assert [(v["version"], v["status"]) for v in history] == [(2, "active"), (1, "retired")]


def test_a_malformed_file_is_422_with_line_and_question(
    api: httpx.Client, world: dict[str, Any]
) -> None:
    text = "title: Legal\nkind: legal\nquestions:\n  - id: a\n    text: Is it?\n"
    text += "  - id: a\n    text: ''\n"
    answer = api.post(
        "/api/v1/checklists/versions",
        json={"text": text, "reason": "x"},
        headers=world["owner"],
    )
    assert answer.status_code == 422
    assert answer.json()["detail"] == [
        {
            "loc": ["body", "text", "questions", 1, "id"],
            "msg": 'line 6: questions[1].id (question "a"): id "a" is already used by '
            "questions[0] (line 4)",
            "type": "value_error",
            "line": 6,
            "column": 9,
            "question": "a",
        },
        {
            "loc": ["body", "text", "questions", 1, "text"],
            "msg": 'line 7: questions[1].text (question "a"): has no text',
            "type": "value_error",
            "line": 7,
            "column": 11,
            "question": "a",
        },
    ]
    listed = api.get("/api/v1/checklists/versions", headers=world["owner"]).json()
    assert [v["status"] for v in listed] == ["active", "active"]  # nothing stored


def test_reject_with_a_reason(api: httpx.Client, world: dict[str, Any]) -> None:
    body = {"text": legal_file(), "reason": "try"}
    version = api.post("/api/v1/checklists/versions", json=body, headers=world["owner"]).json()
    path = f"/api/v1/checklists/versions/{version['id']}/reject"
    empty = api.post(path, json={"reason": " "}, headers=world["approver"])
    assert empty.status_code == 422
    assert empty.json()["detail"][0]["loc"] == ["body", "reason"]
    done = api.post(path, json={"reason": "wait for counsel"}, headers=world["approver"])
    assert done.status_code == 200, done.text
    assert (done.json()["status"], done.json()["decided_by"]) == (
        "rejected",
        "approver@example.org",
    )


def _answer(world: dict[str, Any], version_id: int, **changes: Any) -> dict[str, Any]:
    return {
        "version_id": version_id,
        "question": "in-writing",
        "answer": "yes",
        "note": "Signed order received as a PDF",
        **changes,
    }


def test_a_reviewer_answers_and_reads_the_checklist(
    api: httpx.Client, world: dict[str, Any]
) -> None:
    path = f"/api/v1/demands/{world['demand']}/checklists/legal"
    shown = api.get(path, headers=world["auditor"])
    assert shown.status_code == 200, shown.text
    checklist = shown.json()
    assert (checklist["version"], checklist["complete"], checklist["answerable"]) == (
        1,
        False,
        True,
    )
    assert checklist["answer_permission"] == "review:legal"
    assert checklist["missing_required"][0] == "in-writing"

    answered = api.post(path, json=_answer(world, checklist["version_id"]), headers=world["legal"])
    assert answered.status_code == 200, answered.text
    item = answered.json()["items"][0]
    assert item["question"]["id"] == "in-writing"
    assert item["answer"]["answer"] == "yes"
    assert item["answer"]["note"] == "Signed order received as a PDF"
    assert item["answer"]["answered_by"] == "legal@example.org"
    assert item["answer"]["carried_over"] is False
    assert "in-writing" not in answered.json()["missing_required"]
    assert api.get(path, headers=world["legal"]).json() == answered.json()

    rights = api.get(
        f"/api/v1/demands/{world['demand']}/checklists/human-rights", headers=world["rights"]
    ).json()
    assert rights["answerable"] is False
    assert rights["why_not"].startswith("the human-rights checklist is answered while")


def test_every_refused_answer_names_the_problem_and_changes_nothing(
    api: httpx.Client, world: dict[str, Any], session: Session
) -> None:
    path = f"/api/v1/demands/{world['demand']}/checklists/legal"
    before = api.get(path, headers=world["legal"]).json()
    version_id = before["version_id"]
    proposed = api.post(
        "/api/v1/checklists/versions",
        json={"text": legal_file(), "reason": "clearer"},
        headers=world["owner"],
    ).json()
    api.post(f"/api/v1/checklists/versions/{proposed['id']}/approve", headers=world["approver"])

    def refused(url: str, body: dict[str, Any], who: str) -> httpx.Response:
        return api.post(url, json=body, headers=world[who])

    # A question of a retired version: 409 naming the active one.
    retired = refused(path, _answer(world, version_id), "legal")
    assert retired.status_code == 409
    assert retired.json()["detail"] == (
        f"legal checklist version 1 is retired, not active: answer version 2 (id "
        f"{proposed['id']}), the active one; question 'in-writing' reads differently in it: "
        "read it again"
    )
    active_id = proposed["id"]
    # Someone without the permission: the human-rights reviewer on the legal checklist, the
    # legal reviewer on the human-rights one.
    assert refused(path, _answer(world, active_id), "rights").status_code == 403
    rights_path = f"/api/v1/demands/{world['demand']}/checklists/human-rights"
    no_permission = refused(rights_path, _answer(world, active_id), "legal")
    assert no_permission.status_code == 403
    assert no_permission.json()["detail"] == "this needs the review:human-rights permission"
    # A demand not in legal review, an unknown demand, an unknown question, no note.
    waiting = refused(
        f"/api/v1/demands/{world['waiting']}/checklists/legal", _answer(world, active_id), "legal"
    )
    assert waiting.status_code == 409
    assert (
        "answered while the demand is in legal-review; it is received" in waiting.json()["detail"]
    )
    missing = refused("/api/v1/demands/999999/checklists/legal", _answer(world, active_id), "legal")
    assert missing.status_code == 404
    unknown = refused(path, _answer(world, active_id, question="nope"), "legal")
    assert unknown.status_code == 422
    assert unknown.json()["detail"][0]["loc"] == ["body", "question"]
    assert "has no question 'nope'" in unknown.json()["detail"][0]["msg"]
    blank = refused(path, _answer(world, active_id, note=""), "legal")
    assert blank.status_code == 422
    assert blank.json()["detail"][0]["loc"] == ["body", "note"]
    wrong_value = refused(path, _answer(world, active_id, answer="maybe"), "legal")
    assert wrong_value.status_code == 422
    assert wrong_value.json()["detail"][0]["loc"] == ["body", "answer"]

    # Ids no row can have are a bad parameter (422, web/params.py) or a bad field (422),
    # never a database error.
    huge = 10**12
    beyond = refused(f"/api/v1/demands/{huge}/checklists/legal", _answer(world, active_id), "legal")
    assert beyond.status_code == 422
    assert beyond.json()["detail"][0]["loc"] == ["path", "demand_id"]
    assert (
        api.get(f"/api/v1/demands/{huge}/checklists/legal", headers=world["legal"]).status_code
        == 422
    )
    too_big = refused(path, _answer(world, huge), "legal")
    assert too_big.status_code == 422
    assert too_big.json()["detail"][0]["loc"] == ["body", "version_id"]
    assert (
        api.post(
            f"/api/v1/checklists/versions/{huge}/approve", headers=world["approver"]
        ).status_code
        == 422
    )

    after = api.get(path, headers=world["legal"]).json()
    assert all(item["answer"] is None for item in after["items"])
    session.expire_all()
    assert checklists.counted_answers(session, world["demand"], LEGAL)[1] == {}


def test_the_openapi_names_every_refusal(api: httpx.Client, world: dict[str, Any]) -> None:
    spec = api.get("/openapi.json").json()
    for kind in ("legal", "human-rights"):
        post = spec["paths"][f"/api/v1/demands/{{demand_id}}/checklists/{kind}"]["post"]
        assert {"200", "401", "403", "404", "409", "422"} <= set(post["responses"])
        assert "retired" in post["responses"]["409"]["description"]
    approve = spec["paths"]["/api/v1/checklists/versions/{version_id}/approve"]["post"]
    assert "four eyes" in approve["responses"]["403"]["description"]


def _sign_in(client: httpx.Client, account: Account) -> None:
    """Sign in through the real form (with the TOTP code where the role needs one)."""
    form = client.get("/sign-in")
    presign = re.search(r'name="presign" value="([^"]+)"', form.text)
    assert presign is not None
    code = current_code(account.totp_secret) if account.totp_secret else ""
    answer = client.post(
        "/sign-in",
        data={
            "email": account.email,
            "password": factories.PASSWORD,
            "code": code,
            "presign": presign[1],
            "next": "/demands",
        },
    )
    assert answer.status_code == 303, answer.text


def test_the_demand_page_shows_checklists_to_staff_only(
    live_server: LiveServer, session: Session, world: dict[str, Any]
) -> None:
    officer = factories.account(session, "officer@police.gov.hk", ["officer"], "hkpf-nsd")
    auditor = factories.account(session, "auditor-page@example.org", ["auditor"])
    legal = factories.account(session, "legal-page@example.org", ["legal-reviewer"])
    session.commit()
    page = f"/demands/{world['demand']}"
    with httpx.Client(base_url=live_server.url) as client:
        _sign_in(client, legal)
        shown = client.get(page).text
        assert 'id="checklist-legal"' in shown
        assert f'action="/demands/{world["demand"]}/checklists/legal"' in shown
        assert f'action="/demands/{world["demand"]}/checklists/human-rights"' not in shown
    with httpx.Client(base_url=live_server.url) as client:
        _sign_in(client, auditor)
        shown = client.get(page).text
        assert 'id="checklist-human-rights"' in shown
        assert 'name="question"' not in shown  # reads, never answers
        assert "Answered by holders of the review:legal permission" in shown
    with httpx.Client(base_url=live_server.url) as client:
        _sign_in(client, officer)
        as_officer = client.get(page)
        assert as_officer.status_code == 200
        assert "checklist" not in as_officer.text.lower()


def test_propose_by_upload_on_the_page(
    live_server: LiveServer, session: Session, world: dict[str, Any]
) -> None:
    owner = factories.account(session, "owner-page@example.org", ["policy-owner"])
    session.commit()
    with httpx.Client(base_url=live_server.url) as client:
        _sign_in(client, owner)
        form = client.get("/checklists/propose?kind=human-rights")
        assert form.status_code == 200
        token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
        assert token is not None
        fields = {
            "csrf_token": token[1],
            "reason": "plainer",
            "text": "ignored when a file is sent",
        }
        latin1 = client.post(
            "/checklists/propose",
            data=fields,
            files={
                "file": (
                    "hr.yaml",
                    "title: Menschenrechte – Prüfung\n".encode("latin-1", "replace"),
                )
            },
        )
        assert latin1.status_code == 422
        assert "hr.yaml: not UTF-8 text; save the checklist as UTF-8" in latin1.text
        bad = client.post(
            "/checklists/propose",
            data=fields,
            files={"file": ("hr.yaml", b"title: T\nkind: human-rights\nquestions: []\n")},
        )
        assert bad.status_code == 422
        assert "line 3: questions: a checklist needs at least one question" in bad.text
        text = dump_checklist(checklists.default_document(ChecklistKind.HUMAN_RIGHTS))
        text = text.replace("on the facts it states", "on the facts it gives")
        text = text.replace("supported by the facts it states", "supported by the facts it gives")
        done = client.post(
            "/checklists/propose", data=fields, files={"file": ("hr.yaml", text.encode())}
        )
        assert done.status_code == 303, done.text
        shown = client.get(done.headers["location"]).text
        assert "human-rights version 2" in shown
        assert "supported by the facts it gives" in shown
        no_token = client.post("/checklists/propose", data={"reason": "x", "text": text})
        assert no_token.status_code == 403
