"""Write the seed corpus for the Atheris harnesses from the shared fixtures (real-shaped messages).

Run: ``.venv/bin/python fuzz/seed_corpus.py`` (``scripts/reliability atheris`` does it first).
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))

from reliability.seeds import PAS_SEEDS, fhir_seeds, hl7_seeds  # noqa: E402


def write(folder: Path, seeds: tuple[bytes, ...]) -> int:
    """One file per seed, named by its hash (idempotent)."""
    folder.mkdir(parents=True, exist_ok=True)
    for seed in seeds:
        (folder / hashlib.sha256(seed).hexdigest()[:16]).write_bytes(seed)
    return len(seeds)


if __name__ == "__main__":
    count = write(HERE / "corpus" / "hl7v2", hl7_seeds() + PAS_SEEDS)
    count += write(HERE / "corpus" / "fhir", fhir_seeds())
    print(f"{count} seeds written under {HERE / 'corpus'}")  # noqa: T201
