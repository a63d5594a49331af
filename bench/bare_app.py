"""The baseline for intake benchmarks: FastAPI parsing the same request model and answering,
with no database, served the same way as dueprocess (same server, same workers)."""

from __future__ import annotations

from fastapi import FastAPI
from pydantic import BaseModel

from dueprocess.demands.schemas import DemandIn

app = FastAPI()


@app.post("/bare", status_code=201)
def bare(data: DemandIn) -> dict[str, str]:
    """Validate the body exactly as intake does, then answer."""
    return {"kind": data.kind.value}


class Batch(BaseModel):
    """The batch body, as the real endpoint takes it."""

    demands: list[DemandIn]


@app.post("/bare-batch", status_code=201)
def bare_batch(data: Batch) -> dict[str, int]:
    """Validate a batch exactly as batch intake does, then answer."""
    return {"demands": len(data.demands)}
