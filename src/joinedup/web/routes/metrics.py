"""``/metrics``: Prometheus-format figures for operators (system administrators or their tokens)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse

from joinedup.errors import AccessDenied
from joinedup.governance.access import may
from joinedup.operations.metrics import store_metrics
from joinedup.web.deps import CurrentUser, DbSession

router = APIRouter(tags=["operations"], include_in_schema=False)


@router.get("/metrics", response_class=PlainTextResponse)
def metrics(request: Request, db: DbSession, user: CurrentUser) -> PlainTextResponse:
    """Feed throughput, quarantine, ingest lag, queue depth and request latency."""
    if not may(user, "feed", "read"):
        raise AccessDenied("metrics are for system administrators")
    lines = store_metrics(db) + request.app.state.request_metrics.render()
    return PlainTextResponse("\n".join(lines) + "\n", media_type="text/plain; version=0.0.4")
