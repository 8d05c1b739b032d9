"""Governance fixtures."""

from __future__ import annotations

from pathlib import Path

import pytest

from joinedup.settings import Settings, load_settings


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings with a home of its own (secrets: checkpoint and pseudonymisation keys)."""
    return load_settings(home=tmp_path / "home")
