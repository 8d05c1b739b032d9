"""Where the shared fixtures (real material from other producers) are: one answer for every test.

``JOINEDUP_FIXTURES`` if set; else ``../shared/fixtures`` beside the project (the team's layout);
else the workplace's ``/work/shared/fixtures`` (a clone made elsewhere, as CI may).
"""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def shared_fixtures() -> Path:
    """The shared fixtures folder."""
    if "JOINEDUP_FIXTURES" in os.environ:
        return Path(os.environ["JOINEDUP_FIXTURES"])
    beside = ROOT.parent / "shared" / "fixtures"
    return beside if beside.is_dir() else Path("/work/shared/fixtures")


SHARED_FIXTURES = shared_fixtures()
