"""The integration status page for engineers: feeds, last messages, quarantine with reasons."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from joinedup import record
from joinedup.web.deps import CurrentUser, DbSession, Templates

router = APIRouter(prefix="/integration", tags=["integration"], include_in_schema=False)


@router.get("", response_class=HTMLResponse)
def integration_page(request: Request, db: DbSession, user: CurrentUser, templates: Templates) -> Response:
    """Every feed's counts and last message, open quarantine by reason, and outbox lag."""
    status = record.integration_status(db, actor=user)
    return templates.TemplateResponse(request, "integration/status.html", {"status": status})
