"""``joinedup users totp`` and ``joinedup users code``: staff second factors as an operator sets them up."""

from __future__ import annotations

import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from typer.testing import CliRunner, Result

from joinedup.cli import app
from joinedup.governance import create_user
from joinedup.governance.totp import totp_code
from joinedup.settings import load_settings
from joinedup.store import make_engine, make_session_factory, unit_of_work, upgrade_store


def _run(home: Path, *args: str) -> Result:
    return CliRunner().invoke(app, list(args), env={"JOINEDUP_HOME": str(home), "COLUMNS": "250"})


def test_an_operator_enrols_a_user_and_reads_their_current_code_for_a_demo(tmp_path: Path) -> None:
    home = tmp_path / "home"
    engine = make_engine(load_settings(home=home).resolved_database_url)
    upgrade_store(engine)
    with unit_of_work(make_session_factory(engine)) as session:
        create_user(session, username="nell", password="a long enough password", role="community_nurse")
    engine.dispose()

    before = _run(home, "users", "code", "nell")
    assert before.exit_code == 1
    assert "'nell' has no authenticator enrolled" in before.output
    assert "Traceback" not in before.output

    enrolled = _run(home, "users", "totp", "nell")
    assert enrolled.exit_code == 0, enrolled.output
    uri = urlsplit(enrolled.stdout.strip())
    assert (uri.scheme, uri.netloc, uri.path) == ("otpauth", "totp", "/joinedup:nell")
    secret = parse_qs(uri.query)["secret"][0]

    started = time.time()
    printed = _run(home, "users", "code", "nell")
    finished = time.time()
    assert printed.exit_code == 0, printed.output
    assert printed.stdout.strip() in {totp_code(secret, at=started), totp_code(secret, at=finished)}
    assert "nell" in _run(home, "users", "list").stdout
    assert "│ yes" in _run(home, "users", "list").stdout
