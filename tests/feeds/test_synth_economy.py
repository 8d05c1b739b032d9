"""``joinedup ingest`` on ``joinedup synth`` output: every record accounted for, against the truth.

The synthetic economy writes ``truth/faults.csv`` (file, position, fault kind) for every fault it
injected. Ingest must quarantine each record broken beyond use (truncated, malformed, impossible
value, a made-up code) at its position, and nothing else.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from joinedup.feeds import ingest_paths

synth = pytest.importorskip("joinedup.synth")

NEVER_INGESTED = ("truth/", "national-data-opt-out/", "reference/")
MUST_QUARANTINE = {"truncated", "malformed", "impossible_value"}


@pytest.fixture(scope="module")
def borough(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("synth") / "borough"
    synth.generate_economy(out, people=100, years=1, seed=3, faults=0.05)
    return out


def _expected_units(root: Path) -> int:
    """Units a run reads: a patient's daily Bundle (an NDJSON line) is one unit, however many entries it
    holds (the manifest counts the entries); every other record (line, message, row) is one."""
    manifest = json.loads((root / "manifest.json").read_text())
    total = 0
    for entry in manifest["files"]:
        if entry["path"].startswith(NEVER_INGESTED):
            continue
        if entry["path"].startswith("gp/daily/"):
            total += len((root / entry["path"]).read_bytes().splitlines())
        else:
            total += entry["record_count"]
    return total


def _faults(root: Path) -> list[dict[str, str]]:
    with (root / "truth" / "faults.csv").open() as handle:
        return [row for row in csv.DictReader(handle) if row["origin"] == "injected"]


def _unit_position(fault: dict[str, str]) -> tuple[str, str]:
    # A patient's daily Bundle is quarantined whole (transaction semantics); the truth gives its line.
    return fault["file"], fault["position"]


def test_synthetic_borough_is_accounted_for(session: Session, borough: Path) -> None:
    summary = ingest_paths(session, [borough])
    assert summary.read == _expected_units(borough)
    assert summary.read == summary.accepted + summary.duplicates + summary.quarantined_count
    files = json.loads((borough / "manifest.json").read_text())["files"]
    manifest = {entry["path"]: entry["record_count"] for entry in files}
    reference = manifest["reference/organisations.csv"] + manifest["reference/small_areas.csv"]
    assert summary.reference_rows == reference
    stored = session.execute(text("SELECT (SELECT count(*) FROM organisation) + (SELECT count(*) FROM small_area)"))
    assert int(stored.scalar_one()) == reference

    root = str(borough.resolve()) + "/"
    quarantined = {
        (str(path).replace(root, ""), position): reason
        for path, position, reason in session.execute(
            text("SELECT file_path, position, reason_code FROM quarantine_item")
        )
    }
    faults = _faults(borough)
    broken = {_unit_position(f) for f in faults if f["fault_kind"] in MUST_QUARANTINE}
    assert broken, "the economy injected faults"
    assert broken <= set(quarantined), "every truncated, malformed or impossible record is quarantined"
    made_up_codes = [f for f in faults if f["fault_kind"] == "unknown_code"]
    missed = [f for f in made_up_codes if _unit_position(f) not in quarantined]
    # Made-up SNOMED CT / dm+d codes fail the identifier check; an ICD-10-shaped "X999" (X99.9 is a
    # real code), an unknown ward or specialty code need the full terminology and are accepted.
    assert all(f["file"].startswith(("hospital-pas/", "hospital-sus/apc", "hospital-sus/op")) for f in missed)
    flagged = {_unit_position(f) for f in faults}
    assert set(quarantined) <= flagged, "nothing is quarantined that the truth does not say was broken"

    again = ingest_paths(session, [borough])
    assert (again.read, again.files_read) == (0, 0)
