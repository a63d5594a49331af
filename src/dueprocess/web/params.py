"""The numbers a URL carries (ids in paths, ids and offsets in queries), bounded to what the
database can hold, so every route refuses the same way.

Ids are 64-bit signed integers in PostgreSQL and SQLite; a number past ``2**63 - 1`` made
the driver raise (an ``OverflowError`` or a numeric-out-of-range error: a 500). Every route
takes its ids and offsets through these types instead of a bare ``int``; the OpenAPI schema
then states the bounds. A number out of range is **422 naming the parameter**
(``{"loc": ["path", "demand_id"], ...}``), as ``/demands/abc`` already was: it is not a
well-formed id, whereas a well-formed id that names nothing (or nothing the caller may see)
is 404. ``tests/web/test_params.py`` walks the route table and fails on any route that still
takes a bare ``int``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query

MAX_ID = 2**63 - 1
"""The largest id PostgreSQL's ``bigint`` and SQLite's ``INTEGER`` hold."""

Id = Annotated[int, Path(ge=1, le=MAX_ID, description="An id: 1 to 2^63-1")]
"""An id in the path (``/demands/{demand_id}``)."""

QueryId = Annotated[int | None, Query(ge=1, le=MAX_ID, description="An id: 1 to 2^63-1")]
"""An optional id in the query string (``/policy/whatif?version=3``)."""

Offset = Annotated[int, Query(ge=0, le=MAX_ID, description="Rows to skip: 0 to 2^63-1")]
"""How many rows a list skips."""

Count = Annotated[int | None, Query(ge=0, le=MAX_ID)]
"""An optional count a page is told to show (``?evaluated=12``), never used to query."""
