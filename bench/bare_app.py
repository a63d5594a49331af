"""The baseline for intake benchmarks: FastAPI parsing the same request model and answering,
with no database, served the same way as dueprocess (same server, same workers)."""

from __future__ import annotations

from fastapi import FastAPI

from dueprocess.demands.schemas import DemandIn

app = FastAPI()


@app.post("/bare", status_code=201)
def bare(data: DemandIn) -> dict[str, str]:
    """Validate the body exactly as intake does, then answer."""
    return {"kind": data.kind.value}
