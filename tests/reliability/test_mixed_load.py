"""The short version of the mixed load (``benchmarks/bench_mixed_load.py``): a small borough served by
``joinedup serve`` and ``joinedup listen mllp``, every kind of traffic at a low rate for a few seconds
through ``wrk`` and a real MLLP sender. No request fails, no ACKed message is missing from the store,
every task the server said it completed is closed, and every kind ran at the rate it was offered.
The long run (10 minutes, and the search for the rate where it degrades) is ``scripts/reliability load``.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
RATE, MLLP_RATE, SECONDS = 6.0, 2.0, 12
KINDS = ("record_view", "search", "board", "task_update", "fhir_read")

pytestmark = [
    pytest.mark.slow,
    pytest.mark.xdist_group("mixed_load"),  # one worker runs the load once for both tests
    pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk not installed (apt-get install -y wrk; .ci/run does)"),
]


@pytest.fixture(scope="module")
def figures(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    home = tmp_path_factory.mktemp("mixed-load-home")
    command = [sys.executable, str(ROOT / "benchmarks" / "bench_mixed_load.py"), "--people", "120", "--years", "1",
               "--caseload", "20", "--gps", "2", "--searchers", "1", "--api-clients", "1", "--coordinators", "2",
               "--home", str(home), "--rate", str(RATE), "--mllp-rate", str(MLLP_RATE),
               "--duration", str(SECONDS), "--warm-up", "2"]
    run = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, timeout=240, check=False)
    assert run.returncode == 0, run.stderr[-3000:]
    result: dict[str, Any] = json.loads(run.stdout.strip().splitlines()[-1])
    return result


def test_no_request_fails_and_no_acked_message_is_lost(figures: dict[str, Any]) -> None:
    assert figures["http_errors"] == 0, figures["problems"]
    assert figures["mllp_errors"] == 0, figures["problems"]
    assert figures["mllp_acked_aa"] == figures["mllp_sent"] == MLLP_RATE * SECONDS
    assert figures["mllp_stored"] == figures["mllp_acked_aa"]
    assert figures["mllp_lost"] == 0
    # Every completion the server answered is closed in the store; one still in flight on either of
    # wrk's two connections when it stopped may be closed too, unanswered.
    assert figures["tasks_answered"] == figures["task_update_requests"]
    assert figures["tasks_answered"] <= figures["tasks_closed"] <= figures["tasks_answered"] + 2
    assert (figures["server_log_tracebacks"], figures["listener_log_tracebacks"]) == (0, 0)


def test_every_kind_of_traffic_ran_at_its_offered_rate(figures: dict[str, Any]) -> None:
    for kind in KINDS:
        offered = figures[f"{kind}_offered_per_s"] * SECONDS
        # A paced stream starts at a random point of its first interval, and the request in flight
        # when wrk stops is not counted: up to two fewer than offered.
        assert offered - 2 <= figures[f"{kind}_requests"] <= offered + 1, (kind, figures[f"{kind}_requests"], offered)
    assert sum(figures[f"{kind}_offered_per_s"] for kind in KINDS) == pytest.approx(RATE)
