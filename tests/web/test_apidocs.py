"""The API documentation's assets ship in the package: every file ``/docs`` and ``/redoc``
load is in ``web/static``, matched by ``pyproject.toml``'s package data (as setuptools
expands it into the wheel), and comes with its licence and its origin."""

from __future__ import annotations

import glob
import re
import tomllib
from pathlib import Path

import dueprocess

PACKAGE = Path(dueprocess.__file__).parent
ROOT = PACKAGE.parents[1]
WEB = PACKAGE / "web"


def _assets() -> set[str]:
    """Every ``/static/...`` path the documentation pages and their start-up script name."""
    found: set[str] = set()
    for page in (WEB / "templates" / "apidocs").glob("*.html"):
        found |= set(re.findall(r'(?:src|href)="(/static/[^"]+)"', page.read_text()))
    assert "/static/apidocs.js" in found
    return found


def _package_data() -> set[Path]:
    """The files setuptools puts in the wheel from ``[tool.setuptools.package-data]``."""
    patterns = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"][
        "package-data"
    ]["dueprocess"]
    return {
        Path(name)
        for pattern in patterns
        for name in glob.glob(str(PACKAGE / pattern), recursive=True)
        if Path(name).is_file()
    }


def test_every_asset_of_the_pages_is_package_data() -> None:
    shipped = _package_data()
    for asset in _assets():
        path = WEB / asset.removeprefix("/")
        assert path.is_file(), asset
        assert path in shipped, asset


def test_each_vendored_package_has_its_licence_and_origin() -> None:
    vendor = WEB / "static" / "vendor"
    readme = (vendor / "README.md").read_text()
    shipped = _package_data()
    for name, package in (("swagger-ui", "swagger-ui-dist"), ("redoc", "redoc")):
        assert (vendor / name / "LICENSE") in shipped
        row = next(line for line in readme.splitlines() if line.startswith(f"| `{name}/`"))
        assert f"| {package} |" in row
        assert re.search(r"\| \d+\.\d+\.\d+ \|", row), row
        assert "https://registry.npmjs.org/" in row
