"""Ready-made policies reproducing how services answered Hong Kong in July 2020.

Each template is a policy file shipped as package data (``policy/templates/*.yaml``), with a
comment header quoting what the company said; a policy owner starts from one and edits it.
"""

from __future__ import annotations

from importlib.resources import files
from importlib.resources.abc import Traversable

from dueprocess.errors import NotFound
from dueprocess.policy.fileformat import load_policy
from dueprocess.policy.rules import PolicyDocument

_SUFFIX = ".yaml"


def _folder() -> Traversable:
    return files("dueprocess.policy").joinpath("templates")


def list_templates() -> list[str]:
    """The names :func:`load_template` accepts, sorted (e.g. ``facebook-whatsapp-2020``)."""
    return sorted(
        entry.name.removesuffix(_SUFFIX)
        for entry in _folder().iterdir()
        if entry.is_file() and entry.name.endswith(_SUFFIX)
    )


def template_text(name: str) -> str:
    """The template's file as shipped, comments included; :class:`NotFound` if unknown."""
    if name not in list_templates():
        raise NotFound(f"no policy template {name!r}; there are: {', '.join(list_templates())}")
    return _folder().joinpath(name + _SUFFIX).read_text(encoding="utf-8")


def load_template(name: str) -> PolicyDocument:
    """The template ``name`` as a checked policy; :class:`NotFound` if there is none."""
    return load_policy(template_text(name), source=f"policy/templates/{name}{_SUFFIX}")
