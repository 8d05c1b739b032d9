"""The identity review queue: pairs of records the linker could not settle, decided by a person.

Possible duplicates between the linkage thresholds wait here with both records side by side and
the evidence field by field; the reviewer accepts (one person: the records are merged) or rejects
(two people: never queued again). Reads and decisions are made and audited by
``joinedup.identity`` through governance; these handlers parse, call one service and render.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from joinedup.identity import decide_review_item, review_cases
from joinedup.web.deps import CurrentUser, DbSession, Templates

router = APIRouter(tags=["identity"])

# What the page says after a decision (the outcome only: no identifiers in the URL).
DONE = {"accepted": "Merged: the two records are now one person.", "rejected": "Kept apart as two people."}


@router.get("/identity/review", include_in_schema=False, response_class=HTMLResponse)
def review_queue(
    request: Request,
    db: DbSession,
    user: CurrentUser,
    templates: Templates,
    done: Annotated[str | None, Query(max_length=10)] = None,
) -> Response:
    """Pairs awaiting review, strongest evidence first, each with Accept and Reject."""
    cases = review_cases(db, actor=user)
    return templates.TemplateResponse(request, "identity/review.html", {"cases": cases, "done": DONE.get(done or "")})


@router.post("/identity/review/{review_item_id}", include_in_schema=False)
def decide(
    review_item_id: int,
    db: DbSession,
    user: CurrentUser,
    decision: Annotated[str, Form(pattern="^(accept|reject)$")],
    reason: Annotated[str, Form(max_length=400)] = "",
) -> Response:
    """Accept (same person: merge) or reject (different people) one pair."""
    decided = decide_review_item(db, actor=user, review_item_id=review_item_id, decision=decision, reason=reason)
    return RedirectResponse(f"/identity/review?done={decided.status}", status_code=303)
