"""A few seconds of the HL7 v2 Atheris harness (``fuzz/``): it starts, runs from the seeds, finds no crash.

The long runs (minutes per harness) are ``scripts/reliability atheris``.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from .seeds import PAS_SEEDS, ROOT, hl7_seeds

FUZZ = ROOT / "fuzz"


def test_hl7v2_harness_runs_from_the_seed_corpus_without_a_crash(tmp_path: Path) -> None:
    # One harness here (each start costs seconds of imports); both run long in scripts/reliability.
    harness = "hl7v2_harness.py"
    pytest.importorskip("atheris")
    seeds = tmp_path / "corpus"  # written here, not in fuzz/corpus: libFuzzer adds its finds to it
    seeds.mkdir()
    for number, seed in enumerate(hl7_seeds() + PAS_SEEDS):
        (seeds / f"seed{number}").write_bytes(seed)
    result = subprocess.run(
        [sys.executable, str(FUZZ / harness), str(seeds), "-max_total_time=2", "-rss_limit_mb=1536",
         f"-artifact_prefix={tmp_path}/"],
        capture_output=True, text=True, timeout=120, cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    runs = [line for line in result.stderr.splitlines() if line.startswith("Done ")]
    assert runs, result.stderr[-2000:]
    assert int(runs[-1].split()[1]) > 100, runs[-1]  # "Done <n> runs in <s> second(s)"
    assert not list(tmp_path.glob("crash-*"))
