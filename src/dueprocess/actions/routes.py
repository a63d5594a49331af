"""HTTP for actions: a demand's actions (API), and staff's retry and revoke (API and the
demand page's forms). Thin: one transaction each, :mod:`dueprocess.actions.service`.
Reading needs ``review:read``; retrying and revoking ``actions:manage`` (legal reviewers
and approvers). A step the action's status does not allow is 409 naming it."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse

from dueprocess.accounts.permissions import Permission
from dueprocess.accounts.signin import Principal
from dueprocess.actions import service as actions
from dueprocess.actions.models import Action
from dueprocess.actions.schemas import ActionOut, RevokeIn
from dueprocess.demands import service as demands
from dueprocess.errors import FieldError, InvalidInput
from dueprocess.web.auth import requires, requires_page
from dueprocess.web.deps import unit_of_work
from dueprocess.web.params import Id

api = APIRouter(prefix="/api/v1", tags=["actions"])
pages = APIRouter(include_in_schema=False)

Read = Annotated[Principal, Depends(requires(Permission.REVIEW_READ))]
Manage = Annotated[Principal, Depends(requires(Permission.ACTIONS_MANAGE))]
PageManage = Annotated[Principal, Depends(requires_page(Permission.ACTIONS_MANAGE))]

_CHANGE: dict[int | str, dict[str, Any]] = {
    404: {"description": "No such action"},
    409: {"description": "The action's status does not allow it (named)"},
}


def _out(action: Action) -> ActionOut:
    return ActionOut.model_validate(
        {**{c: getattr(action, c) for c in ActionOut.model_fields}, "kind": action.kind.value,
         "status": action.status.value}
    )  # fmt: skip


@api.get(
    "/demands/{demand_id:int}/actions",
    response_model=list[ActionOut],
    summary="A demand's actions",
    responses={404: {"description": "No such demand"}},
)
def list_actions(request: Request, demand_id: Id, me: Read) -> list[ActionOut]:
    """Every action the demand's decisions caused, in the order planned: its status,
    attempts, last error and the connector's answer."""
    with unit_of_work(request) as session:
        demands.get(session, demand_id)
        return [_out(a) for a in actions.of_demand(session, demand_id)]


@api.post(
    "/actions/{action_id:int}/retry",
    response_model=ActionOut,
    summary="Try a failed action again",
    responses=_CHANGE,
)
def retry(request: Request, action_id: Id, me: Manage) -> ActionOut:
    """A failed action, pending again now with its key unchanged: an effect the connector
    already applied is not applied twice."""
    with unit_of_work(request) as session:
        return _out(actions.retry(session, action_id, actor=me.actor))


@api.post(
    "/actions/{action_id:int}/revoke",
    response_model=ActionOut,
    summary="Cancel a pending or failed action",
    responses=_CHANGE,
)
def revoke(request: Request, action_id: Id, body: RevokeIn, me: Manage) -> ActionOut:
    """Cancel an action not done yet, with the reason (audited). A running one cannot be
    revoked: its connector call may be under way."""
    with unit_of_work(request) as session:
        return _out(actions.revoke(session, action_id, actor=me.actor, reason=body.reason))


def _back(demand_id: int) -> RedirectResponse:
    return RedirectResponse(f"/demands/{demand_id}#actions", status_code=303)


@pages.post("/actions/{action_id:int}/retry")
def retry_page(request: Request, action_id: Id, me: PageManage) -> RedirectResponse:
    """The demand page's Retry button."""
    with unit_of_work(request) as session:
        demand_id = actions.retry(session, action_id, actor=me.actor).demand_id
    return _back(demand_id)


@pages.post("/actions/{action_id:int}/revoke")
def revoke_page(
    request: Request,
    action_id: Id,
    me: PageManage,
    reason: Annotated[str, Form(max_length=2000)] = "",
) -> RedirectResponse:
    """The demand page's Revoke form (a reason is required)."""
    if not reason.strip():
        raise InvalidInput([FieldError(("reason",), "say why the action is revoked")])
    with unit_of_work(request) as session:
        demand_id = actions.revoke(session, action_id, actor=me.actor, reason=reason).demand_id
    return _back(demand_id)

