"""How long one person's shared care record takes to assemble in a borough-sized store.

    .venv/bin/python benchmarks/record_assembly.py --people 20000 [--database-url postgresql+psycopg://...]

Builds a store of ``--people`` persons (GP + hospital + community + telehealth source records,
about 60 record rows each: encounters, problems, medicines, allergies, a year of readings), then
reads ``--samples`` random people's records as their GP and reports p50/p95 of the whole read,
of the part spent in governance (the batched access decision and writing its audit entries) and the SQL
statements (round trips) one read makes; the last line is one JSON object. ``--reuse`` measures
a store built before (same ``--database-url`` and ``--people``).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import event, insert

from joinedup import governance
from joinedup.model import Actor
from joinedup.record import _rows as record_rows
from joinedup.record import patient_record
from joinedup.store import make_engine, make_session_factory, unit_of_work, upgrade_store
from joinedup.store.tables import (
    Allergy,
    Condition,
    Encounter,
    Medication,
    Observation,
    Organisation,
    Person,
    SourcePatient,
)

PRACTICES = [f"P{n:05d}" for n in range(1, 41)]
SOURCES = ("gp", "hospital-pas", "community", "telehealth")
# Issue 4: a patient's record assembles in < 50 ms p95 at borough scale.
TARGET_P95_MS = 50.0


def build(database_url: str, people: int, seed: int = 7) -> None:
    """Fill the store with ``people`` persons and their records (bulk inserts)."""
    engine = make_engine(database_url)
    upgrade_store(engine)
    rng = random.Random(seed)
    now = datetime.now(UTC)
    with engine.begin() as connection:
        connection.execute(insert(Organisation), [
            {"org_code": code, "name": f"Practice {code}", "kind": "gp_practice"} for code in PRACTICES
        ])
        connection.execute(insert(Person), [{"person_id": f"b{n:07d}", "status": "active"} for n in range(people)])
        patients = []
        for n in range(people):
            for index, source in enumerate(SOURCES):
                patients.append({
                    "source_patient_id": n * 4 + index + 1, "source": source, "local_id": f"{source}-{n}",
                    "person_id": f"b{n:07d}", "nhs_number_status": "valid", "nhs_number": f"{9000000000 + n}",
                    "family_name": f"Family{n % 5000}", "given_name": "Pat",
                    "registered_practice_code": PRACTICES[n % len(PRACTICES)] if source == "gp" else None,
                })
        connection.execute(insert(SourcePatient), patients)
        for table, rows in _clinical_rows(people, rng, now).items():
            for start in range(0, len(rows), 20000):
                connection.execute(insert(table), rows[start:start + 20000])
    # Planner statistics, as a live store has them (PostgreSQL autovacuum; SQLite needs ANALYZE):
    # without them SQLite walks the whole setting index for the hospital-relationship check.
    with engine.begin() as connection:
        connection.exec_driver_sql("ANALYZE")
    engine.dispose()


def _clinical_rows(people: int, rng: random.Random, now: datetime) -> dict[Any, list[dict[str, Any]]]:
    rows: dict[Any, list[dict[str, Any]]] = {Encounter: [], Condition: [], Medication: [], Allergy: [], Observation: []}
    for n in range(people):
        gp, pas, community, tele = (n * 4 + index + 1 for index in range(4))
        for k in range(8):
            rows[Encounter].append({"source": "gp" if k % 2 else "hospital-pas", "source_record_id": f"e{n}-{k}",
                                    "source_patient_id": gp if k % 2 else pas, "setting": "gp" if k % 2 else "ae",
                                    "status": "finished", "start_at": now - timedelta(days=rng.randint(1, 900))})
        for k in range(4):
            rows[Condition].append({"source": "gp", "source_record_id": f"c{n}-{k}", "source_patient_id": gp,
                                    "code": str(100000 + rng.randint(0, 300)), "code_system": "SNOMED"})
        for k in range(5):
            code = str(300000 + rng.randint(0, 200))
            rows[Medication].append({"source": "gp", "source_record_id": f"m{n}-{k}", "source_patient_id": gp,
                                     "code": code, "code_system": "dm+d", "dosage_text": "once a day"})
            rows[Medication].append({"source": "community", "source_record_id": f"mc{n}-{k}",
                                     "source_patient_id": community, "code": code, "code_system": "dm+d",
                                     "dosage_text": None})
        rows[Allergy].append({"source": "gp", "source_record_id": f"a{n}", "source_patient_id": gp,
                              "code": "91936005", "code_system": "SNOMED"})
        for k in range(30):
            rows[Observation].append({"source": "telehealth", "source_record_id": f"o{n}-{k}",
                                      "source_patient_id": tele, "code": ("29463-7", "8480-6", "4548-4")[k % 3],
                                      "code_system": "LOINC", "value_num": 70 + rng.random() * 20,
                                      "effective_at": now - timedelta(days=k * 12)})
    return rows


def one_type_at_a_time(original: Callable[..., Any]) -> Callable[..., Any]:
    """``authorise_many`` as the record asked before it was batched: one decision (and audit write) per type."""

    def per_type(*args: Any, resource_types: list[str], gate: str | None = None, **kwargs: Any) -> Any:
        kwargs.pop("defer_audit", None)  # each decision audited at once, as before
        answers: dict[str, Any] = {}
        for resource_type in dict.fromkeys(resource_types):
            answers.update(original(*args, resource_types=[resource_type],
                                    gate=gate if resource_type == gate else None, **kwargs))
        return governance.AccessAnswers(answers, None)

    return per_type


def measure(database_url: str, people: int, samples: int, *, per_type: bool = False) -> dict[str, float]:
    """p50/p95 (ms) of reading ``samples`` random records, of the governance share, and statements per read.

    ``per_type`` decides each resource type on its own, as before batching (for before/after figures).
    """
    engine = make_engine(database_url)
    factory = make_session_factory(engine)
    spent: list[float] = []
    statements = [0]
    original: Callable[..., Any] = governance.authorise_many
    decide = one_type_at_a_time(original) if per_type else original

    def timed_authorise_many(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return decide(*args, **kwargs)
        finally:
            spent.append(time.perf_counter() - started)

    def count_statement(*_: Any) -> None:
        statements[0] += 1

    original_write: Callable[..., Any] = governance.AccessAnswers.write_audit

    def timed_write_audit(self: Any) -> None:
        started = time.perf_counter()
        try:
            original_write(self)
        finally:
            spent.append(time.perf_counter() - started)

    event.listen(engine, "before_cursor_execute", count_statement)
    record_rows.governance.authorise_many = timed_authorise_many  # type: ignore[attr-defined]
    governance.AccessAnswers.write_audit = timed_write_audit  # type: ignore[method-assign]
    rng = random.Random(11)
    totals, governance_totals, round_trips = [], [], []
    try:
        for _ in range(samples):
            n = rng.randrange(people)
            actor = Actor(user_id="bench-gp", username="bench-gp", role="gp", org_code=PRACTICES[n % len(PRACTICES)])
            spent.clear()
            with unit_of_work(factory) as session:
                statements[0] = 0
                started = time.perf_counter()
                patient_record(session, actor=actor, person_id=f"b{n:07d}")
                totals.append((time.perf_counter() - started) * 1000)
                round_trips.append(statements[0])
            governance_totals.append(sum(spent) * 1000)
    finally:
        record_rows.governance.authorise_many = original  # type: ignore[attr-defined]
        governance.AccessAnswers.write_audit = original_write  # type: ignore[method-assign]
    engine.dispose()

    def p95(values: list[float]) -> float:
        return sorted(values)[max(0, int(len(values) * 0.95) - 1)]

    record_only = [total - gov for total, gov in zip(totals, governance_totals, strict=True)]
    return {
        "p50_ms": statistics.median(totals), "p95_ms": p95(totals),
        "governance_p50_ms": statistics.median(governance_totals), "governance_p95_ms": p95(governance_totals),
        "record_only_p50_ms": statistics.median(record_only), "record_only_p95_ms": p95(record_only),
        "statements_per_read": statistics.median(round_trips),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--people", type=int, default=20000)
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--reuse", action="store_true", help="the database is already built: only measure")
    parser.add_argument("--per-type", action="store_true",
                        help="decide access one resource type at a time, as before batching (the 'before' figure)")
    args = parser.parse_args()
    url = args.database_url or f"sqlite:///{Path(tempfile.mkdtemp()) / 'bench.sqlite'}"
    started = time.perf_counter()
    if not args.reuse:
        build(url, args.people)
        print(f"built {args.people} people in {time.perf_counter() - started:.1f}s on {url.split(':')[0]}")
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    figures = measure(url, args.people, args.samples, per_type=args.per_type)
    for key, value in figures.items():
        print(f"{key:>22}: {value:7.1f}")
    figures = {key: round(value, 1) for key, value in figures.items()}
    print(json.dumps({"people": args.people, "engine": url.split(":")[0].split("+")[0],
                      "access": "per_type" if args.per_type else "batched", **figures,
                      "met": figures["p95_ms"] < TARGET_P95_MS}))


if __name__ == "__main__":
    main()
