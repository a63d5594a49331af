"""The numbers a URL carries (ids in paths, ids and offsets in queries), bounded to what the
database can hold, so every route refuses the same way.

Ids are ``integer`` columns on PostgreSQL (at most ``2**31 - 1``) and 64-bit on SQLite; an
offset goes to ``OFFSET``, a 64-bit ``bigint``. A number past those made the driver raise
(``integer out of range`` on PostgreSQL, an ``OverflowError`` on SQLite: a 500). Every route
takes its ids and offsets through these types instead of a bare ``int``; the OpenAPI schema
then states the bounds. A number out of range is **422 naming the parameter**
(``{"loc": ["path", "demand_id"], ...}``), as for any malformed input; a well-formed id that
names nothing (or nothing the caller may see) is 404. Path ids are also declared ``:int`` in
each route's path, so a segment that is not digits (``/api/v1/demands/batch``) is not read as
an id at all. ``tests/web/test_params.py`` walks the route table and fails on any route that
takes an unbounded integer.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query

MAX_ID = 2**31 - 1
"""The largest id every table holds: their ids are PostgreSQL ``integer`` columns."""

MAX_OFFSET = 2**63 - 1
"""The largest ``OFFSET`` PostgreSQL and SQLite take (a signed 64-bit number)."""

Id = Annotated[int, Path(ge=1, le=MAX_ID, description="An id: 1 to 2^31-1")]
"""An id in the path (``/demands/{demand_id:int}``)."""

QueryId = Annotated[int | None, Query(ge=1, le=MAX_ID, description="An id: 1 to 2^31-1")]
"""An optional id in the query string (``/policy/whatif?version=3``)."""

Offset = Annotated[int, Query(ge=0, le=MAX_OFFSET, description="Rows to skip: 0 to 2^63-1")]
"""How many rows a list skips."""

Count = Annotated[int | None, Query(ge=0, le=MAX_OFFSET)]
"""An optional count a page is told to show (``?evaluated=12``), never used to query."""
