"""Population health dashboards: a measure by month (SPC chart) or by place (funnel plot, small multiples).

Aggregates only, with disclosure control applied by the reporting service. Opening any of them is
an access decision (the policy's ``aggregate`` resource, for planning), audited like every other.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from joinedup import governance
from joinedup.reporting import MEASURES, measure_document, report_measure, report_neighbourhood_trends
from joinedup.web.charts import dashboard_charts
from joinedup.web.deps import AppSettings, CurrentUser, DbSession, Templates

router = APIRouter(prefix="/dashboards", tags=["dashboards"], include_in_schema=False)


@router.get("", response_class=HTMLResponse)
def dashboards_page(request: Request, db: DbSession, user: CurrentUser, templates: Templates) -> Response:
    """The list of measures with links to each by month, practice and neighbourhood."""
    _authorise_aggregates(db, user, detail="dashboards")
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
    """One measure: its values (small numbers suppressed), SPC chart or funnel plot.

    By neighbourhood, also each neighbourhood's monthly SPC chart on one scale (small multiples).
    """
    _authorise_aggregates(db, user, detail=f"{measure} by {by}")
    result = report_measure(settings, measure=measure, by=by)
    document = measure_document(result)
    trends = {}
    if by == "neighbourhood" and "month" in result.measure.dimensions:
        trends = {area: measure_document(trend)
                  for area, trend in report_neighbourhood_trends(settings, measure=measure).items()}
    charts = dashboard_charts(document, trends)
    return templates.TemplateResponse(
        request, "dashboards/measure.html", {"document": document, "by": by, "charts": charts}
    )


def _authorise_aggregates(db: DbSession, user: CurrentUser, *, detail: str) -> None:
    """Dashboards are secondary use (planning): only roles the policy gives aggregates may open them."""
    governance.authorise(db, actor=user, person_id=None, resource_type="aggregate", action="read",
                         purpose="planning", detail=detail)
