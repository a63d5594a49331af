"""The authority registry, officer verification and requester verification of a demand, on a
real database."""

from __future__ import annotations

import base64
from datetime import timedelta
from typing import Any

import pytest
from pydantic import ValidationError
from sqlalchemy.orm import Session

from dueprocess.accounts import service as accounts
from dueprocess.accounts.models import Account
from dueprocess.accounts.schemas import ContactChange
from dueprocess.audit import service as audit
from dueprocess.authorities import service as authorities
from dueprocess.authorities.models import AuthorityStatus
from dueprocess.authorities.schemas import AuthorityIn, ContactsIn
from dueprocess.clock import utcnow
from dueprocess.demands import service as demands
from dueprocess.demands.models import Channel, Demand
from dueprocess.demands.schemas import DemandIn
from dueprocess.errors import InvalidInput, NotFound
from dueprocess.intake import flow
from dueprocess.runtime import Runtime
from tests import factories, pdfs


def _actions(session: Session, subject: str) -> list[str]:
    return [e.action for e in audit.for_subject(session, subject)]


def _staff(session: Session, email: str = "intake@example.org", role: str = "intake") -> Account:
    return factories.account(session, email, [role])


# --- the registry ---------------------------------------------------------------------------


def test_registry_input_is_validated_field_by_field() -> None:
    good = AuthorityIn.model_validate(
        {**factories.HKPF, "official_domains": ["Police.GOV.hk.", "police.gov.hk"]}
    )
    assert good.official_domains == ["police.gov.hk"]
    with pytest.raises(ValidationError) as bad:
        AuthorityIn.model_validate(
            {**factories.HKPF, "official_domains": ["duty@police.gov.hk"], "phone_numbers": ["x"]}
        )
    assert {e["loc"][0] for e in bad.value.errors()} == {"official_domains", "phone_numbers"}
    with pytest.raises(ValidationError):
        ContactsIn.model_validate({"phone_numbers": ["12"]})


def test_contacts_and_status_changes_are_audited(session: Session) -> None:
    authority = factories.authority(session, {**factories.HKPF, "status": "unverified"})
    subject = f"authority:{authority.id}"

    authorities.update_contacts(
        session,
        "hkpf-nsd",
        ContactsIn(phone_numbers=["+852 2860 2000", "+852 2527 7177"]),
        actor="account:9",
    )
    assert authority.official_domains == ["police.gov.hk"]  # left out: kept
    assert authority.phone_numbers == ["+852 2860 2000", "+852 2527 7177"]
    authorities.update_contacts(session, "hkpf-nsd", ContactsIn(), actor="account:9")  # no-op

    authorities.set_status(
        session, "hkpf-nsd", AuthorityStatus.VERIFIED, reason="switchboard", actor="account:9"
    )
    authorities.set_status(
        session, "hkpf-nsd", AuthorityStatus.VERIFIED, reason="again", actor="account:9"
    )  # already verified: nothing written
    authorities.set_status(
        session, "HKPF-NSD", AuthorityStatus.SUSPENDED, reason="hijacked", actor="account:9"
    )
    session.commit()
    assert authority.status is AuthorityStatus.SUSPENDED
    events = audit.for_subject(session, subject)
    assert [e.action for e in events] == [
        "authority.created",
        "authority.contacts_updated",
        "authority.status_changed",
        "authority.status_changed",
    ]
    assert events[1].data["before"]["phone_numbers"] == ["+852 2860 2000"]
    assert events[-1].data == {
        "slug": "hkpf-nsd",
        "from": "verified",
        "to": "suspended",
        "reason": "hijacked",
    }
    assert events[-1].actor == "account:9"


def test_status_change_needs_a_reason_and_a_known_slug(session: Session) -> None:
    factories.authority(session)
    with pytest.raises(InvalidInput) as no_reason:
        authorities.set_status(
            session, "hkpf-nsd", AuthorityStatus.SUSPENDED, reason="  ", actor="t"
        )
    assert no_reason.value.errors[0].loc == ("reason",)
    with pytest.raises(InvalidInput) as unknown:
        authorities.set_status(session, "nope", AuthorityStatus.SUSPENDED, reason="x", actor="t")
    assert unknown.value.errors[0].loc == ("slug",)


def test_list_all_scoped_to_an_officers_authority(session: Session) -> None:
    hk = factories.authority(session)
    factories.authority(session, factories.BKA)
    assert [a.slug for a in authorities.list_all(session)] == ["de-bka", "hkpf-nsd"]
    assert [a.slug for a in authorities.list_all(session, authority_id=hk.id)] == ["hkpf-nsd"]


# --- officer verification -------------------------------------------------------------------


def test_verify_officer_records_evidence_and_is_audited(session: Session) -> None:
    factories.authority(session)
    staff = _staff(session)
    officer = factories.account(session, "wong@police.gov.hk", ["officer"], "hkpf-nsd")
    assert officer.verified_at is None

    accounts.verify_officer(
        session,
        "Wong@Police.gov.hk",
        evidence="  called +852 2860 2000; Supt. Chan confirmed  ",
        actor=f"account:{staff.id}",
    )
    session.commit()
    assert officer.verified_at is not None
    assert officer.verified_by == f"account:{staff.id}"
    assert officer.verification_evidence == "called +852 2860 2000; Supt. Chan confirmed"
    event = audit.for_subject(session, f"account:{officer.id}")[-1]
    assert event.action == "account.officer_verified"
    assert event.actor == f"account:{staff.id}"
    assert event.data["evidence"] == "called +852 2860 2000; Supt. Chan confirmed"
    assert accounts.describe_actor(session, officer.verified_by) == "intake@example.org"


@pytest.mark.parametrize(
    ("email", "evidence", "field", "words"),
    [
        ("wong@police.gov.hk", "   ", "evidence", "how"),
        ("intake@example.org", "it is me", "email", "your own"),
        ("legal@example.org", "staff", "email", "not an officer"),
        ("nobody@police.gov.hk", "x", "email", "no account"),
    ],
)
def test_verify_officer_refusals(
    session: Session, email: str, evidence: str, field: str, words: str
) -> None:
    factories.authority(session)
    staff = _staff(session)
    _staff(session, "legal@example.org", "legal-reviewer")
    officer = factories.account(session, "wong@police.gov.hk", ["officer"], "hkpf-nsd")
    with pytest.raises(InvalidInput) as refused:
        accounts.verify_officer(session, email, evidence=evidence, actor=f"account:{staff.id}")
    assert refused.value.errors[0].loc == (field,)
    assert words in refused.value.errors[0].msg
    assert officer.verified_at is None


def test_verify_officer_needs_a_staff_member_entitled_to_do_it(session: Session) -> None:
    factories.authority(session)
    auditor = _staff(session, "audit@example.org", "auditor")
    officer = factories.account(session, "wong@police.gov.hk", ["officer"], "hkpf-nsd")
    other = factories.account(session, "lee@police.gov.hk", ["officer"], "hkpf-nsd")
    for actor in (f"account:{auditor.id}", f"account:{other.id}", "cli:root", "account:999"):
        with pytest.raises(InvalidInput) as refused:
            accounts.verify_officer(session, officer.email, evidence="trust me", actor=actor)
        assert refused.value.errors[0].loc == ("actor",)
    assert officer.verified_at is None


def test_change_contact_stamps_credentials_and_never_logs_the_password(session: Session) -> None:
    factories.authority(session)
    officer = factories.account(session, "wong@police.gov.hk", ["officer"], "hkpf-nsd")
    created = officer.credentials_changed_at
    assert created is not None
    later = utcnow() + timedelta(minutes=5)
    accounts.change_contact(
        session,
        "wong@police.gov.hk",
        ContactChange(email="wong2@police.gov.hk", password="a new long passphrase"),
        actor="cli:test",
        now=later,
    )
    session.commit()
    assert officer.email == "wong2@police.gov.hk"
    assert officer.credentials_changed_at == later
    event = audit.for_subject(session, f"account:{officer.id}")[-1]
    assert event.action == "account.credentials_changed"
    assert event.data["changed"]["password"] == "changed"
    assert "a new long passphrase" not in str(event.data)
    with pytest.raises(InvalidInput) as nothing:
        accounts.change_contact(session, "wong2@police.gov.hk", ContactChange(), actor="t")
    assert nothing.value.errors[0].loc == ("change",)


# --- requester verification of a just-submitted demand, as flow.receive does it ---------------


def _pdf(data: bytes) -> dict[str, str]:
    return {"filename": "order.pdf", "content_base64": base64.b64encode(data).decode()}


def _emergency(**changes: Any) -> dict[str, Any]:
    return factories.body(
        kind="emergency-disclosure",
        legal_process="emergency",
        emergency_justification="A student has posted that they will harm themselves tonight",
        targets=[{"type": "account", "id": "@hk_student"}],
        received_at=None,
        deadline=None,
        penalty=None,
        **changes,
    )


def _receive(
    session: Session,
    runtime: Runtime,
    data: dict[str, Any],
    *,
    channel: Channel,
    officer: Account | None = None,
    second_factor: bool = False,
) -> Demand:
    """A demand through the flow, which assesses its requester."""
    submitted = flow.receive(
        session,
        runtime,
        DemandIn.model_validate(data),
        channel=channel,
        actor=f"account:{officer.id}" if officer else "cli:test",
        officer_id=officer.id if officer else None,
        restrict_to_authority=officer.authority_id if officer else None,
        second_factor=second_factor,
    )
    session.commit()
    return submitted.demand


@pytest.fixture
def verified_officer(session: Session) -> Account:
    factories.authority(session)
    staff = _staff(session)
    officer = factories.account(session, "wong@police.gov.hk", ["officer"], "hkpf-nsd")
    accounts.verify_officer(
        session, officer.email, evidence="called the switchboard", actor=f"account:{staff.id}"
    )
    session.commit()
    return officer


def test_verified_officer_in_a_totp_session_is_verified_and_stored(
    session: Session, runtime: Runtime, verified_officer: Account
) -> None:
    data = _emergency(documents=[_pdf(pdfs.with_signature_field(signed=True))])
    demand = _receive(
        session, runtime, data, channel=Channel.PORTAL, officer=verified_officer, second_factor=True
    )
    session.expire_all()
    stored = demands.get(session, demand.id)
    assert stored.verification_state == "verified"
    assert stored.verification_confidence == 90  # 50 +10 +20 +15 +5 -10
    signals = [r["signal"] for r in stored.verification_reasons]
    assert signals == ["authority", "officer", "second-factor", "document-signature", "emergency"]
    signature = stored.verification_reasons[3]
    assert "signature present, not validated" in signature["detail"]
    event = audit.for_subject(session, f"demand:{demand.id}")[-1]
    assert event.action == "demand.verification_assessed"
    assert event.data["state"] == "verified"
    assert event.data["confidence"] == 90
    assert event.data["reasons"] == stored.verification_reasons


def test_the_same_officer_with_an_api_token_is_unverified(
    session: Session, runtime: Runtime, verified_officer: Account
) -> None:
    demand = _receive(session, runtime, _emergency(), channel=Channel.API, officer=verified_officer)
    assert demand.verification_state == "unverified"
    assert any(r["signal"] == "second-factor" for r in demand.verification_reasons)


def test_second_factor_needs_totp_enrolled(
    session: Session, runtime: Runtime, verified_officer: Account
) -> None:
    verified_officer.totp_secret = None  # sign-in would not have asked for a code
    demand = _receive(
        session,
        runtime,
        _emergency(),
        channel=Channel.PORTAL,
        officer=verified_officer,
        second_factor=True,
    )
    assert demand.verification_state == "unverified"


def test_credentials_changed_since_verification_then_verified_again(
    session: Session, runtime: Runtime, verified_officer: Account
) -> None:
    accounts.change_contact(
        session, verified_officer.email, ContactChange(phone="+852 9000 0000"), actor="t"
    )
    session.commit()
    hijacked = _receive(
        session,
        runtime,
        _emergency(),
        channel=Channel.PORTAL,
        officer=verified_officer,
        second_factor=True,
    )
    assert hijacked.verification_state == "suspicious"  # emergency + fresh credentials
    assert "credentials-changed" in [r["signal"] for r in hijacked.verification_reasons]

    staff = accounts.get_by_email(session, "intake@example.org")
    assert staff is not None
    accounts.verify_officer(
        session,
        verified_officer.email,
        evidence="called back; new phone confirmed",
        actor=f"account:{staff.id}",
    )
    session.commit()
    cleared = _receive(
        session,
        runtime,
        _emergency(reference="NSD/2"),
        channel=Channel.PORTAL,
        officer=verified_officer,
        second_factor=True,
    )
    assert cleared.verification_state == "verified"


def test_staff_entry_from_a_lookalike_mailbox_is_suspicious(
    session: Session, runtime: Runtime
) -> None:
    factories.authority(session)
    session.commit()
    forged = _receive(
        session,
        runtime,
        _emergency(sender="Duty Officer <duty@police.gov.hk.secure-mail.example>"),
        channel=Channel.EMAIL,
    )
    assert forged.verification_state == "suspicious"
    genuine = _receive(
        session,
        runtime,
        _emergency(sender="duty@police.gov.hk", reference="NSD/3"),
        channel=Channel.EMAIL,
    )
    assert genuine.verification_state == "unverified"
    assert genuine.verification_confidence == 60  # 50 +10 authority +10 domain -10 emergency


def test_volume_spike_counts_the_authoritys_recent_demands(
    session: Session, runtime: Runtime
) -> None:
    authority = factories.authority(session)
    session.commit()
    for n in range(4):
        factories.submit(
            session, runtime, factories.body(received_at=None, deadline=None, reference=f"R{n}")
        )
    old = (utcnow() - timedelta(days=30)).isoformat()
    factories.submit(
        session, runtime, factories.body(received_at=old, deadline=None, reference="R-old")
    )
    session.commit()
    now = utcnow()
    assert authorities.received_volume(
        session, authority.id, since=now - timedelta(days=91), split=now - timedelta(hours=24)
    ) == (1, 4)
    fifth = _receive(
        session,
        runtime,
        _emergency(sender="duty@police.gov.hk"),
        channel=Channel.EMAIL,
    )
    volume = [r for r in fifth.verification_reasons if r["signal"] == "volume"]
    assert volume
    assert volume[0]["effect"] == "-15"
    assert "5 demands" in volume[0]["detail"]


def test_verify_requester_unknown_authority(session: Session) -> None:
    with pytest.raises(NotFound):
        authorities.verify_requester(
            session,
            authority_id=999,
            officer=None,
            second_factor=False,
            sender=None,
            documents_signed=None,
            emergency=False,
            now=utcnow(),
            volume=(0, 0),
        )
