"""Review's operations on a demand, the domain's one entry point for the web and the CLI:
claiming and assigning it, sending it on (:mod:`.assignment`), deciding its targets,
submitting the decisions, the human-rights sign-off, and approval by a second person
(:mod:`.deciding`). Plain functions taking a session; the caller commits once.

Every function here that changes a demand:

- locks the demand's row and refuses a **stale form** (:class:`~dueprocess.errors.Conflict`)
  when the caller loaded the demand at another ``revision`` (``None`` skips the check, for
  callers with no form, such as the CLI acting at once);
- checks the caller may act: the state table's roles for a move
  (:func:`dueprocess.demands.service.move`), and for work on a demand under review, that it
  is assigned to the caller (:func:`claim` it first);
- writes exactly one audit event: the move's ``demand.<status>`` event carries what the
  step decided, and a step that moves nothing records one ``review.*`` event.

Refusals name the problem and change nothing (the caller's transaction rolls back).
"""

from __future__ import annotations

from dueprocess.review.assignment import (
    WORKERS as WORKERS,
    assign as assign,
    claim as claim,
    release as release,
    send_to_review as send_to_review,
)
from dueprocess.review.deciding import (
    approve as approve,
    asked_of as asked_of,
    current_decisions as current_decisions,
    decide as decide,
    draft_reply as draft_reply,
    latest_signoff as latest_signoff,
    open_submission as open_submission,
    sign_off as sign_off,
    submission_digest as submission_digest,
    submit as submit,
    targets_of as targets_of,
)
from dueprocess.review.flags import requires_human_rights_review as requires_human_rights_review
from dueprocess.review.guards import load as load
