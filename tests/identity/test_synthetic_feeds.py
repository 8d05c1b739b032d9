"""End to end on the synthetic economy: generate, ingest (feeds links on arrival), link, evaluate.

The generator's truth (``truth/source_records.csv``) was never seen by the linker.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

from sqlalchemy import select

from joinedup.feeds.ingest import ingest_paths
from joinedup.identity.service import run_linkage
from joinedup.settings import Settings
from joinedup.store import make_engine, make_session_factory, upgrade_store
from joinedup.store.tables.identity import SourcePatient
from joinedup.synth import generate_economy


def test_synthetic_borough_links_to_target_quality(tmp_path: Path) -> None:
    feeds = tmp_path / "borough"
    generate_economy(feeds, people=150, years=1, seed=7, faults=0.02, workers=1)
    settings = Settings(home=tmp_path / "home")
    settings.home.mkdir()
    engine = make_engine(settings.resolved_database_url)
    upgrade_store(engine)
    sessions = make_session_factory(engine)
    folders = [path for path in feeds.iterdir() if path.is_dir() and path.name != "truth" and path.name[0] != "."]
    with sessions() as session:
        ingest_paths(session, folders)
        session.commit()
    with sessions() as session:
        report = run_linkage(session, settings, truth=feeds / "truth")
        session.commit()
        numbers: dict[str, set[str | None]] = defaultdict(set)
        query = select(SourcePatient.nhs_number, SourcePatient.person_id).where(
            SourcePatient.nhs_number_status == "valid"
        )
        for number, person_id in session.execute(query):
            numbers[number].add(person_id)
    metrics = report.metrics
    assert metrics is not None
    assert metrics.records >= 300
    assert metrics.precision >= 0.995
    assert metrics.recall >= 0.98
    assert metrics.persons_over_merged == 0
    # No person with a valid NHS number is split: each number sits with exactly one person.
    assert {number: len(persons) for number, persons in numbers.items() if len(persons) != 1} == {}
    assert (settings.home / "identity" / "linkage_model.json").exists()
