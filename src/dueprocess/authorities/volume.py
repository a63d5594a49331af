"""How many demands each authority sent, by the hour: the store behind requester
verification's volume signal (:func:`dueprocess.authorities.service.volume`).

Intake adds what it writes (:func:`count_received`, in the transaction that writes the
demands); verification reads the sums (:func:`received_volume`). Kept here, beside the
registry, so that authorities depend on nothing above them.
"""

from __future__ import annotations

import random
from collections import Counter
from datetime import datetime

from sqlalchemy import bindparam, case, func, select, text
from sqlalchemy.orm import Session

from dueprocess.authorities.models import STRIPES, ReceivedVolume
from dueprocess.clock import start_of_hour
from dueprocess.db import UTCDateTime


def received_volume(
    session: Session, authority_id: int, *, since: datetime, split: datetime
) -> tuple[int, int]:
    """The authority's demands received from ``since`` to before ``split``, and from
    ``split`` on, counted by the hour (:class:`ReceivedVolume`): each bound is taken back to
    the start of its UTC hour, so the last day may include up to an hour more. Requester
    verification compares the last day (after ``split``) with the authority's usual volume
    (before it)."""
    row = session.execute(
        _RECEIVED_VOLUME,
        {
            "authority_id": authority_id,
            "since": start_of_hour(since),
            "split": start_of_hour(split),
        },
    ).one()
    return int(row[0]), int(row[1])


# Built once (read on every intake transaction); the sums are 0 when nothing was received.
_RECENT = ReceivedVolume.hour >= bindparam("split")
_RECEIVED_VOLUME = select(
    func.coalesce(func.sum(case((_RECENT, 0), else_=ReceivedVolume.received)), 0),
    func.coalesce(func.sum(case((_RECENT, ReceivedVolume.received), else_=0)), 0),
).where(
    ReceivedVolume.authority_id == bindparam("authority_id"),
    ReceivedVolume.hour >= bindparam("since"),
)


def count_received(session: Session, received: list[tuple[int, datetime]]) -> None:
    """Add demands (authority id, time of receipt) to ``received_volume``: one upsert for
    all, into one of the hour's stripes picked at random (:class:`ReceivedVolume`), in a
    fixed order so concurrent writers lock rows alike. A writer holds its rows until it
    commits, so this is best the last write before the commit."""
    if not received:
        return
    # Demands of a group share their time of receipt: work out each distinct hour once.
    hours = Counter(received)
    rows = Counter[tuple[int, datetime]]()
    for (authority_id, at), n in hours.items():
        rows[(authority_id, start_of_hour(at))] += n
    stripe = random.randrange(STRIPES)  # noqa: S311 - spreads writers, no secret
    session.execute(
        _COUNT_RECEIVED,
        [
            {"authority_id": a, "hour": h, "stripe": stripe, "received": n}
            for (a, h), n in sorted(rows.items())
        ],
    )


# One statement text for both databases (SQLite has had ON CONFLICT since 3.24); built once,
# where SQLAlchemy's upsert construct compiled anew on every call (a millisecond a batch).
_COUNT_RECEIVED = text(
    "INSERT INTO received_volume (authority_id, hour, stripe, received)"
    " VALUES (:authority_id, :hour, :stripe, :received)"
    " ON CONFLICT (authority_id, hour, stripe)"
    " DO UPDATE SET received = received_volume.received + excluded.received"
).bindparams(bindparam("hour", type_=UTCDateTime(timezone=True)))
