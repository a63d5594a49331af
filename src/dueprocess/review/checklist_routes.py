"""HTTP for checklists: the JSON API and the staff pages. Thin: each handler opens one
transaction and calls :mod:`dueprocess.review.checklists`.

Reading checklists and a demand's answers needs ``review:read`` (every staff reader; not
officers: a demand's checklists are the service's own assessment, not the requester's).
Proposing needs ``checklists:propose``; approving and rejecting ``checklists:approve`` (the
service also refuses the proposer approving their own version); answering the legal
checklist ``review:legal``, the human-rights checklist ``review:human-rights``: one route
per checklist, so each route declares exactly the permission it needs. A bad checklist file
is answered 422 with one entry per problem, each with its ``line``, ``column`` and
``question`` besides ``loc``, ``msg`` and ``type``.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from dueprocess.accounts.permissions import Permission
from dueprocess.accounts.signin import Principal
from dueprocess.audit import service as audit
from dueprocess.errors import Conflict, InvalidInput, NotPermitted
from dueprocess.review import checklists
from dueprocess.review.checklist_file import (
    MAX_CHARS,
    ChecklistFileError,
    ChecklistProblem,
    dump_checklist,
)
from dueprocess.review.checklist_schemas import (
    ActivationOut,
    AnswerIn,
    DemandChecklistOut,
    ProposeIn,
    RejectIn,
    VersionOut,
)
from dueprocess.review.models import Answer, ChecklistKind, ChecklistStatus
from dueprocess.web.auth import requires, requires_page
from dueprocess.web.deps import TEMPLATES, unit_of_work
from dueprocess.web.params import Id

api = APIRouter(prefix="/api/v1", tags=["checklists"])
pages = APIRouter(include_in_schema=False)

Read = Annotated[Principal, Depends(requires(Permission.REVIEW_READ))]
Propose = Annotated[Principal, Depends(requires(Permission.CHECKLISTS_PROPOSE))]
Approve = Annotated[Principal, Depends(requires(Permission.CHECKLISTS_APPROVE))]
AnswerLegal = Annotated[Principal, Depends(requires(Permission.REVIEW_LEGAL))]
AnswerRights = Annotated[Principal, Depends(requires(Permission.REVIEW_HUMAN_RIGHTS))]
PageRead = Annotated[Principal, Depends(requires_page(Permission.REVIEW_READ))]
PagePropose = Annotated[Principal, Depends(requires_page(Permission.CHECKLISTS_PROPOSE))]
PageApprove = Annotated[Principal, Depends(requires_page(Permission.CHECKLISTS_APPROVE))]
PageAnswerLegal = Annotated[Principal, Depends(requires_page(Permission.REVIEW_LEGAL))]
PageAnswerRights = Annotated[Principal, Depends(requires_page(Permission.REVIEW_HUMAN_RIGHTS))]


def _doc(description: str) -> dict[str, str]:
    return {"description": description}


_UNAUTHENTICATED = _doc("No API token, or an unknown or revoked one.")
_BAD_FILE: dict[int | str, dict[str, Any]] = {
    401: _UNAUTHENTICATED,
    403: _doc("The token's account lacks checklists:propose."),
    422: _doc(
        "The checklist file has problems (each with line, column and question), the reason "
        "is empty, or the file is identical to the active version."
    ),
}
_DECIDE: dict[int | str, dict[str, Any]] = {
    401: _UNAUTHENTICATED,
    403: _doc("Lacks checklists:approve, or (approving) proposed this version: four eyes."),
    404: _doc("No such version."),
    409: _doc("The version is not proposed (already active, retired or rejected)."),
}
_ANSWER: dict[int | str, dict[str, Any]] = {
    401: _UNAUTHENTICATED,
    403: _doc("Lacks the permission to answer this checklist."),
    404: _doc("No such demand."),
    409: _doc(
        "The version answered is not the active one (retired, proposed or rejected: the "
        "message names the active version), or the demand is not in this checklist's review "
        "(legal-review, human-rights-review) or is closed (withdrawn, refused, decided...)."
    ),
    422: _doc(
        "A bad body: an empty note, an unknown version or one of the other kind, or a "
        "question the version does not have (the message lists its questions)."
    ),
}


def describe(problem: ChecklistProblem) -> str:
    """``line 14: questions[2].text (question "in-writing"): has no text``"""
    return "line " + problem.format("")[1:]


def problems_json(exc: ChecklistFileError, field: str = "text") -> JSONResponse:
    """422 naming each problem's place in the body, its line and column, and its question."""
    detail = [
        {
            "loc": ["body", field, *p.loc],
            "msg": describe(p),
            "type": p.type,
            "line": p.line,
            "column": p.column,
            "question": p.question_id,
        }
        for p in exc.problems
    ]
    return JSONResponse({"detail": detail}, status_code=422)


# --- API: versions ----------------------------------------------------------------------------


@api.get(
    "/checklists",
    response_model=list[VersionOut],
    summary="The active checklists",
    responses={401: _UNAUTHENTICATED, 403: _doc("Lacks review:read.")},
)
def get_active(request: Request, me: Read) -> list[VersionOut]:
    """The active version of each checklist (legal, then human rights), with its questions.
    The first look installs the defaults shipped with dueprocess if none is active."""
    with unit_of_work(request) as session:
        return checklists.active_out(session)


@api.get(
    "/checklists/versions",
    response_model=list[VersionOut],
    summary="Every checklist version",
    responses={401: _UNAUTHENTICATED, 403: _doc("Lacks review:read.")},
)
def list_versions(
    request: Request, me: Read, kind: ChecklistKind | None = None
) -> list[VersionOut]:
    """Every version (of ``kind``, or both), newest first: who proposed and decided it, when,
    why, its status and its questions."""
    with unit_of_work(request) as session:
        return checklists.versions_out(session, kind)


@api.post(
    "/checklists/versions",
    response_model=VersionOut,
    status_code=201,
    summary="Propose a checklist version",
    responses=_BAD_FILE,
)
def propose_version(request: Request, me: Propose, body: ProposeIn) -> Any:
    """Store a new version of the checklist the file names (its ``kind``), to be approved by
    another person; nothing is stored if the file has any problem."""
    try:
        with unit_of_work(request) as session:
            version = checklists.propose(
                session, body.text, body.source_name, body.reason, actor=me.actor
            )
            return checklists.version_out(session, version)
    except ChecklistFileError as exc:
        return problems_json(exc)


@api.post(
    "/checklists/versions/{version_id:int}/approve",
    response_model=ActivationOut,
    summary="Approve and activate a checklist version",
    responses=_DECIDE,
)
def approve_version(request: Request, version_id: Id, me: Approve) -> ActivationOut:
    """Activate a version proposed by someone else; the active version of its kind is
    retired. Answers to its unchanged questions (same id and text) carry over."""
    with unit_of_work(request) as session:
        done = checklists.approve(session, version_id, actor=me.actor)
        return ActivationOut(
            version=checklists.version_out(session, done.version),
            retired=done.retired.id if done.retired is not None else None,
        )


@api.post(
    "/checklists/versions/{version_id:int}/reject",
    response_model=VersionOut,
    summary="Reject a proposed checklist version",
    responses={**_DECIDE, 422: _doc("The reason is empty.")},
)
def reject_version(request: Request, version_id: Id, me: Approve, body: RejectIn) -> VersionOut:
    """Close a proposed version without activating it, with the reason."""
    with unit_of_work(request) as session:
        version = checklists.reject(session, version_id, body.reason, actor=me.actor)
        return checklists.version_out(session, version)


# --- API: a demand's checklists ---------------------------------------------------------------


def _read(request: Request, demand_id: Id, kind: ChecklistKind) -> DemandChecklistOut:
    with unit_of_work(request) as session:
        return checklists.demand_checklist(session, demand_id, kind)


_READ_ONE: dict[int | str, dict[str, Any]] = {
    401: _UNAUTHENTICATED,
    403: _doc("Lacks review:read."),
    404: _doc("No demand."),
}


# One route per kind, not ``/checklists/{kind}``: each path then serves exactly the methods
# its schema lists (GET here, POST below), as its 405's ``Allow`` says.
@api.get(
    "/demands/{demand_id:int}/checklists/legal",
    response_model=DemandChecklistOut,
    summary="A demand's legal checklist and its answers",
    responses=_READ_ONE,
)
def get_legal_checklist(request: Request, demand_id: Id, me: Read) -> DemandChecklistOut:
    """The active version's questions with the answers that count for this demand (given to
    it, or carried over from an earlier version whose question is unchanged), the required
    questions still unanswered, and whether it can be answered now."""
    return _read(request, demand_id, ChecklistKind.LEGAL)


@api.get(
    "/demands/{demand_id:int}/checklists/human-rights",
    response_model=DemandChecklistOut,
    summary="A demand's human-rights checklist and its answers",
    responses=_READ_ONE,
)
def get_human_rights_checklist(
    request: Request, demand_id: Id, me: Read
) -> DemandChecklistOut:
    """As the legal checklist, for the human-rights one."""
    return _read(request, demand_id, ChecklistKind.HUMAN_RIGHTS)


def _answer(
    request: Request, me: Principal, demand_id: Id, kind: ChecklistKind, body: AnswerIn
) -> DemandChecklistOut:
    with unit_of_work(request) as session:
        checklists.answer(
            session,
            demand_id,
            kind,
            version_id=body.version_id,
            question_id=body.question,
            value=body.answer,
            note=body.note,
            actor=me.actor,
        )
        return checklists.demand_checklist(session, demand_id, kind)


@api.post(
    "/demands/{demand_id:int}/checklists/legal",
    response_model=DemandChecklistOut,
    summary="Answer a question of the legal checklist",
    responses=_ANSWER,
)
def answer_legal(
    request: Request, demand_id: Id, me: AnswerLegal, body: AnswerIn
) -> DemandChecklistOut:
    """Record an answer (yes, no, not-applicable) and its note to one question of the active
    legal checklist, while the demand is in legal review; it replaces the demand's previous
    answer to that question. Answers the checklist as it now stands."""
    return _answer(request, me, demand_id, ChecklistKind.LEGAL, body)


@api.post(
    "/demands/{demand_id:int}/checklists/human-rights",
    response_model=DemandChecklistOut,
    summary="Answer a question of the human-rights checklist",
    responses=_ANSWER,
)
def answer_human_rights(
    request: Request, demand_id: Id, me: AnswerRights, body: AnswerIn
) -> DemandChecklistOut:
    """Record an answer and its note to one question of the active human-rights checklist,
    while the demand is in human-rights review; it replaces the previous answer to it."""
    return _answer(request, me, demand_id, ChecklistKind.HUMAN_RIGHTS, body)


# --- pages ------------------------------------------------------------------------------------

Field = Annotated[str, Form()]


def _page(request: Request, name: str, context: dict[str, Any], status: int = 200) -> HTMLResponse:
    return TEMPLATES.TemplateResponse(request, f"review/{name}", context, status_code=status)


def _problems(exc: Exception) -> list[str]:
    if isinstance(exc, ChecklistFileError):
        return [describe(p) for p in exc.problems]
    if isinstance(exc, InvalidInput):
        return [f"{e.where()}: {e.msg}" for e in exc.errors]
    return [str(exc)]


def _status(exc: Exception) -> int:
    """422 bad input, 403 not permitted (four eyes), 409 a state that does not allow it."""
    if isinstance(exc, NotPermitted):
        return 403
    return 422 if isinstance(exc, InvalidInput) else 409


@pages.get("/checklists", response_class=HTMLResponse)
def index_page(request: Request, me: PageRead) -> HTMLResponse:
    """The active checklists with their questions, and every version."""
    with unit_of_work(request) as session:
        context = {
            "active": checklists.active_out(session),
            "versions": checklists.versions_out(session),
        }
    return _page(request, "checklists.html", context)


def _propose_form(
    request: Request, text: str, reason: str, problems: list[str], status: int = 200
) -> HTMLResponse:
    context = {"text": text, "reason": reason, "problems": problems, "kinds": list(ChecklistKind)}
    return _page(request, "checklist_propose.html", context, status)


@pages.get("/checklists/propose", response_class=HTMLResponse)
def propose_form(
    request: Request, me: PagePropose, kind: ChecklistKind = ChecklistKind.LEGAL
) -> HTMLResponse:
    """The form to propose a version, filled with the active file of ``kind`` to edit."""
    with unit_of_work(request) as session:
        text = dump_checklist(checklists.document_of(checklists.active(session, kind)))
    return _propose_form(request, text, "", [])


@pages.post("/checklists/propose", response_class=HTMLResponse)
def propose_page(
    request: Request,
    me: PagePropose,
    text: Field = "",
    reason: Field = "",
    file: Annotated[UploadFile | None, File()] = None,
) -> Response:
    """Propose the uploaded file, or else the pasted text; its problems are listed with
    their lines, and nothing is stored."""
    source = "the pasted text"
    if file is not None and file.filename:
        source = file.filename
        raw = file.file.read(MAX_CHARS * 4 + 1)
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            problem = f"{file.filename}: not UTF-8 text; save the checklist as UTF-8"
            return _propose_form(request, "", reason, [problem], 422)
    if len(text) > MAX_CHARS:
        problem = f"the checklist is {len(text)} characters long; at most {MAX_CHARS}"
        return _propose_form(request, "", reason, [problem], 422)
    try:
        with unit_of_work(request) as session:
            version_id = checklists.propose(session, text, source, reason, actor=me.actor).id
    except (InvalidInput, Conflict, NotPermitted) as exc:
        return _propose_form(request, text, reason, _problems(exc), _status(exc))
    return RedirectResponse(f"/checklists/versions/{version_id}", status_code=303)


def _version(
    request: Request, me: Principal, version_id: Id, extra: dict[str, Any], status: int = 200
) -> HTMLResponse:
    with unit_of_work(request) as session:
        version = checklists.get_version(session, version_id)
        shown = checklists.version_out(session, version)
        current = checklists.active(session, version.kind)
        changes, dropped = checklists.compare(version, current)
        trail = audit.for_subject(session, f"checklist_version:{version_id}")
        mine = version.proposed_by == me.account_id
    proposed = shown.status is ChecklistStatus.PROPOSED
    may_decide = proposed and Permission.CHECKLISTS_APPROVE in me.permissions
    context = {
        "v": shown,
        "current_version": current.version,
        "current_id": current.id,
        "changes": changes,
        "dropped": dropped,
        "trail": trail,
        "mine": mine,
        "can_approve": may_decide and not mine,
        "can_reject": may_decide,
        **extra,
    }
    return _page(request, "checklist_version.html", context, status)


@pages.get("/checklists/versions/{version_id:int}", response_class=HTMLResponse)
def version_page(request: Request, version_id: Id, me: PageRead) -> HTMLResponse:
    """One version: its questions against the active version's, who proposed and decided
    it, its audit trail; approve or reject it."""
    return _version(request, me, version_id, {})


@pages.post("/checklists/versions/{version_id:int}/approve", response_class=HTMLResponse)
def approve_page(request: Request, version_id: Id, me: PageApprove) -> Response:
    """Approve and activate a version proposed by someone else."""
    try:
        with unit_of_work(request) as session:
            checklists.approve(session, version_id, actor=me.actor)
    except (Conflict, InvalidInput, NotPermitted) as exc:
        return _version(request, me, version_id, {"problems": _problems(exc)}, _status(exc))
    return RedirectResponse(f"/checklists/versions/{version_id}", status_code=303)


@pages.post("/checklists/versions/{version_id:int}/reject", response_class=HTMLResponse)
def reject_page(request: Request, version_id: Id, me: PageApprove, reason: Field = "") -> Response:
    """Reject a proposed version, with the reason."""
    try:
        with unit_of_work(request) as session:
            checklists.reject(session, version_id, reason, actor=me.actor)
    except (Conflict, InvalidInput, NotPermitted) as exc:
        return _version(request, me, version_id, {"problems": _problems(exc)}, _status(exc))
    return RedirectResponse(f"/checklists/versions/{version_id}", status_code=303)


def _demand_page(
    request: Request,
    demand_id: Id,
    kind: ChecklistKind,
    problems: list[str] | None = None,
    status: int = 200,
) -> HTMLResponse:
    with unit_of_work(request) as session:
        shown = checklists.demand_checklist(session, demand_id, kind)
    context = {"cl": shown, "checklist_problems": problems or [], "back": "checklist"}
    return _page(request, "demand_checklist.html", context, status)


@pages.get("/demands/{demand_id:int}/checklists/{kind}", response_class=HTMLResponse)
def demand_checklist_page(
    request: Request, demand_id: Id, kind: ChecklistKind, me: PageRead
) -> HTMLResponse:
    """A demand's checklist on a page of its own, with the answer forms."""
    return _demand_page(request, demand_id, kind)


def _answer_page(
    request: Request,
    me: Principal,
    demand_id: Id,
    kind: ChecklistKind,
    fields: dict[str, str],
) -> Response:
    try:
        version_id = fields["version_id"]
        if not version_id.isdigit():
            raise InvalidInput.one(("version_id",), "the form did not say which version it shows")
        try:
            value = Answer(fields["answer"])
        except ValueError:
            raise InvalidInput.one(("answer",), "choose yes, no or not applicable") from None
        with unit_of_work(request) as session:
            checklists.answer(
                session,
                demand_id,
                kind,
                version_id=int(version_id),
                question_id=fields["question"][:100],
                value=value,
                note=fields["note"],
                actor=me.actor,
            )
    except (Conflict, InvalidInput, NotPermitted) as exc:
        return _demand_page(request, demand_id, kind, _problems(exc), _status(exc))
    anchor = f"#q-{kind.value}-{fields['question']}"
    back = {"checklist": f"/checklists/{kind.value}", "review": "/review"}.get(fields["back"], "")
    return RedirectResponse(f"/demands/{demand_id}{back}{anchor}", status_code=303)


@pages.post("/demands/{demand_id:int}/checklists/legal", response_class=HTMLResponse)
def answer_legal_page(
    request: Request,
    demand_id: Id,
    me: PageAnswerLegal,
    version_id: Field = "",
    question: Field = "",
    answer: Field = "",
    note: Field = "",
    back: Field = "",
) -> Response:
    """Answer one question of the legal checklist from the demand's page."""
    fields = {"version_id": version_id, "question": question, "answer": answer, "note": note}
    return _answer_page(request, me, demand_id, ChecklistKind.LEGAL, {**fields, "back": back})


@pages.post("/demands/{demand_id:int}/checklists/human-rights", response_class=HTMLResponse)
def answer_human_rights_page(
    request: Request,
    demand_id: Id,
    me: PageAnswerRights,
    version_id: Field = "",
    question: Field = "",
    answer: Field = "",
    note: Field = "",
    back: Field = "",
) -> Response:
    """Answer one question of the human-rights checklist from the demand's page."""
    fields = {"version_id": version_id, "question": question, "answer": answer, "note": note}
    return _answer_page(
        request, me, demand_id, ChecklistKind.HUMAN_RIGHTS, {**fields, "back": back}
    )
