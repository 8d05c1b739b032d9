"""Structured logs: with JOINEDUP_LOG_FORMAT=json each line is one JSON object."""

from __future__ import annotations

import json
import logging

import pytest

from joinedup.cli._logging import configure_logging


def test_json_lines_carry_time_level_logger_and_message(capsys: pytest.CaptureFixture[str]) -> None:
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    try:
        configure_logging("json", level=logging.INFO)
        logging.getLogger("joinedup.web.access").info("%s %s %d %.1fms", "GET", "/patients/{person_id}", 200, 12.5)
    finally:
        root.handlers[:], root.level = saved
    line = capsys.readouterr().err.strip().splitlines()[-1]
    entry = json.loads(line)
    assert entry["level"] == "info"
    assert entry["logger"] == "joinedup.web.access"
    assert entry["message"] == "GET /patients/{person_id} 200 12.5ms"
    assert entry["at"].endswith("+00:00")
