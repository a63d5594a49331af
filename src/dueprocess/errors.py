"""The errors service functions raise; web and CLI translate them (422 / exit code 2, 404, 409).

Services never return half-done work: they raise before writing, or the caller's transaction
rolls back. Every :class:`InvalidInput` names each bad field, so a requester can fix all of
them at once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

_NOT_BODY = frozenset({"query", "path", "header", "cookie"})


@dataclass(frozen=True)
class FieldError:
    """One problem with one field. ``loc`` is the path to it, e.g. ``("targets", 0, "id")``."""

    loc: tuple[str | int, ...]
    msg: str
    type: str = "value_error"

    def where(self) -> str:
        """The field path as people write it: ``targets[0].id``."""
        out = ""
        for part in self.loc:
            out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
        return out or "body"

    def as_dict(self) -> dict[str, object]:
        """The shape FastAPI uses for its own validation errors, so clients parse one form."""
        where = list(self.loc) if self.loc and self.loc[0] in _NOT_BODY else ["body", *self.loc]
        return {"loc": where, "msg": self.msg, "type": self.type}


class DueprocessError(Exception):
    """Base of the errors a service raises on purpose."""


class InvalidInput(DueprocessError):
    """The input cannot be accepted; nothing was written."""

    def __init__(self, errors: Sequence[FieldError]) -> None:
        self.errors = list(errors)
        super().__init__("; ".join(f"{e.where()}: {e.msg}" for e in self.errors))

    @classmethod
    def one(cls, loc: tuple[str | int, ...], msg: str, type: str = "value_error") -> InvalidInput:
        """Shorthand for a single bad field."""
        return cls([FieldError(loc, msg, type)])


class NotFound(DueprocessError):
    """No such object, or none the caller may see (the two are deliberately indistinguishable)."""


class Conflict(DueprocessError):
    """The request contradicts the stored state (e.g. a state transition not allowed now)."""


class NotPermitted(DueprocessError):
    """The caller's roles do not allow this step here (e.g. a legal reviewer approving, or a
    reviewer approving their own decision). The message says who may."""


def from_validation(errors: Sequence[Mapping[str, Any]]) -> InvalidInput:
    """Turn pydantic's error list (``exc.errors()``) into :class:`InvalidInput`.

    Pydantic's ``loc`` for a body starts at the field; its messages are kept, minus the
    ``Value error,`` prefix it adds to messages raised by our validators.
    """
    out = []
    for err in errors:
        loc = tuple(p for p in err.get("loc", ()) if p != "body")
        msg = str(err.get("msg", "is invalid")).removeprefix("Value error, ")
        out.append(FieldError(loc, msg, str(err.get("type", "value_error"))))
    return InvalidInput(out)
