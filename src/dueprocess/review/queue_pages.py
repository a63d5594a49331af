"""Staff pages of the review queues: ``/review`` (every queue, with links to its overdue and
due-soon views) and ``/review/{queue}`` (a page of one queue: the filter form and search
box, the rows most urgent first, cursor links, and the bulk forms). Thin: the page is read by
the same function as the API (:func:`dueprocess.review.queues.read_page`), and a bulk
step calls :mod:`dueprocess.review.bulk`.

A bad filter shows the page with the problem named (422), nothing filtered. A bulk step
done redirects back to the same page (303) saying what it did; one refused shows the page
again with each refused demand named and nothing changed (409, 422 or 403).
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import parse_qsl, urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData

from dueprocess.accounts import service as accounts
from dueprocess.accounts.permissions import Permission
from dueprocess.accounts.signin import Principal
from dueprocess.clock import utcnow
from dueprocess.demands.models import DemandKind, DemandStatus, LegalProcess
from dueprocess.errors import Conflict, InvalidInput, NotFound, NotPermitted
from dueprocess.policy.vocabulary import Stance
from dueprocess.review import bulk, queue_filters, queues
from dueprocess.review.assignment import WORKERS
from dueprocess.web.auth import requires_page
from dueprocess.web.deps import TEMPLATES, runtime_of, unit_of_work

pages = APIRouter(include_in_schema=False)

PageRead = Annotated[Principal, Depends(requires_page(Permission.REVIEW_READ))]
PageWork = Annotated[Principal, Depends(requires_page(Permission.REVIEW_WORK))]

#: The query parameters a queue page keeps in its links (filters and where it is).
KEPT = (*queue_filters.PARAMETERS, "after", "before")
_DONE = {
    "assign": "Assigned {n}.",
    "release": "Put {n} back in the queue.",
    "send": "Sent {n} on.",
}


@pages.get("/review", response_class=HTMLResponse)
def queues_page(request: Request, me: PageRead) -> HTMLResponse:
    """Every queue with how many demands wait in it, overdue, due soon, and the reader's."""
    with unit_of_work(request) as session:
        counted = queues.index(session, me=me.account_id, now=utcnow())
    return TEMPLATES.TemplateResponse(
        request, "review/queues.html", {"counts": counted, "exact_up_to": queues.EXACT_UP_TO}
    )


def _values(pairs: list[tuple[str, str]]) -> dict[str, str]:
    return {k: v for k, v in pairs if k in KEPT and v.strip()}


def _render(
    request: Request,
    session: Session,
    me: Principal,
    queue: str,
    values: dict[str, str],
    *,
    problems: list[str] | None = None,
    status_code: int = 200,
    chosen: frozenset[int] = frozenset(),
) -> HTMLResponse:
    shown: queues.Page | None = None
    filters: queue_filters.Filters | None = None
    bad: list[str] = []
    try:
        shown, filters = queues.read_page(
            session, queue, {k: v for k, v in values.items() if k in queue_filters.PARAMETERS},
            me=me.account_id, after=values.get("after"), before=values.get("before"),
            limit=queues.DEFAULT_LIMIT,
        )  # fmt: skip
    except InvalidInput as exc:
        bad = [f"{e.loc[-1]}: {e.msg}" for e in exc.errors]
        status_code = 422
    status, role = queues.QUEUES[queue]
    here = {k: v for k, v in values.items() if k in queue_filters.PARAMETERS}
    context: dict[str, Any] = {
        "queue": queue,
        "status": status.value,
        "role": role,
        "page": shown,
        "given": filters.given if filters else here,
        "values": here,
        "link": lambda **changes: _link(queue, here, changes),
        "back": urlencode(values),
        "problems": (problems or []) + bad,
        "done": _done(request),
        "exact_up_to": queues.EXACT_UP_TO,
        "kinds": [k.value for k in DemandKind],
        "processes": [p.value for p in LegalProcess],
        "stances": [s.value for s in Stance],
        "verifications": queue_filters.VERIFICATION_STATES,
        "flag_codes": queue_filters.FLAG_CODES,
        "colleagues": _colleagues(session, status),
        "can_work": Permission.REVIEW_WORK in me.permissions,
        "can_send": (status is DemandStatus.RECEIVED and "intake" in me.roles)
        or (status is DemandStatus.LEGAL_REVIEW and "legal-reviewer" in me.roles),
        "chosen": chosen,
    }
    return TEMPLATES.TemplateResponse(request, "review/queue.html", context,
                                      status_code=status_code)  # fmt: skip


def _link(queue: str, values: dict[str, str], changes: dict[str, str | None]) -> str:
    merged = {**values, **changes}
    query = urlencode({k: v for k, v in merged.items() if v})
    return f"/review/{queue}" + (f"?{query}" if query else "")


def _done(request: Request) -> str | None:
    key = request.query_params.get("done", "")
    count = request.query_params.get("n", "")
    if key not in _DONE or not count.isdigit() or len(count) > 5:
        return None
    return _DONE[key].format(n=f"{count} demand{'s' if count != '1' else ''}")


def _colleagues(session: Session, status: DemandStatus) -> list[str]:
    workers = WORKERS.get(status, frozenset())
    return sorted(
        a.email
        for a in accounts.list_all(session)
        if not a.disabled and not workers.isdisjoint(a.roles)
    )


@pages.get("/review/{queue}", response_class=HTMLResponse)
def queue_page(request: Request, queue: str, me: PageRead) -> HTMLResponse:
    """One queue, most urgent first, under the filters and search in the query string."""
    if queue not in queues.QUEUES:
        raise NotFound(f"queue {queue}")
    values = _values(list(request.query_params.multi_items()))
    with unit_of_work(request) as session:
        return _render(request, session, me, queue, values)


def _items(form: FormData) -> tuple[list[bulk.Item], list[str]]:
    items, bad = [], []
    for raw in form.getlist("demand"):
        text = raw if isinstance(raw, str) else ""
        demand_id, _, revision = text.partition(":")
        short = len(demand_id) < 11 and len(revision) < 11
        if demand_id.isdigit() and revision.isdigit() and short:
            items.append(bulk.Item(int(demand_id), int(revision)))
        else:
            bad.append(f"demand: {text[:40]!r} is not a demand of this page")
    return items, bad


@pages.post("/review/{queue}/bulk")
async def bulk_page(request: Request, queue: str, me: PageWork) -> Response:
    """A bulk step from the queue page's forms: assign the chosen demands, release them, or
    send them on. Back to the same page (303) when done."""
    if queue not in queues.QUEUES:
        raise NotFound(f"queue {queue}")
    form = await request.form()
    return await run_in_threadpool(_bulk, request, queue, me, form)


def _text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


def _bulk(request: Request, queue: str, me: Principal, form: FormData) -> Response:
    back = _values(parse_qsl(_text(form, "back")))
    action = _text(form, "action")
    items, bad = _items(form)
    problems: list[str] = []
    code = 200
    chosen = frozenset(i.demand_id for i in items)
    try:
        if bad:
            raise InvalidInput.one(("demand",), "; ".join(bad))
        if action not in _DONE:
            raise InvalidInput.one(("action",), "choose assign, release or send")
        with unit_of_work(request) as session:
            if action == "send":
                to = _text(form, "to")
                if to not in (DemandStatus.LEGAL_REVIEW.value,
                              DemandStatus.HUMAN_RIGHTS_REVIEW.value):  # fmt: skip
                    raise InvalidInput.one(("to",), "choose legal review or human-rights review")
                done = bulk.send(session, items, DemandStatus(to), me=me,
                                 reason=_text(form, "reason"),
                                 connectors=runtime_of(request).connectors)  # fmt: skip
            else:
                assignee_id = None
                if action == "assign":
                    email = _text(form, "assignee").strip()
                    found = accounts.get_by_email(session, email) if email else None
                    if found is None:
                        raise InvalidInput.one(("assignee",), f"there is no account {email!r}")
                    assignee_id = found.id
                done = bulk.assign(session, items, assignee_id, me=me)
        count = len(done.changed)
        return RedirectResponse(
            _link(queue, back, {"done": action, "n": str(count)}), status_code=303
        )
    except bulk.Refused as exc:
        code = 409
        problems = [f"demand {i}: {why}" for i, why in exc.refused]
    except InvalidInput as exc:
        code = 422
        problems = [f"{e.where()}: {e.msg}" for e in exc.errors]
    except NotPermitted as exc:
        code = 403
        problems = [str(exc)]
    except Conflict as exc:
        code = 409
        problems = [str(exc)]
    with unit_of_work(request) as session:
        return _render(request, session, me, queue, back, problems=problems, status_code=code,
                       chosen=chosen)  # fmt: skip
