"""``joinedup serve`` as a user runs it: it serves, and its access log names routes, not URLs."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from .conftest import _free_port

JOINEDUP = Path(sys.executable).parent / "joinedup"


@pytest.mark.slow
def test_serve_logs_route_templates_not_query_strings(tmp_path: Path) -> None:
    port = _free_port()
    env = {**os.environ, "JOINEDUP_HOME": str(tmp_path / "home")}
    env.pop("JOINEDUP_DATABASE_URL", None)
    process = subprocess.Popen(
        [str(JOINEDUP), "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                response = httpx.get(f"{base}/sign-in", params={"next": "/patients/9434765919"}, timeout=2)
                break
            except httpx.TransportError:
                assert process.poll() is None, process.stderr.read() if process.stderr else "exited"
                assert time.monotonic() < deadline, "joinedup serve did not start"
                time.sleep(0.3)
        assert response.status_code == 200
        assert 'value="/patients/9434765919"' in response.text
        assert httpx.get(f"{base}/patients/9434765919", follow_redirects=False).status_code == 303
    finally:
        process.send_signal(signal.SIGINT)
        output, errors = process.communicate(timeout=20)
    log = output + errors
    assert "GET /sign-in 200" in log
    assert "GET /patients/{person_id} 303" in log
    assert "9434765919" not in log
