"""The demo's review checklists: the defaults installed, and a few demands in review with
their checklists answered, through the same services a reviewer uses.

Three demands of the scenario are sent into review by the demo staff account (which holds
the intake, legal-reviewer and human-rights-reviewer roles) through the review core
(:func:`dueprocess.review.service.send_to_review`, then claimed): a German court order for
subscriber data, answered in full; a Californian warrant for content, answered in part (so
the page shows what is still missing); an Indian order to withhold a farmers' account,
answered in legal review, escalated to human-rights review and answered there.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from dueprocess.accounts.models import Account
from dueprocess.accounts.signin import principal_of
from dueprocess.demands import service as demands
from dueprocess.demands.models import DemandStatus
from dueprocess.review import checklists, service as review
from dueprocess.review.models import Answer, ChecklistKind

Y, N, NA = Answer.YES, Answer.NO, Answer.NOT_APPLICABLE
LEGAL, RIGHTS = ChecklistKind.LEGAL, ChecklistKind.HUMAN_RIGHTS


@dataclass(frozen=True)
class _Case:
    """A demand of the scenario (the first of its authority and kind) and its answers."""

    authority: str
    kind: str
    legal: list[tuple[str, Answer, str]]
    escalate: bool = False
    rights: tuple[tuple[str, Answer, str], ...] = ()


CASES = [
    _Case(
        "de-bka",
        "user-data",
        [
            ("in-writing", Y, "Court order received as a signed PDF through the portal."),
            (
                "signed-by-competent-official",
                Y,
                "Signed by the investigating judge at the Amtsgericht; seal and file number "
                "match the court's published format.",
            ),
            (
                "legal-basis",
                Y,
                "StPO § 100j (subscriber data), in force; the order states the offence "
                "investigated (public incitement, StGB § 130).",
            ),
            (
                "jurisdiction",
                Y,
                "German authority, German user; the subscriber records are held by our EU "
                "entity, which German criminal procedure binds.",
            ),
            ("scope-narrow", Y, "One named account; subscriber data only."),
            ("dates-bounded", NA, "Subscriber data as it stands: no period applies."),
            ("process-sufficient", Y, "A court order suffices for subscriber data under § 100j."),
            ("non-disclosure", NA, "The order carries no non-disclosure order."),
            ("clarify-or-challenge", N, "Nothing to clarify."),
        ],
    ),
    _Case(
        "us-cand-court",
        "user-data",
        [
            ("in-writing", Y, "Search warrant received by e-mail from the court's domain."),
            (
                "signed-by-competent-official",
                Y,
                "Signed by a United States Magistrate Judge, N.D. Cal.",
            ),
            ("legal-basis", Y, "18 U.S.C. § 2703(a), search warrant under Fed. R. Crim. P. 41."),
            (
                "process-sufficient",
                Y,
                "Content is asked for, and a search warrant is the process it needs.",
            ),
        ],
    ),
    _Case(
        "in-meity",
        "geo-restriction",
        [
            ("in-writing", Y, "Order received by e-mail as a signed PDF."),
            (
                "signed-by-competent-official",
                Y,
                "Signed by the Designated Officer under the Blocking Rules, 2009.",
            ),
            (
                "legal-basis",
                Y,
                "Information Technology Act 2000, Section 69A, with the Blocking Rules; in "
                "force. The order does not say which of the grounds in 69A(1) applies.",
            ),
            (
                "jurisdiction",
                Y,
                "Indian authority; the order asks only that the account be withheld in India.",
            ),
            (
                "scope-narrow",
                N,
                "The whole account is to be withheld, not the posts said to be unlawful; no "
                "post is named.",
            ),
            ("dates-bounded", NA, "A restriction, not a request for data: no period."),
            ("process-sufficient", Y, "An order under Section 69A is the process for blocking."),
            (
                "non-disclosure",
                N,
                "The order cites the confidentiality of the Blocking Rules and states no end "
                "date; the user would not learn why the account is withheld.",
            ),
            (
                "clarify-or-challenge",
                Y,
                "Ask which posts and which ground of Section 69A(1); consider a challenge.",
            ),
        ],
        escalate=True,
        rights=(
            (
                "legitimate-aim",
                N,
                "Public order is cited without a specific threat; the posts are calls to "
                "join a peaceful farmers' protest.",
            ),
            (
                "necessary-proportionate",
                N,
                "Withholding the whole account is not the least intrusive measure: no post is "
                "shown to incite violence.",
            ),
            (
                "targets-protected-expression",
                Y,
                "Political expression: the account organises and reports on the farmers' "
                "protests (ICCPR articles 19 and 21).",
            ),
            (
                "risk-to-user",
                N,
                "A restriction, not a disclosure: no data about the user leaves; the risk is to "
                "their expression, not their liberty.",
            ),
            (
                "jurisdiction-record",
                Y,
                "Orders under Section 69A against accounts critical of the government have "
                "been reported; the UN special rapporteurs' communications on internet "
                "restrictions were consulted.",
            ),
            (
                "mitigation",
                Y,
                "Ask for the posts concerned; if upheld, withhold only those posts in India and "
                "tell the user; publish the order in the transparency report.",
            ),
        ),
    ),
]


def load(session: Session, *, staff: Account) -> list[int]:
    """Install the default checklists and take :data:`CASES` into review as ``staff`` (an
    account with the intake, legal and human-rights roles); the demands' ids."""
    checklists.install_defaults(session)
    me = principal_of(staff, "cli")
    rows = demands.list_summaries(session, limit=1000)
    taken = []
    for case in CASES:
        found = next(
            (
                r
                for r in reversed(rows)  # the oldest first: the same demand for the same seed
                if r.authority == case.authority
                and r.kind.value == case.kind
                and r.status is DemandStatus.RECEIVED
            ),
            None,
        )
        if found is None:
            continue
        moved = review.send_to_review(
            session,
            found.id,
            DemandStatus.LEGAL_REVIEW,
            me=me,
            reason="Demo: a genuine demand, for legal review",
            revision=None,
        )
        if moved.status is not DemandStatus.LEGAL_REVIEW:
            continue  # routed to human-rights review first: not what this case shows
        review.claim(session, found.id, me=me, revision=None)
        _answer(session, found.id, LEGAL, case.legal, me.actor)
        if case.escalate:
            review.send_to_review(
                session,
                found.id,
                DemandStatus.HUMAN_RIGHTS_REVIEW,
                me=me,
                reason="Demo: political expression; sent to human-rights review",
                revision=None,
            )
            review.claim(session, found.id, me=me, revision=None)
            _answer(session, found.id, RIGHTS, list(case.rights), me.actor)
        taken.append(found.id)
    return taken


def _answer(
    session: Session,
    demand_id: int,
    kind: ChecklistKind,
    answers: list[tuple[str, Answer, str]],
    actor: str,
) -> None:
    version = checklists.active(session, kind)
    for question, value, note in answers:
        checklists.answer(
            session,
            demand_id,
            kind,
            version_id=version.id,
            question_id=question,
            value=value,
            note=note,
            actor=actor,
        )
