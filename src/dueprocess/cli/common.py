"""What every command group shares: the consoles, the acting name, one transaction per
command, and how a refusal is printed and exits.

Exit codes of every command: 0 done; 1 a check failed or something was not found (e.g.
``audit verify`` found tampering); 2 bad input, each bad field named on standard error.
"""

from __future__ import annotations

import getpass
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NoReturn

import typer
from rich.console import Console
from sqlalchemy.orm import Session

from dueprocess.config import Settings
from dueprocess.errors import InvalidInput, NotFound
from dueprocess.runtime import Runtime

out = Console()
err = Console(stderr=True)
CLI_ACTOR = f"cli:{getpass.getuser()}"


def load_runtime() -> Runtime:
    """The runtime of this installation, from ``DUEPROCESS_*`` in the environment."""
    return Runtime(Settings.from_env())


def fail(message: str, code: int = 2) -> NoReturn:
    """``message`` on standard error, unwrapped (scripts read it), then exit ``code``."""
    sys.stderr.write(f"{message}\n")
    raise typer.Exit(code)


def invalid(exc: InvalidInput) -> NoReturn:
    """Exit 2 with every refused field on a line of its own."""
    lines = [f"  {e.where()}: {e.msg}" for e in exc.errors]
    fail("refused, nothing was written:\n" + "\n".join(lines))


@contextmanager
def unit_of_work(rt: Runtime) -> Iterator[Session]:
    """One transaction; service errors become exit code 2 (bad input) or 1 (not found)."""
    try:
        with rt.sessions() as session, session.begin():
            yield session
    except InvalidInput as exc:
        invalid(exc)
    except NotFound as exc:
        fail(f"not found: {exc}", 1)


def ensure_schema(rt: Runtime) -> None:
    """Data directory, migrations and the audit checkpoint key: what every start needs."""
    from dueprocess.audit import signer
    from dueprocess.migrations import upgrade

    rt.settings.data_dir.mkdir(parents=True, exist_ok=True)
    upgrade(rt.engine)
    signer.ensure_signing_key(rt.settings.keys_dir)


def print_json(value: Any) -> None:
    """``value`` as indented JSON on standard output (non-ASCII as itself)."""
    sys.stdout.write(json.dumps(value, indent=2, ensure_ascii=False) + "\n")


def read_json(path: Path) -> Any:
    """The JSON in ``path``, or exit 2 naming the file and what is wrong with it."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        fail(f"{path}: no such file")
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        fail(f"{path}: not valid JSON ({exc})")
