"""Population health dashboards: a measure by month (SPC chart data) or by place (funnel plot data).

Aggregates only, with disclosure control applied by the reporting service; viewing one is audited.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from joinedup import governance
from joinedup.reporting import MEASURES, measure_document, report_measure
from joinedup.web.deps import AppSettings, CurrentUser, DbSession, Templates

router = APIRouter(prefix="/dashboards", tags=["dashboards"], include_in_schema=False)


@router.get("", response_class=HTMLResponse)
def dashboards_page(request: Request, user: CurrentUser, templates: Templates) -> Response:
    """The list of measures with links to each by month, practice and neighbourhood."""
    return templates.TemplateResponse(request, "dashboards/index.html", {"measures": list(MEASURES.values())})


@router.get("/{measure}", response_class=HTMLResponse)
def measure_page(
    measure: str,
    request: Request,
    db: DbSession,
    user: CurrentUser,
    templates: Templates,
    settings: AppSettings,
    by: Annotated[Literal["practice", "neighbourhood", "month"], Query()] = "month",
) -> Response:
    """One measure: its values (small numbers suppressed), SPC reading or funnel positions."""
    result = report_measure(settings, measure=measure, by=by)
    governance.record_audit(db, actor=user, action="view", resource_type="dashboard", detail=f"{measure} by {by}")
    return templates.TemplateResponse(
        request, "dashboards/measure.html", {"document": measure_document(result), "by": by}
    )
