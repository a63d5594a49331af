"""Load the demo through the same service functions real input uses (never raw rows).

Loading is idempotent: if the scenario's authorities exist, nothing is loaded again, so
``./scripts/start`` can run it on every start.

**The demo's clock is the scenario's.** Everything is recorded in the order it happens in
the scenario, each step under :func:`dueprocess.clock.pinned` at its scenario time: the
registry and the accounts on :data:`SET_UP_AT`, each demand at its ``received_at`` (its
audit events, replies, rows and policy evaluation), the policy when it was adopted
(:data:`PAUSE_FROM`). So a demand of July 2020 shows July 2020 everywhere, and the audit
log's times never go backwards along its ``seq``. The microblog's accounts and posts carry
their own scenario times. Only the audit checkpoint that signs the loaded log is dated when
it was signed (``dueprocess demo`` signs one at once).
"""

from __future__ import annotations

import random
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.orm import Session

from dueprocess import clock
from dueprocess.accounts import service as accounts
from dueprocess.accounts.models import Role
from dueprocess.accounts.schemas import AccountIn
from dueprocess.authorities import service as authorities
from dueprocess.authorities.schemas import AuthorityIn
from dueprocess.connectors.demo import service as microblog
from dueprocess.connectors.demo.connector import open_session
from dueprocess.demands.models import Channel
from dueprocess.demands.schemas import DemandIn
from dueprocess.demo import checklists as demo_checklists, review_states, risk_examples, scenario
from dueprocess.intake import flow
from dueprocess.policy import service as policy
from dueprocess.policy.templates import template_text
from dueprocess.review import checklists, flags, protected
from dueprocess.runtime import Runtime

ACTOR = "system:demo"
POLICY_TEMPLATE = "facebook-whatsapp-2020"
#: The day Facebook and WhatsApp paused Hong Kong requests (the template's rule starts then).
PAUSE_FROM = datetime(2020, 7, 6, tzinfo=UTC)
#: When the demo's installation was set up: registry, accounts, officers' verification.
#: Before the scenario's first demand (the demands start on 1 June 2020, 01:00 UTC).
SET_UP_AT = datetime(2020, 6, 1, tzinfo=UTC)
#: When the demo's reviewers took a few demands into review (after the last demand, which
#: arrives in December 2020): their claims, checklist answers and moves carry this time.
REVIEWED_AT = datetime(2020, 12, 30, 9, tzinfo=UTC)
STAFF_EMAIL = "staff@demo.dueprocess.example"
APPROVER_EMAIL = "approver@demo.dueprocess.example"


@dataclass(frozen=True)
class DemoLogin:
    """The demo staff sign-in, kept in the data directory (mode 0600) and printed at start."""

    email: str
    password: str
    totp_secret: str | None
    approver_totp_secret: str | None = None

    def describe(self) -> str:
        """The lines ``scripts/start`` prints."""
        lines = [f"demo staff login: {self.email} / {self.password}"]
        if self.totp_secret:
            lines.append(f"  second factor (TOTP secret for an authenticator): {self.totp_secret}")
        if self.approver_totp_secret:
            lines.append(
                f"demo approver login (four eyes): {APPROVER_EMAIL} / {self.password}, "
                f"TOTP secret for an authenticator: {self.approver_totp_secret}"
            )
        return "\n".join(lines)


def _login_file(runtime: Runtime) -> Path:
    return runtime.settings.data_dir / "demo-login.txt"


def saved_login(runtime: Runtime) -> DemoLogin | None:
    """The demo login saved at load time, if the demo was loaded in this data directory."""
    path = _login_file(runtime)
    if not path.exists():
        return None
    lines = [*path.read_text(encoding="utf-8").splitlines(), "", "", "", ""]
    email, password, totp, approver_totp = lines[:4]
    return DemoLogin(email, password, totp or None, approver_totp or None)


def load_microblog(runtime: Runtime, rng: random.Random) -> dict[str, list[str]]:
    """Fill the demo microblog; returns each handle's post URLs."""
    urls: dict[str, list[str]] = {}
    with open_session(runtime.settings.demo_database_url) as mb, mb.begin():
        accounts_by_handle = {}
        for handle, name, country, _role in scenario.MICROBLOG_ACCOUNTS:
            existing = microblog.find_account(mb, handle)
            accounts_by_handle[handle] = existing or microblog.add_account(
                mb, handle, name, country, datetime(2019, 1, 1, tzinfo=UTC)
            )
        for post in [*scenario.posts(rng), *risk_examples.posts()]:
            row = microblog.add_post(
                mb, accounts_by_handle[post.handle], post.text, post.language, post.posted_at
            )
            urls.setdefault(post.handle, []).append(microblog.post_url(post.handle, row.id))
    return urls


def load_policy(session: Session, *, author: str, approver: str) -> None:
    """Propose Facebook's and WhatsApp's July 2020 policy and have a second person activate
    it on 6 July 2020, the day they paused every Hong Kong request, recorded at that time.

    Loaded in its place among the demands (:func:`load`): those received before 6 July were
    evaluated at intake with no policy active (processed); the activation re-evaluates the
    demands open at that moment, so the Hong Kong ones still open are paused with a holding
    reply dated 6 July, as the companies paused the requests they held; every Hong Kong
    demand received after it is paused on arrival.
    """
    with clock.pinned(PAUSE_FROM):
        version = policy.propose(
            session,
            template_text(POLICY_TEMPLATE),
            f"policy/templates/{POLICY_TEMPLATE}.yaml",
            "Facebook and WhatsApp froze Hong Kong government requests on 6 July 2020 pending "
            "human-rights due diligence on the National Security Law.",
            actor=author,
        )
        policy.approve(session, version.id, actor=approver, at=PAUSE_FROM)


def load_protected(session: Session, *, keeper: str) -> None:
    """Put the scenario's journalist and activists on the protected-accounts list, as a
    human-rights reviewer (``keeper``) would."""
    for handle, category, note in risk_examples.PROTECTED_ACCOUNTS:
        protected.add(
            session,
            protected.ProtectedIn(handle=handle, category=category, note=note),
            actor=keeper,
        )


def load(runtime: Runtime, session: Session, *, seed: int = 2020) -> DemoLogin | None:
    """Load the scenario into ``session`` (caller commits); None if it was already loaded."""
    if authorities.get_by_slug(session, "hkpf-nsd") is not None:
        return None
    rng = random.Random(seed)
    with clock.pinned(SET_UP_AT):
        login, staff, approver = _set_up(session)
        load_protected(session, keeper=f"account:{staff}")
        # The default review checklists, installed with the rest of the instance.
        checklists.install_defaults(session)
    urls = load_microblog(runtime, rng)
    author, second = f"account:{staff}", f"account:{approver}"
    adopted = False
    received_in_order = sorted(
        [*scenario.demands(rng, urls), *risk_examples.demands(urls)],
        key=lambda d: datetime.fromisoformat(str(d.body["received_at"])),
    )
    for item in received_in_order:
        received = datetime.fromisoformat(str(item.body["received_at"]))
        if not adopted and received >= PAUSE_FROM:
            load_policy(session, author=author, approver=second)
            adopted = True
        officer = accounts.get_by_email(session, item.officer_email or "")
        with clock.pinned(received):
            demand = flow.receive(
                session,
                runtime,
                DemandIn.model_validate(item.body),
                channel=Channel(item.channel),
                # A demand from the portal or the API is the officer's act; one that came by
                # e-mail or post was entered by staff (here, the demo loader).
                actor=f"account:{officer.id}"
                if officer and item.channel in {"portal", "api"}
                else ACTOR,
                officer_id=officer.id if officer and item.channel in {"portal", "api"} else None,
                second_factor=item.channel == "portal",
            )
            # Review computes flags as a demand leaves intake; the demo shows them from
            # receipt, so that every demand's page has them.
            flags.compute(session, runtime.connectors, demand.demand.id, actor=ACTOR)
    if not adopted:
        load_policy(session, author=author, approver=second)
    with clock.pinned(REVIEWED_AT):
        demo_checklists.load(session, staff=accounts.get(session, staff))
        review_states.load(
            session, staff=accounts.get(session, staff), approver=accounts.get(session, approver)
        )
    path = _login_file(runtime)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        f"{login.email}\n{login.password}\n{login.totp_secret or ''}\n"
        f"{login.approver_totp_secret or ''}\n",
        encoding="utf-8",
    )
    path.chmod(0o600)
    return login


def _set_up(session: Session) -> tuple[DemoLogin, int, int]:
    """The registry, the officers, the demo staff and approver; the login and the ids of
    the staff account and the approver."""
    for data in scenario.AUTHORITIES:
        authorities.create(session, AuthorityIn.model_validate(data), actor=ACTOR)
    for slug, name, email in scenario.OFFICERS:
        accounts.create(
            session,
            AccountIn(
                email=email,
                display_name=name,
                roles=[Role.OFFICER],
                authority=slug,
                password=secrets.token_urlsafe(12),
            ),
            actor=ACTOR,
        )
    password = secrets.token_urlsafe(12)
    staff = accounts.create(
        session,
        AccountIn(
            email=STAFF_EMAIL,
            display_name="Demo staff (intake, review, policy, audit)",
            roles=[
                Role.INTAKE,
                Role.LEGAL_REVIEWER,
                Role.HUMAN_RIGHTS_REVIEWER,
                Role.POLICY_OWNER,
                Role.AUDITOR,
            ],
            password=password,
        ),
        actor=ACTOR,
    )
    approver = accounts.create(
        session,
        AccountIn(
            email=APPROVER_EMAIL,
            display_name="Demo approver",
            roles=[Role.APPROVER],
            password=password,
        ),
        actor=ACTOR,
    )
    for _slug, _name, email in scenario.OFFICERS:
        accounts.verify_officer(
            session,
            email,
            evidence="Demo: identity confirmed by a call-back to the authority's registry number",
            actor=f"account:{staff.id}",
        )
    login = DemoLogin(STAFF_EMAIL, password, staff.totp_secret, approver.totp_secret)
    return login, staff.id, approver.id
