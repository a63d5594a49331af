"""``dueprocess authority``: the registry of requesting authorities.

Thin: each opens one transaction and calls the authorities or accounts service; every
change is audited there. Exit codes: 0 done; 2 bad input, each bad field named on standard
error as ``field: problem`` (an unknown slug is ``slug: unknown authority``).
"""

from __future__ import annotations

from typing import Annotated

import typer
from pydantic import ValidationError
from rich.table import Table

from dueprocess.cli.common import (
    CLI_ACTOR,
    fail,
    invalid,
    load_runtime,
    out,
    print_json,
    unit_of_work,
)
from dueprocess.errors import from_validation

authority_app = typer.Typer(
    help="The registry of requesting authorities: official domains, phone numbers for "
    "call-backs, status (verified, suspended).",
    no_args_is_help=True,
)

SlugArg = Annotated[str, typer.Argument(metavar="SLUG", help="The authority's slug.")]
ReasonOption = Annotated[
    str, typer.Option(help="Why: what was checked, or what the suspension is for (audited).")
]
DomainOption = Annotated[
    list[str] | None,
    typer.Option(
        "--domain",
        help="An official e-mail domain, e.g. police.gov.hk (repeat for several).",
    ),
]
PhoneOption = Annotated[
    list[str] | None,
    typer.Option(
        "--phone",
        help="A phone number staff may call back, e.g. '+852 2860 2000' (repeat for several).",
    ),
]
AgeRecipientOption = Annotated[
    str | None,
    typer.Option(
        "--age-recipient",
        help="The authority's age public key (age1..., from age-keygen): its productions "
        "are encrypted to it. Without one they are offered as expiring portal downloads.",
    ),
]


@authority_app.command("add")
def authority_add(
    slug: Annotated[str, typer.Option(help="Stable handle, e.g. hkpf-nsd (a-z, 0-9, -).")],
    name: Annotated[str, typer.Option(help="Full name of the authority.")],
    jurisdiction: Annotated[str, typer.Option(help="ISO 3166 code: HK, DE, US-CA.")],
    kind: Annotated[
        str,
        typer.Option(
            help="police, court, prosecutor, regulator, government, intelligence or other."
        ),
    ],
    domain: DomainOption = None,
    phone: PhoneOption = None,
    age_recipient: AgeRecipientOption = None,
) -> None:
    """Add an authority to the registry. It starts unverified: verify it with
    ``authority verify`` once its channels are checked."""
    from dueprocess.authorities import service as authorities
    from dueprocess.authorities.schemas import AuthorityIn

    try:
        data = AuthorityIn.model_validate(
            {
                "slug": slug,
                "name": name,
                "jurisdiction": jurisdiction,
                "kind": kind,
                "official_domains": domain or [],
                "phone_numbers": phone or [],
                "age_recipient": age_recipient,
            }
        )
    except ValidationError as exc:
        invalid(from_validation(exc.errors()))
    runtime = load_runtime()
    with unit_of_work(runtime) as session:
        authority = authorities.create(session, data, actor=CLI_ACTOR)
        shown = f"authority {authority.slug} added ({authority.status.value})"
    out.print(shown, markup=False)


@authority_app.command("list")
def authority_list(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List the registry: status, official domains, phone numbers, officer accounts."""
    from dueprocess.accounts import service as accounts
    from dueprocess.authorities import service as authorities

    runtime = load_runtime()
    with unit_of_work(runtime) as session:
        counts = accounts.officer_counts(session)
        rows = [
            authorities.to_out(a, officers=counts.get(a.id, 0))
            for a in authorities.list_all(session)
        ]
    if as_json:
        print_json([r.model_dump(mode="json") for r in rows])
        return
    table = Table(
        "slug", "name", "jurisdiction", "kind", "status", "domains", "phones", "age key", "officers"
    )
    for r in rows:
        table.add_row(
            r.slug,
            r.name,
            r.jurisdiction,
            r.kind.value,
            r.status.value,
            ", ".join(r.official_domains),
            ", ".join(r.phone_numbers),
            r.age_recipient or "",
            str(r.officers),
        )
    out.print(table)


def _set_status(slug: str, status: str, reason: str) -> None:
    from dueprocess.authorities import service as authorities
    from dueprocess.authorities.models import AuthorityStatus

    runtime = load_runtime()
    with unit_of_work(runtime) as session:
        authority = authorities.get_by_slug(session, slug)
        already = authority is not None and authority.status is AuthorityStatus(status)
        authorities.set_status(
            session, slug, AuthorityStatus(status), reason=reason, actor=CLI_ACTOR
        )
    out.print(f"{slug} {'was already' if already else 'is now'} {status}", markup=False)


@authority_app.command("verify")
def authority_verify(slug: SlugArg, reason: ReasonOption) -> None:
    """Mark an authority verified: its channels (domains, phone numbers) were checked."""
    _set_status(slug, "verified", reason)


@authority_app.command("suspend")
def authority_suspend(slug: SlugArg, reason: ReasonOption) -> None:
    """Suspend an authority: its demands are assessed as suspicious until verified again."""
    _set_status(slug, "suspended", reason)


@authority_app.command("contacts")
def authority_contacts(
    slug: SlugArg, domain: DomainOption = None, phone: PhoneOption = None
) -> None:
    """Replace an authority's official domains and/or phone numbers (an option left out
    keeps what is stored). These are what senders are checked against and the only numbers
    staff may call back."""
    from dueprocess.authorities import service as authorities
    from dueprocess.authorities.schemas import ContactsIn

    if domain is None and phone is None:
        fail("domain: give --domain and/or --phone")
    try:
        data = ContactsIn.model_validate({"official_domains": domain, "phone_numbers": phone})
    except ValidationError as exc:
        invalid(from_validation(exc.errors()))
    runtime = load_runtime()
    with unit_of_work(runtime) as session:
        authority = authorities.update_contacts(session, slug, data, actor=CLI_ACTOR)
        domains, phones = list(authority.official_domains), list(authority.phone_numbers)
    out.print(f"{slug}: domains {', '.join(domains) or 'none'}", markup=False)
    out.print(f"{slug}: phones {', '.join(phones) or 'none'}", markup=False)


@authority_app.command("age-key")
def authority_age_key(
    slug: SlugArg,
    recipient: Annotated[
        str | None,
        typer.Argument(
            metavar="[RECIPIENT]",
            help="The age public key (age1..., the 'Public key' line age-keygen prints).",
        ),
    ] = None,
    remove: Annotated[
        bool, typer.Option("--remove", help="Remove the key: productions become downloads.")
    ] = False,
) -> None:
    """Set the age public key an authority's productions are encrypted to (audited). Only
    X25519 keys (age1...) are accepted; SSH and plugin keys are refused."""
    from dueprocess.authorities import service as authorities

    if (recipient is None) == (not remove):
        fail("age_recipient: give the key, or --remove (not both)")
    runtime = load_runtime()
    with unit_of_work(runtime) as session:
        authority = authorities.set_age_recipient(session, slug, recipient, actor=CLI_ACTOR)
        key = authority.age_recipient
    shown = (
        f"{slug}: productions encrypted to {key}"
        if key
        else (f"{slug}: no age key; productions are offered as expiring portal downloads")
    )
    out.print(shown, markup=False)
