"""The web application: pages for people, the FHIR R4 and JSON APIs for machines.

``create_app(settings)`` builds it. Every module in ``joinedup.web.routes`` that defines
``router: APIRouter`` is included, so each area adds ``routes/<area>.py`` and
``templates/<area>/`` without touching this file. Every route also gets the CSRF check
(``deps.verify_csrf``) and the error mapping of ``web/errors.py``.

Around every response: security headers (a CSP with a per-request nonce, HSTS,
``frame-ancestors 'none'``, ``no-store`` on everything but static assets), the signed session
cookie, and an access log that names the route template, never the URL (query strings and paths
can carry identifiers).
"""

from __future__ import annotations

import importlib
import logging
import pkgutil
import secrets
import time
from pathlib import Path
from typing import Any

import jinja2
from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from sqlalchemy.orm import Session, sessionmaker
from starlette.middleware.sessions import SessionMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from joinedup import __version__
from joinedup.operations.metrics import RequestMetrics
from joinedup.settings import Settings
from joinedup.store import make_engine, make_session_factory
from joinedup.web import routes as routes_package
from joinedup.web.auth import SESSION_COOKIE, SESSION_IDLE_SECONDS, TokenService, csrf_token
from joinedup.web.deps import get_optional_user, verify_csrf
from joinedup.web.errors import install_error_handlers
from joinedup.web.formatting import register_filters
from joinedup.web.navigation import navigation_for
from joinedup.web.rate_limits import RateLimits

logger = logging.getLogger(__name__)
access_logger = logging.getLogger("joinedup.web.access")

HERE = Path(__file__).parent
STATIC = HERE / "static"
TEMPLATES = HERE / "templates"
ASSET_PREFIX = "/assets"


def content_security_policy(nonce: str, form_targets: tuple[str, ...] = ()) -> str:
    """Only our own scripts (plus the one inline script NHS.UK's template needs, by nonce).

    Fonts stay on our origin too: the NHS.UK CSS asks for Frutiger from a CDN, and a patient page
    should not make calls to third parties; the browser falls back to Arial. ``form_targets`` are
    other origins a form on the page may lead to (a SMART app's redirect URI after approval).
    """
    return "; ".join(
        (
            "default-src 'self'",
            f"script-src 'self' 'nonce-{nonce}'",
            "style-src 'self'",
            "img-src 'self' data:",
            "font-src 'self'",
            "connect-src 'self'",
            "object-src 'none'",
            "base-uri 'self'",
            " ".join(("form-action 'self'", *form_targets)),
            "frame-ancestors 'none'",
        )
    )


class SecurityHeaders:
    """Adds the security headers to every HTTP response, and a CSP nonce to the request state."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        nonce = secrets.token_urlsafe(16)
        scope.setdefault("state", {})["csp_nonce"] = nonce
        is_asset = str(scope.get("path", "")).startswith(ASSET_PREFIX + "/")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                wanted = {
                    b"content-security-policy": content_security_policy(nonce).encode(),
                    b"strict-transport-security": b"max-age=31536000; includeSubDomains",
                    b"x-content-type-options": b"nosniff",
                    b"x-frame-options": b"DENY",
                    b"referrer-policy": b"no-referrer",
                    b"permissions-policy": b"camera=(), microphone=(), geolocation=(), payment=()",
                    b"cross-origin-opener-policy": b"same-origin",
                    b"cache-control": b"public, max-age=3600" if is_asset else b"no-store",
                }
                for name, value in wanted.items():
                    if name not in present or name == b"cache-control":
                        headers = [(n, v) for n, v in headers if n.lower() != name]
                        headers.append((name, value))
                if not is_asset:
                    headers.append((b"pragma", b"no-cache"))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


class AccessLog:
    """Logs each request as method, route template, status and time: never the URL itself."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def record_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, record_status)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", None)
            if template is None:
                template = ASSET_PREFIX + "/…" if str(scope.get("path", "")).startswith(ASSET_PREFIX) else "unmatched"
            seconds = time.perf_counter() - started
            access_logger.info("%s %s %d %.1fms", scope.get("method", "?"), template, status, seconds * 1000)
            recorder = getattr(getattr(scope.get("app"), "state", None), "request_metrics", None)
            if recorder is not None:
                recorder.observe(str(scope.get("method", "?")), template, status, seconds)


def build_templates() -> Jinja2Templates:
    """Our templates, with the NHS.UK frontend macros (``nhsuk/components/...``) on the path."""
    environment = jinja2.Environment(
        loader=jinja2.ChoiceLoader(
            [jinja2.FileSystemLoader(TEMPLATES), jinja2.PackageLoader("nhsuk_frontend_jinja", "templates")]
        ),
        autoescape=True,
        # The NHS.UK macros read optional params (params.search.action) without guards.
        undefined=jinja2.ChainableUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    register_filters(environment.filters)
    environment.globals["joinedup_version"] = __version__
    environment.globals["asset_path"] = ASSET_PREFIX
    return Jinja2Templates(env=environment, context_processors=[_page_context])


def _single_sign_on_name(settings: Settings) -> str | None:
    return settings.oidc_provider_name if settings.oidc_enabled else None


def _page_context(request: Request) -> dict[str, Any]:
    """What every page needs: the user, the nav for their role, the CSRF token and CSP nonce."""
    actor = getattr(request.state, "actor", None) if hasattr(request.state, "actor") else get_optional_user(request)
    return {
        "current_user": actor,
        "navigation": navigation_for(actor),
        "csrf_token": csrf_token(request),
        "csp_nonce": getattr(request.state, "csp_nonce", ""),
        "current_path": request.url.path,
        # The OpenID Connect provider's name when single sign-on is on (the sign-in page's button).
        "single_sign_on": _single_sign_on_name(request.app.state.settings),
    }


def discover_routers() -> list[tuple[str, APIRouter]]:
    """Every ``router`` defined by a module of ``joinedup.web.routes``, in module-name order.

    A module that fails to import fails the app: a missing area is worse hidden than shown.
    """
    found = []
    for module_info in sorted(pkgutil.iter_modules(routes_package.__path__), key=lambda m: m.name):
        if module_info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{routes_package.__name__}.{module_info.name}")
        router = getattr(module, "router", None)
        if isinstance(router, APIRouter):
            found.append((module_info.name, router))
    return found


def create_app(settings: Settings, *, sessions: sessionmaker[Session] | None = None) -> FastAPI:
    """Build the web application for ``settings``.

    Args:
        settings: where the store is and where the secrets live (the session key signs cookies).
        sessions: a session factory to use instead of one on ``settings.resolved_database_url``
            (tests, or a caller that already opened the store). The store must be upgraded.
    """
    app = FastAPI(
        title="joinedup",
        version=__version__,
        description="Shared care record, care coordination and population health: JSON API. "
        "The FHIR R4 API is under /fhir (CapabilityStatement at /fhir/metadata).",
        docs_url=None,
        redoc_url=None,
        openapi_url="/api/openapi.json",
    )
    if sessions is None:
        sessions = make_session_factory(make_engine(settings.resolved_database_url))
    session_key = settings.secret("session_key").get_secret_value()
    app.state.settings = settings
    app.state.sessions = sessions
    app.state.templates = build_templates()
    app.state.tokens = TokenService(session_key)
    app.state.request_metrics = RequestMetrics()
    app.state.rate_limits = RateLimits(settings)

    install_error_handlers(app)
    app.mount(ASSET_PREFIX, StaticFiles(directory=STATIC), name="assets")
    for name, router in discover_routers():
        logger.debug("including routes of %s", name)
        app.include_router(router, dependencies=[Depends(verify_csrf)])

    app.add_middleware(
        SessionMiddleware,
        secret_key=session_key,
        session_cookie=SESSION_COOKIE,
        max_age=SESSION_IDLE_SECONDS,
        same_site="lax",
        https_only=True,
    )
    app.add_middleware(AccessLog)
    app.add_middleware(SecurityHeaders)
    return app


__all__ = ["content_security_policy", "create_app", "discover_routers"]
