"""Operations on the authority registry. Plain functions taking a session; no commits."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from dueprocess.audit import service as audit
from dueprocess.authorities.models import Authority
from dueprocess.authorities.schemas import AuthorityIn, AuthorityOut
from dueprocess.errors import InvalidInput


def get_by_slug(session: Session, slug: str) -> Authority | None:
    """The authority with this slug, or None."""
    return session.scalar(select(Authority).where(Authority.slug == slug.lower()))


def get(session: Session, authority_id: int) -> Authority | None:
    """The authority with this id, or None."""
    return session.get(Authority, authority_id)


def create(session: Session, data: AuthorityIn, *, actor: str) -> Authority:
    """Add an authority; a slug already in use is refused."""
    if get_by_slug(session, data.slug) is not None:
        raise InvalidInput.one(("slug",), f"authority {data.slug!r} already exists")
    authority = Authority(**data.model_dump())
    session.add(authority)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="authority.created",
        subject=f"authority:{authority.id}",
        data={"slug": authority.slug, "jurisdiction": authority.jurisdiction},
    )
    return authority


def list_all(session: Session) -> list[Authority]:
    """Every authority, by jurisdiction then name."""
    return list(session.scalars(select(Authority).order_by(Authority.jurisdiction, Authority.name)))


def to_out(authority: Authority) -> AuthorityOut:
    """The output form of a stored authority."""
    return AuthorityOut.model_validate(authority, from_attributes=True)
