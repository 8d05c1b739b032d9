"""Web fixtures: a seeded store with users, the app on TestClient, and the app live in real Chromium.

- ``web_home``: settings whose store (SQLite file) holds the hand-worked record of
  ``tests/record/seed.py`` and one user per role below (password ``PASSWORD``). Built once per
  test session; tests that write (audit entries, sign-in counters) must not assume an empty log.
  Staff users are enrolled in TOTP (their secrets are in the store); the throttles on sign-in and
  search are set far above the defaults, since every test signs in from the one address
  ``testclient`` (tests of the throttles build an app with the defaults).
- ``app`` / ``client``: the app, and a fresh ``TestClient`` (``https://testserver``: the session
  cookie is ``Secure``). ``sign_in(client, "gp1")`` signs a client in through the real form,
  typing the user's current TOTP code (read from the store) or, for staff not yet enrolled,
  enrolling an authenticator on the way as a person would.
- ``live_server``: the app on uvicorn in a background thread on a free port (base URL).
- ``page``: a Playwright page in Debian's chromium (``shutil.which("chromium")``), one browser
  per session, a fresh context per test; ``screenshot(page, name)`` saves to ``test-artifacts/``.
  Mark browser tests ``@pytest.mark.browser``.
"""

from __future__ import annotations

import re
import shutil
import socket
import threading
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import uvicorn
from fastapi import FastAPI
from sqlalchemy import select

with warnings.catch_warnings():
    # Starlette 1.x asks for httpx2 in place of httpx; the client works the same (STACK.md).
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from fastapi.testclient import TestClient

from joinedup.governance import add_team_member, create_user, ensure_team
from joinedup.governance.totp import new_totp_secret, totp_code
from joinedup.settings import Settings, load_settings
from joinedup.store import make_engine, make_session_factory, unit_of_work, upgrade_store
from joinedup.store.tables.governance import AppUser
from joinedup.web import create_app
from record.seed import ANN, PRACTICE_ANN, PRACTICE_OTHER, TRUST, seed_feeds, seed_record

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
PASSWORD = "correct-horse-battery-staple"
# Every web test signs in from "testclient": the default throttles would refuse the suite itself.
UNTHROTTLED = {"sign_in_attempts_per_minute": 100_000, "searches_per_minute": 100_000}

# username -> (role, org_code, person_id, teams)
USERS: dict[str, tuple[str, str | None, str | None, tuple[str, ...]]] = {
    "gp1": ("gp", PRACTICE_ANN, None, ()),
    "nurse1": ("practice_nurse", PRACTICE_ANN, None, ()),
    "admin1": ("practice_administrator", PRACTICE_ANN, None, ()),
    "gp2": ("gp", PRACTICE_OTHER, None, ()),
    # For break-glass tests only: once it breaks the glass it is no longer unrelated.
    "gp3": ("gp", PRACTICE_OTHER, None, ()),
    "consultant1": ("consultant", TRUST, None, ()),
    "sysadmin": ("system_administrator", None, None, ()),
    "analyst1": ("analyst", None, None, ()),
    # Locked out on purpose by test_sign_in: use it for nothing else.
    "lockme": ("analyst", None, None, ()),
    "ann": ("patient", None, ANN, ()),
    "volunteer1": ("discharge_volunteer", None, None, ("team-discharge",)),
    # Settles the identity review queue (tests/web/test_identity_review.py).
    "ig1": ("ig_officer", None, None, ()),
}


@dataclass(frozen=True)
class WebHome:
    """The seeded home the web tests run against."""

    settings: Settings
    database_url: str


@pytest.fixture(scope="session")
def web_home(tmp_path_factory: pytest.TempPathFactory) -> WebHome:
    """A home with the seeded record and users, committed."""
    home = tmp_path_factory.mktemp("web-home")
    settings = load_settings(home=home, **UNTHROTTLED)
    engine = make_engine(settings.resolved_database_url)
    upgrade_store(engine)
    with unit_of_work(make_session_factory(engine)) as session:
        seed_record(session)
        seed_feeds(session)
        ensure_team(session, team_id="team-discharge", name="Home from hospital", kind="discharge_service")
        password_hash = None
        for username, (role, org, person_id, teams) in USERS.items():
            if password_hash is None:
                user = create_user(session, username=username, password=PASSWORD, role=role, org_code=org)
                stored = session.get(AppUser, user.user_id)
                assert stored is not None
                password_hash = stored.password_hash
                # Staff must sign in with a second factor: the seeded staff have their authenticators.
                stored.totp_secret = new_totp_secret() if role != "patient" else None
                continue
            # Argon2 hashing takes most of a second on a busy machine: hash once, reuse.
            user_id = f"user-{username}"
            session.add(AppUser(user_id=user_id, username=username, role=role, org_code=org, person_id=person_id,
                                password_hash=password_hash, failed_sign_in_count=0, active_flag=True,
                                totp_secret=new_totp_secret() if role != "patient" else None))
            session.flush()
            for team_id in teams:
                add_team_member(session, team_id=team_id, user_id=user_id)
    engine.dispose()
    return WebHome(settings=settings, database_url=settings.resolved_database_url)


@pytest.fixture(scope="session")
def app(web_home: WebHome) -> FastAPI:
    """The web application on the seeded home."""
    return create_app(web_home.settings)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    """A fresh client (no cookies) over HTTPS, so the Secure session cookie is sent back."""
    with TestClient(app, base_url="https://testserver") as test_client:
        yield test_client


def csrf_from(html: str) -> str:
    """The CSRF token a page's form carries."""
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "no CSRF token on the page"
    return found.group(1)


def stored_totp_secret(app: Any, username: str) -> str | None:
    """The user's TOTP secret as the app's store holds it (None: not enrolled, or no such user)."""
    with app.state.sessions() as session:
        secret: str | None = session.scalar(select(AppUser.totp_secret).where(AppUser.username == username))
    return secret


def current_code(app: Any, username: str) -> str:
    """The code the user's authenticator app shows now ("" when they have none)."""
    secret = stored_totp_secret(app, username)
    return totp_code(secret) if secret else ""


def secret_from_enrolment_page(html: str) -> str:
    """The setup key the authenticator enrolment page shows (grouped in fours for reading)."""
    found = re.search(r'data-testid="totp-secret">([A-Z2-7 ]+)<', html)
    assert found, "no setup key on the page"
    return found.group(1).replace(" ", "")


def sign_in(client: TestClient, username: str, password: str = PASSWORD, *, with_code: bool = True,
            enrol: bool = True) -> Any:
    """Sign ``client`` in through the real form; returns the response to the (last) POST.

    ``with_code``: type the user's current TOTP code when they have an authenticator.
    ``enrol``: a staff user with none is shown the enrolment step: add the key shown to an
    "authenticator" and confirm its code (otherwise the enrolment page is returned).
    """
    page = client.get("/sign-in")
    answer = client.post(
        "/sign-in",
        data={"username": username, "password": password, "csrf_token": csrf_from(page.text), "next": "/",
              "security_code": current_code(client.app, username) if with_code else ""},
        follow_redirects=False,
    )
    if enrol and answer.status_code == 200 and 'data-testid="totp-secret"' in answer.text:
        code = totp_code(secret_from_enrolment_page(answer.text))
        answer = client.post("/sign-in/authenticator",
                             data={"security_code": code, "csrf_token": csrf_from(answer.text)}, follow_redirects=False)
    return answer


# Keyed by the app too: each app (web's, security's) signs tokens with its own home's key.
_TOKENS: dict[tuple[int, str, str], str] = {}


def bearer_token(client: TestClient, username: str, scope: str = "user/*.read") -> str:
    """A bearer token for ``username`` from the token endpoint (one per app, user and scope per run)."""
    key = (id(client.app), username, scope)
    if key not in _TOKENS:
        response = client.post("/auth/token", data={"username": username, "password": PASSWORD, "scope": scope,
                                                    "totp": current_code(client.app, username)})
        assert response.status_code == 200, response.text
        _TOKENS[key] = response.json()["access_token"]
    return _TOKENS[key]


@pytest.fixture(scope="session")
def signed_in(app: FastAPI) -> Iterator[Any]:
    """``signed_in("gp1")``: a client signed in as that user, shared for the run (do not sign it out)."""
    clients: dict[str, TestClient] = {}

    def client_for(username: str) -> TestClient:
        if username not in clients:
            new_client = TestClient(app, base_url="https://testserver")
            response = sign_in(new_client, username)
            assert response.status_code == 303, response.text
            clients[username] = new_client
        return clients[username]

    yield client_for
    for opened in clients.values():
        opened.close()


# The app behind each live server's base URL: browser sign-ins read TOTP secrets from its store.
LIVE_APPS: dict[str, FastAPI] = {}


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture(scope="session")
def live_server(app: FastAPI) -> Iterator[str]:
    """The app served by uvicorn in a background thread; yields its base URL."""
    port = _free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, access_log=False, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="joinedup-live-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the live server did not start")
        time.sleep(0.05)
    LIVE_APPS[f"http://127.0.0.1:{port}"] = app
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Debian's chromium driven by Playwright (no downloaded browser)."""
    executable = shutil.which("chromium")
    if executable is None:
        pytest.skip("chromium is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS, headless=True)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Any, live_server: str) -> Iterator[Any]:
    """A page in a fresh browser context (no cookies), with the live server as base URL."""
    context = browser.new_context(base_url=live_server, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(10_000)
    new_page = context.new_page()
    yield new_page
    context.close()


def screenshot(page: Any, name: str) -> Path:
    """Save a full-page screenshot to test-artifacts/<name>.png."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def add_unenrolled_staff(web_home: WebHome, username: str, role: str = "community_nurse") -> None:
    """A new member of staff (password ``PASSWORD``) who has no authenticator yet."""
    engine = make_engine(web_home.database_url)
    with unit_of_work(make_session_factory(engine)) as session:
        password_hash = session.scalar(select(AppUser.password_hash).where(AppUser.username == "gp1"))
        assert password_hash
        session.add(AppUser(user_id=f"user-{username}", username=username, role=role, password_hash=password_hash,
                            failed_sign_in_count=0, active_flag=True))
    engine.dispose()


def browser_sign_in(page: Any, username: str, password: str = PASSWORD) -> None:
    """Sign in through the form as a person would, typing the code their authenticator shows.

    Staff with no authenticator yet get the enrolment step: the key on the page goes into the
    "authenticator" (``totp_code``) and its code is typed back.
    """
    page.goto("/sign-in")
    parts = urlsplit(page.url)
    app = LIVE_APPS[f"{parts.scheme}://{parts.netloc}"]
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password", exact=True).fill(password)
    code = current_code(app, username)
    if code:
        page.get_by_label("Security code").fill(code)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()
    if page.get_by_test_id("totp-secret").count():
        secret = page.get_by_test_id("totp-secret").inner_text().replace(" ", "")
        page.get_by_label("Security code").fill(totp_code(secret))
        page.get_by_role("button", name="Confirm and sign in").click()
        page.wait_for_load_state()
