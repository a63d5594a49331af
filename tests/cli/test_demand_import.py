"""``dueprocess demand import``: end to end through Typer's runner, on the test database."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from typer.testing import CliRunner, Result

from dueprocess.audit import service as audit, signer
from dueprocess.audit.chain import public_key_bytes
from dueprocess.audit.models import AuditEvent
from dueprocess.cli.main import app
from dueprocess.config import Settings
from dueprocess.demands.models import Channel, Demand, Document
from dueprocess.intake import flow
from dueprocess.runtime import Runtime
from tests import factories

runner = CliRunner()


@pytest.fixture
def cli_env(settings: Settings, session: Session, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """The CLI pointed at the test's database, with the HK police registered."""
    factories.authority(session)
    session.commit()
    monkeypatch.setenv("DUEPROCESS_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("DUEPROCESS_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("DUEPROCESS_DEMO_DATABASE_URL", settings.demo_database_url)
    return settings


def _count(session: Session, model: Any = Demand) -> int:
    value = session.scalar(select(func.count()).select_from(model))
    session.rollback()
    return int(value or 0)


def _jsonl(path: Path, *rows: Any) -> Path:
    lines = [row if isinstance(row, str) else json.dumps(row) for row in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _import(*args: str) -> Result:
    return runner.invoke(app, ["demand", "import", *args])


def _refusals(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_import_reports_refused_rows_and_keeps_the_rest(
    cli_env: Settings, session: Session, tmp_path: Path
) -> None:
    file = _jsonl(
        tmp_path / "export.jsonl",
        factories.body(reference="r-1", idempotency_key="X-1"),
        "{not json",
        factories.body(reference="r-3", idempotency_key="X-3", deadline="2020-07-01T00:00:00Z"),
        factories.body(reference="r-4", idempotency_key="X-4", authority="nobody"),
        factories.body(reference="r-5", idempotency_key="X-5", channel="api"),
        factories.body(reference="r-6", idempotency_key="X-6"),
        factories.body(reference="r-7", idempotency_key="X-7", channel="fax"),
    )
    errors = tmp_path / "refused.jsonl"
    result = _import(str(file), "--batch-size", "3", "--errors", str(errors))
    assert result.exit_code == 2, result.output
    assert "\x1b[" not in result.output, "no terminal: no escape codes"
    assert "accepted" in result.stdout
    assert "refused" in result.stdout

    refused = {r["line"]: [(e["field"], e["msg"]) for e in r["errors"]] for r in _refusals(errors)}
    assert set(refused) == {2, 3, 4, 5}
    assert refused[3] == [("deadline", "must be after received_at")]
    assert refused[4] == [("authority", "no authority 'nobody' in the registry")]
    assert refused[5][0][0] == "channel"
    assert refused[2][0][0] == ""

    rows = session.execute(select(Demand.reference, Demand.channel).order_by(Demand.id)).all()
    session.rollback()
    assert [tuple(r) for r in rows] == [
        ("r-1", Channel.IMPORT),
        ("r-6", Channel.IMPORT),
        ("r-7", Channel.FAX),
    ]


def test_rerun_replays_and_exit_code_is_0_when_nothing_is_refused(
    cli_env: Settings, session: Session, tmp_path: Path
) -> None:
    file = _jsonl(
        tmp_path / "export.jsonl",
        *[factories.body(reference=f"r-{i}", idempotency_key=f"K-{i}") for i in range(5)],
    )
    first = _import(str(file), "--batch-size", "2")
    assert first.exit_code == 0, first.output
    assert _count(session) == 5
    again = _import(str(file))
    assert again.exit_code == 0, again.output
    assert "replayed" in again.stdout
    assert _count(session) == 5
    events = audit.search(session, action="demand.submitted")
    session.rollback()
    assert len(events) == 5, "a replay writes nothing"

    unkeyed = _jsonl(tmp_path / "unkeyed.jsonl", factories.body(reference="no-key"))
    result = _import(str(unkeyed))
    assert result.exit_code == 0
    assert "no idempotency_key" in result.stdout


def test_summary_counts(cli_env: Settings, tmp_path: Path) -> None:
    rows = [factories.body(reference=f"r-{i}", idempotency_key=f"K-{i}") for i in range(3)]
    file = _jsonl(tmp_path / "a.jsonl", *rows)
    assert _import(str(file)).exit_code == 0
    file = _jsonl(tmp_path / "b.jsonl", *rows, factories.body(idempotency_key="new"), "[]")
    result = _import(str(file))
    assert result.exit_code == 2
    counts = {
        line.split("│")[1].strip(): line.split("│")[2].strip()
        for line in result.stdout.splitlines()
        if line.count("│") == 3
    }
    assert counts["accepted"] == "1"
    assert counts["replayed (already imported)"] == "3"
    assert counts["refused"] == "1"


def test_dry_run_writes_nothing(
    cli_env: Settings, session: Session, runtime: Runtime, tmp_path: Path
) -> None:
    document = {"filename": "order.txt", "content_base64": base64.b64encode(b"order\n").decode()}
    file = _jsonl(
        tmp_path / "export.jsonl",
        factories.body(idempotency_key="D-1", documents=[document]),
        factories.body(idempotency_key="D-2", authority="nobody"),
    )
    events_before = _count(session, AuditEvent)
    result = _import(str(file), "--dry-run")
    assert result.exit_code == 2, result.output
    assert "nothing was written" in result.stdout
    assert "would be accepted" in result.stdout
    assert (_count(session), _count(session, Document)) == (0, 0)
    assert _count(session, AuditEvent) == events_before
    documents = runtime.settings.documents_dir
    assert not documents.exists() or not [p for p in documents.rglob("*") if p.is_file()]


def test_csv_import_names_columns(cli_env: Settings, session: Session, tmp_path: Path) -> None:
    header = (
        "authority,jurisdiction,kind,legal_process,legal_basis_instrument,legal_basis_article,"
        "received_at,gag_order_basis,gag_order_until,targets,idempotency_key"
    )
    good = (
        "hkpf-nsd,HK,removal,court-order,Rules,Schedule 4,2020-07-07T09:30:00+08:00,"
        "Order 1,2021-01-01T00:00:00Z,@hk_student_union;post:9,C-1"
    )
    early_gag = (
        "hkpf-nsd,HK,removal,court-order,Rules,Schedule 4,2020-07-07T09:30:00+08:00,"
        "Order 1,2020-01-01T00:00:00Z,@a,C-2"
    )
    no_basis = "hkpf-nsd,HK,removal,court-order,,Schedule 4,,,,@a,C-3"
    file = tmp_path / "export.csv"
    file.write_text("\n".join([header, good, early_gag, no_basis]) + "\n", encoding="utf-8")
    errors = tmp_path / "errors.jsonl"
    result = _import(str(file), "--errors", str(errors))
    assert result.exit_code == 2, result.output
    refused = {r["line"]: [e["field"] for e in r["errors"]] for r in _refusals(errors)}
    assert refused == {3: ["gag_order_until"], 4: ["legal_basis_instrument"]}
    demand = session.scalar(select(Demand))
    assert demand is not None
    assert demand.idempotency_key == "C-1"
    assert [t.identifier for t in demand.targets] == ["@hk_student_union", "post:9"]
    session.rollback()


def test_bad_csv_header_refuses_the_file(
    cli_env: Settings, session: Session, tmp_path: Path
) -> None:
    file = tmp_path / "export.csv"
    file.write_text("authority,colour\nhkpf-nsd,red\n", encoding="utf-8")
    result = _import(str(file))
    assert result.exit_code == 2
    assert "unknown column" in result.stdout
    assert _count(session) == 0


def test_file_and_option_problems_exit_2(cli_env: Settings, tmp_path: Path) -> None:
    assert _import(str(tmp_path / "missing.jsonl")).exit_code == 2
    odd = tmp_path / "export.txt"
    odd.write_text("{}\n")
    result = _import(str(odd))
    assert result.exit_code == 2
    assert "--format" in result.stderr
    assert _import(str(odd), "--format", "xml").exit_code == 2
    assert _import(str(odd), "--format", "jsonl", "--channel", "portal").exit_code == 2
    assert _import(str(odd), "--format", "jsonl", "--channel", "pigeon").exit_code == 2
    assert runner.invoke(app, ["demand", "import", "--help"]).exit_code == 0


def test_a_batch_the_database_refuses_is_redone_row_by_row_with_the_chain_intact(
    cli_env: Settings,
    session: Session,
    runtime: Runtime,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The database refuses the batch after it was written (as when another import records
    one of its idempotency keys at the same moment): the batch's SAVEPOINT is rolled back and
    the rows are written one by one; the one that clashes again is refused, the others are
    kept, and no rolled-back event is left in the chain."""
    real = flow.receive_many

    def clash(session: Session, runtime: Runtime, items: list[flow.Incoming]) -> Any:
        answers = real(session, runtime, items)  # written, audit events recorded
        if len(items) > 1 or items[0].data.reference == "clashes":
            raise IntegrityError("INSERT", {}, Exception("duplicate key"))
        return answers

    monkeypatch.setattr(flow, "receive_many", clash)
    file = _jsonl(
        tmp_path / "export.jsonl",
        factories.body(reference="before"),
        factories.body(reference="clashes"),
        factories.body(reference="after"),
    )
    result = _import(str(file))
    assert result.exit_code == 2, result.output
    references = session.scalars(select(Demand.reference).order_by(Demand.id)).all()
    session.rollback()
    assert list(references) == ["before", "after"]
    key = signer.ensure_signing_key(runtime.settings.keys_dir)
    verdict = audit.verify_database(session, [public_key_bytes(key)])
    session.rollback()
    assert verdict.ok, verdict.summary()


_HEADER = (
    "authority,jurisdiction,reference,kind,legal_process,legal_basis_instrument,"
    "legal_basis_article,received_at,targets,confirmed_new"
)


def _csv_row(authority: str, reference: str, confirmed_new: str = "") -> str:
    return (
        f"{authority},HK,{reference},removal,administrative-order,Rules,Schedule 4,"
        f"2020-07-07T09:30:00+08:00,@hk_student_union,{confirmed_new}"
    )


def test_an_unknown_authority_is_named_on_its_line(
    cli_env: Settings, session: Session, tmp_path: Path
) -> None:
    file = tmp_path / "export.csv"
    rows = [_HEADER, _csv_row("hkpf-nsd", "R-1"), _csv_row("hkpf-xyz", "R-2")]
    file.write_text("\n".join(rows) + "\n", encoding="utf-8")
    errors = tmp_path / "refused.jsonl"
    result = _import(str(file), "--errors", str(errors))
    assert result.exit_code == 2, result.output
    refused = {r["line"]: [(e["field"], e["msg"]) for e in r["errors"]] for r in _refusals(errors)}
    assert refused == {3: [("authority", "no authority 'hkpf-xyz' in the registry")]}
    (shown,) = [line for line in result.stdout.splitlines() if "hkpf-xyz" in line]
    cells = [cell.strip() for cell in shown.split("│")[1:4]]
    assert cells == ["3", "authority", "no authority 'hkpf-xyz' in the registry"]
    assert _count(session) == 1


def test_a_repeated_row_is_refused_naming_what_it_repeats(
    cli_env: Settings, session: Session, tmp_path: Path
) -> None:
    file = tmp_path / "export.csv"
    rows = [
        _HEADER,
        _csv_row("hkpf-nsd", "R-1"),
        _csv_row("hkpf-nsd", "R-1"),  # the same row twice in one file
        _csv_row("hkpf-nsd", "R-2"),
        _csv_row("hkpf-nsd", "R-2", confirmed_new="true"),  # said to be new
    ]
    file.write_text("\n".join(rows) + "\n", encoding="utf-8")
    errors = tmp_path / "refused.jsonl"
    result = _import(str(file), "--errors", str(errors))
    assert result.exit_code == 2, result.output
    refused = {r["line"]: [(e["field"], e["msg"]) for e in r["errors"]] for r in _refusals(errors)}
    assert refused == {
        3: [
            (
                "reference",
                "line 2 (reference R-1, received 2020-07-07T01:30:00Z) already has this "
                "reference; if it is a new demand, send it again with confirmed_new: true",
            )
        ]
    }
    assert _count(session) == 3
    first = session.scalar(select(Demand.id).where(Demand.reference == "R-1"))
    session.rollback()

    # Importing the file again (its rows have no idempotency_key) enters nothing twice: each
    # row is refused naming the demand it entered the first time, except the one said to be
    # new, which is new again.
    again = _import(str(file), "--errors", str(errors))
    assert again.exit_code == 2, again.output
    refused = {r["line"]: [(e["field"], e["msg"]) for e in r["errors"]] for r in _refusals(errors)}
    assert set(refused) == {2, 3, 4}
    assert refused[2][0][0] == "reference"
    assert refused[2][0][1].startswith(f"demand {first} (reference R-1, received ")
    assert _count(session) == 4

    odd = tmp_path / "odd.csv"
    odd.write_text(f"{_HEADER}\n{_csv_row('hkpf-nsd', 'R-9', confirmed_new='yes')}\n")
    result = _import(str(odd), "--errors", str(errors))
    assert result.exit_code == 2
    ((line, fields),) = [(r["line"], [e["field"] for e in r["errors"]]) for r in _refusals(errors)]
    assert (line, fields) == (2, ["confirmed_new"])
