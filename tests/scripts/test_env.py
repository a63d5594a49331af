"""``scripts/_env.sh``: installs into .venv only when what is there lacks what is asked for."""

from __future__ import annotations

import shutil
import stat
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _checkout(tmp_path: Path) -> tuple[Path, Path]:
    """A copy of the scripts and pyproject with a stand-in ``.venv/bin/python`` that only
    writes down the ``pip install`` it is asked for."""
    (tmp_path / "scripts").mkdir()
    shutil.copy(ROOT / "scripts" / "_env.sh", tmp_path / "scripts" / "_env.sh")
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    log = tmp_path / "pip.log"
    python = tmp_path / ".venv" / "bin" / "python"
    python.parent.mkdir(parents=True)
    python.write_text(f'#!/bin/sh\necho "$*" >> {log}\n')
    python.chmod(python.stat().st_mode | stat.S_IXUSR)
    return tmp_path, log


def _source(checkout: Path, log: Path, mode: str) -> list[str]:
    """Source ``_env.sh mode`` as the scripts do; the installs it ran (editable targets)."""
    before = log.read_text().splitlines() if log.exists() else []
    done = subprocess.run(
        ["bash", "-c", f"source scripts/_env.sh {mode}"],
        cwd=checkout,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    after = log.read_text().splitlines() if log.exists() else []
    return [line.split()[-1] for line in after[len(before) :] if " -e " in f" {line} "]


def test_a_dev_install_serves_a_run_but_a_run_install_not_dev(tmp_path: Path) -> None:
    checkout, log = _checkout(tmp_path)
    assert _source(checkout, log, "dev") == [".[dev]"]
    # ./scripts/start after ./scripts/test: no reinstall, either way round, again and again.
    for _ in range(2):
        assert _source(checkout, log, "run") == []
        assert _source(checkout, log, "dev") == []
    # A changed pyproject reinstalls; a run install then does not serve dev.
    with (checkout / "pyproject.toml").open("a") as fh:
        fh.write("\n# changed\n")
    assert _source(checkout, log, "run") == ["."]
    assert _source(checkout, log, "run") == []
    assert _source(checkout, log, "dev") == [".[dev]"]
    assert _source(checkout, log, "run") == []


def test_an_unknown_mode_is_refused(tmp_path: Path) -> None:
    checkout, _log = _checkout(tmp_path)
    done = subprocess.run(
        ["bash", "-c", "source scripts/_env.sh devel"],
        cwd=checkout,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2
    assert "unknown install mode 'devel'" in done.stderr
