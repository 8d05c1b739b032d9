"""Domain errors turned into HTTP answers, in the shape the caller asked for.

One mapping for every route of every area:

=====================  ======  =============================================================
error                  status  notes
=====================  ======  =============================================================
``SignInRequired``     401     pages redirect to the sign-in page instead (303)
``AccessDenied``       403     the reason is shown: it tells the user what to do
``NotFound``           404     also what a caller sees of a person they may not know exists
``Conflict``           409
``InvalidInput``       422
``TooManyRequests``    429     with ``Retry-After``; sign-in attempts and searches (``web/rate_limits.py``)
request validation     422     FastAPI's default echoes the input back; ours names fields only
``JoinedUpError``      500     anything else of ours; logged by type, never by message
=====================  ======  =============================================================

Three shapes: FHIR ``OperationOutcome`` for ``/fhir/``, JSON ``{"detail": ...}`` for ``/api/`` and
the token endpoint (and for any caller that sent a bearer token), an NHS.UK-styled page for
everything else.
Messages are our own texts: they carry no patient identifiers (see ``joinedup.errors``).
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException

from joinedup.errors import AccessDenied, Conflict, InvalidInput, JoinedUpError, NotFound

logger = logging.getLogger(__name__)
# Seconds a client should wait before retrying when the store is briefly unreachable (503).
STORE_RETRY_AFTER_SECONDS = 5

FHIR_JSON = "application/fhir+json"
# Outside /api but answered to machines (OAuth-style JSON).
JSON_PATHS = frozenset({"/auth/token"})


class SignInRequired(JoinedUpError):
    """The request needs a signed-in user (a session cookie or a bearer token) and has none."""


class ScopeMissing(AccessDenied):
    """The bearer token's SMART-style scopes do not cover what the request asks for."""


class TooManyRequests(JoinedUpError):
    """The caller is over a rate limit (sign-in attempts, searches): try again after ``retry_after`` seconds."""

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


# (status, FHIR issue code, page title) per error class, most specific first.
_MAPPING: tuple[tuple[type[Exception], int, str, str], ...] = (
    (SignInRequired, 401, "login", "You need to sign in"),
    (AccessDenied, 403, "forbidden", "You cannot see this"),
    (NotFound, 404, "not-found", "Page not found"),
    (Conflict, 409, "conflict", "This has changed"),
    (InvalidInput, 422, "invalid", "There is a problem with what was sent"),
)


def response_kind(request: Request) -> str:
    """``fhir``, ``json`` or ``page``: how this caller wants its errors."""
    path = request.url.path
    if path.startswith("/fhir"):
        return "fhir"
    if path.startswith("/api") or path in JSON_PATHS:
        return "json"
    if request.headers.get("authorization", "").lower().startswith("bearer "):
        return "json"
    return "page"


def operation_outcome(status: int, code: str, message: str) -> dict[str, Any]:
    """A FHIR R4 OperationOutcome with one issue."""
    severity = "error" if status < 500 else "fatal"
    return {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": severity, "code": code, "diagnostics": message}],
    }


def error_response(request: Request, status: int, code: str, title: str, message: str) -> Response:
    """Render an error in the caller's shape (FHIR, JSON or a page)."""
    kind = response_kind(request)
    headers: dict[str, str] = {}
    if status == 401 and kind != "page":
        headers["WWW-Authenticate"] = 'Bearer realm="joinedup"'
    if kind == "fhir":
        return JSONResponse(
            operation_outcome(status, code, message), status_code=status, media_type=FHIR_JSON, headers=headers
        )
    if kind == "json":
        return JSONResponse({"detail": message, "code": code}, status_code=status, headers=headers)
    if status == 401:
        target = request.url.path
        if request.url.query:
            target += "?" + request.url.query
        return RedirectResponse(f"/sign-in?next={quote(target, safe='')}", status_code=303)
    templates = getattr(request.app.state, "templates", None)
    if templates is None:  # pragma: no cover - app not fully built
        return HTMLResponse(f"<h1>{title}</h1>", status_code=status)
    page: Response = templates.TemplateResponse(
        request,
        "errors/error.html",
        {"status": status, "title": title, "message": message},
        status_code=status,
    )
    return page


async def _joinedup_error(request: Request, exc: Exception) -> Response:
    for error_class, status, code, title in _MAPPING:
        if isinstance(exc, error_class):
            message = exc.reason if isinstance(exc, AccessDenied) else str(exc) or title
            return error_response(request, status, code, title, message)
    logger.error("unhandled %s on %s", type(exc).__name__, _route_template(request))
    return error_response(request, 500, "exception", "Sorry, there is a problem", "Something went wrong.")


async def _too_many_requests(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, TooManyRequests)
    response = error_response(request, 429, "throttled", "Too many attempts", str(exc))
    response.headers["Retry-After"] = str(exc.retry_after)
    return response


async def _validation_error(request: Request, exc: Exception) -> Response:
    """422 naming the fields at fault and the rule broken, never the values sent."""
    assert isinstance(exc, RequestValidationError)
    problems = []
    for error in exc.errors():
        location = ".".join(str(part) for part in error.get("loc", ()))
        problems.append(f"{location}: {error.get('msg', 'invalid')}")
    message = "; ".join(problems) or "the request is not valid"
    if response_kind(request) == "json":
        detail = [{"loc": list(e.get("loc", ())), "msg": e.get("msg"), "type": e.get("type")} for e in exc.errors()]
        return JSONResponse({"detail": detail, "code": "invalid"}, status_code=422)
    return error_response(request, 422, "invalid", "There is a problem with what was sent", message)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    titles = {404: "Page not found", 405: "Method not allowed", 401: "You need to sign in", 403: "Forbidden"}
    codes = {404: "not-found", 401: "login", 403: "forbidden"}
    title = titles.get(exc.status_code, "Sorry, there is a problem")
    message = exc.detail if isinstance(exc.detail, str) else title
    response = error_response(request, exc.status_code, codes.get(exc.status_code, "processing"), title, message)
    for name, value in (exc.headers or {}).items():
        response.headers.setdefault(name, value)
    return response


async def _store_unavailable(request: Request, exc: Exception) -> Response:
    """503 + Retry-After when the store cannot be reached (restarting, failing over, locked): retry later.

    Found by tests/reliability/test_database_faults.py (a PostgreSQL restart gave 500s); the pool's
    pre-ping reconnects by itself once the database is back.
    """
    logger.warning("store unavailable (%s) on %s", type(exc).__name__, _route_template(request))
    response = error_response(request, 503, "transient", "Sorry, the service is unavailable",
                              "The service is briefly unavailable. Try again in a few seconds.")
    response.headers["Retry-After"] = str(STORE_RETRY_AFTER_SECONDS)
    return response


async def _unexpected_error(request: Request, exc: Exception) -> Response:
    # Type and route template only: the message of a library error may hold values.
    logger.error("unexpected %s on %s", type(exc).__name__, _route_template(request))
    return error_response(request, 500, "exception", "Sorry, there is a problem", "Something went wrong.")


def _route_template(request: Request) -> str:
    route = request.scope.get("route")
    return getattr(route, "path", "unmatched route")


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers above on ``app`` (replacing FastAPI's default 422 handler)."""
    app.add_exception_handler(JoinedUpError, _joinedup_error)
    app.add_exception_handler(TooManyRequests, _too_many_requests)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    for store_error in (OperationalError, InterfaceError, PoolTimeout):
        app.add_exception_handler(store_error, _store_unavailable)
    app.add_exception_handler(Exception, _unexpected_error)


__all__ = [
    "FHIR_JSON",
    "ScopeMissing",
    "SignInRequired",
    "TooManyRequests",
    "error_response",
    "install_error_handlers",
    "operation_outcome",
    "response_kind",
]
