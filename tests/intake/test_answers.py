"""A batch answers with plain data serialised by orjson, not with ``DemandOut`` models: the
bytes must be the ones the model would give, and describe the demand as it was stored."""

from __future__ import annotations

import base64

import orjson
import pytest
from sqlalchemy.orm import Session

from dueprocess.demands import service as demands
from dueprocess.demands.models import Channel
from dueprocess.demands.schemas import DemandIn, DemandOut
from dueprocess.intake import flow
from dueprocess.runtime import Runtime
from tests import factories

VARIANTS = {
    "plain": {},
    "everything": {
        "idempotency_key": "k-everything",
        "sender": "officer@police.gov.hk",
        "data_categories": ["subscriber", "content"],
        "period_start": "2020-06-30T23:00:00+08:00",
        "period_end": "2020-07-06T12:00:00.250000+08:00",
        "gag_order": {"basis": "Article 43, Schedule 4, s. 9", "until": "2021-07-06T00:00:00Z"},
        "documents": [
            {
                "filename": "order.txt",
                "content_base64": base64.b64encode(b"Notice under Schedule 4\n").decode(),
            }
        ],
        "targets": [
            {"type": "content", "id": "https://microblog.demo/@a/1", "note": "the post"},
            {"type": "account", "id": "@a"},
        ],
    },
    "open gag, no deadline": {"gag_order": {"basis": "s. 9"}, "deadline": None},
    "received now": {"received_at": None, "deadline": None},
}


@pytest.mark.parametrize("changes", VARIANTS.values(), ids=VARIANTS.keys())
def test_a_written_demand_answers_as_its_model_and_as_it_reads_back(
    session: Session, runtime: Runtime, changes: dict[str, object]
) -> None:
    factories.authority(session)
    item = flow.Incoming(DemandIn.model_validate(factories.body(**changes)), Channel.API, "token:1")
    (received,) = flow.receive_many(session, runtime, [item])
    session.commit()
    assert isinstance(received, flow.Received)
    assert received.created

    fast = orjson.dumps(received.answer, option=orjson.OPT_UTC_Z)
    assert fast == DemandOut.model_validate(received.answer).model_dump_json().encode()
    stored = demands.to_out(session, demands.get(session, received.answer["id"]))
    assert fast == stored.model_dump_json().encode()


def test_a_replay_answers_with_the_stored_demand(session: Session, runtime: Runtime) -> None:
    factories.authority(session)
    data = DemandIn.model_validate(factories.body(idempotency_key="k-1"))
    first, again = flow.receive_many(
        session, runtime, [flow.Incoming(data, Channel.API, "token:1")] * 2
    )
    session.commit()
    (later,) = flow.receive_many(session, runtime, [flow.Incoming(data, Channel.API, "token:1")])
    assert isinstance(first, flow.Received)
    assert isinstance(later, flow.Received)
    assert isinstance(again, flow.Received)
    assert not again.created
    assert not later.created
    assert later.answer == again.answer == first.answer
    assert later.demand == first.demand
