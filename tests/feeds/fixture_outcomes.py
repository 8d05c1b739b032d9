"""Read one fixture file the way ``joinedup ingest`` does, without a store: what each unit comes to."""

from __future__ import annotations

from pathlib import Path

from fixture_paths import SHARED_FIXTURES
from joinedup.feeds import FeedError, FeedUnit
from joinedup.feeds.registry import adapter_for
from joinedup.feeds.transports.files import sniff_format

FIXTURES = SHARED_FIXTURES


def fixture_files() -> list[Path]:
    """Every FHIR, HL7 v2 and Synthea CSV fixture file (licences aside)."""
    folders = [FIXTURES / "fhir", FIXTURES / "hl7v2", FIXTURES / "csv"]
    return sorted(
        path for folder in folders for path in folder.rglob("*")
        if path.is_file() and path.name.upper() not in ("LICENSE", "README.MD")
    )


def outcomes_of(path: Path) -> list[str]:
    """``accepted`` or the quarantine reason code, for every unit of the file, in order."""
    data = path.read_bytes()
    adapter = adapter_for(sniff_format(path, data[:4096]), path, data[:4096])
    results = []
    for position, raw, preparsed in adapter.units(data, path):  # type: ignore[attr-defined]
        unit = FeedUnit(path.stem, adapter.format, raw, position, str(path), preparsed)
        try:
            adapter.read(unit)
        except FeedError as error:
            results.append(error.reason_code if error.problems[0].message else "no reason given")
            continue
        results.append("accepted")
    return results


def summarise(outcomes: list[str]) -> str:
    """One line per file: ``accepted`` / a reason, or counts when the file holds many units."""
    if len(outcomes) == 1:
        return outcomes[0]
    counts: dict[str, int] = {}
    for outcome in outcomes:
        counts[outcome] = counts.get(outcome, 0) + 1
    return ", ".join(f"{name} {number}" for name, number in sorted(counts.items()))


if __name__ == "__main__":
    import json

    table = {str(path.relative_to(FIXTURES)): summarise(outcomes_of(path)) for path in fixture_files()}
    print(json.dumps(table, indent=1, sort_keys=True))
