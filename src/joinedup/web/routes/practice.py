"""The practice view for GPs and practice staff: the practice's high-risk list from the risk model."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from joinedup.errors import AccessDenied
from joinedup.web.deps import CurrentUser, DbSession, Templates

router = APIRouter(prefix="/practice", tags=["practice"], include_in_schema=False)


@router.get("", response_class=HTMLResponse)
def practice_page(
    request: Request,
    db: DbSession,
    user: CurrentUser,
    templates: Templates,
    top: Annotated[int, Query(ge=1, le=500)] = 50,
) -> Response:
    """The user's practice: its highest-risk patients with reasons and what is in place for them."""
    # Loaded here, not at start-up: the risk package brings the model libraries with it.
    from joinedup.risk import practice_cohort_report

    if user.org_code is None:
        raise AccessDenied("your account is not attached to a GP practice")
    cohort = practice_cohort_report(db, actor=user, practice_code=user.org_code, top=top)
    return templates.TemplateResponse(request, "practice/cohort.html", {"cohort": cohort, "top": top})
