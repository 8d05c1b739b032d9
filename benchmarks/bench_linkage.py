"""Benchmark identity linkage: a full batch run over N source records, then an incremental batch.

Usage::

    .venv/bin/python benchmarks/bench_linkage.py --records 100000 --batch 10000 [--database-url URL]

Builds a made-up population (people with 1-3 records from different sources; a share without an
NHS number, some with keying errors), stores it in a fresh SQLite store (or the given database),
runs ``link_all`` (deterministic, EM training, probabilistic) and times it, then stores a further
batch of new records (for people already known and new people) and times
``link_new_source_patients(..., settings=...)`` against the index. Prints figures and pairwise
precision/recall against the generator's truth, with wall-clock and CPU seconds (all threads) of
the batch run and of each of its stages. Targets: 1,000,000 records < 5 min; 10,000 new records
against 1,000,000 < 30 s.
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
import uuid
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select

from joinedup.identity import link_new_source_patients, normalise
from joinedup.identity.evaluate import pairwise_metrics
from joinedup.identity.model import records_table, train_model
from joinedup.identity.nhs_number import check_digit
from joinedup.identity.service import link_all, model_folder
from joinedup.settings import Settings
from joinedup.store import make_engine, make_session_factory, upgrade_store
from joinedup.store.tables.identity import Person, SourcePatient

GIVEN = {
    "male": [
        "OLIVER", "GEORGE", "HARRY", "JACK", "JACOB", "NOAH", "CHARLIE", "THOMAS", "OSCAR", "WILLIAM", "JAMES", "HENRY",
        "LEO", "ALFIE", "JOSHUA", "JOHN", "DAVID", "MICHAEL", "PAUL", "PETER", "ROBERT", "STEPHEN", "MARK", "ANDREW",
        "RICHARD", "MOHAMMED", "ADAM", "OMAR", "RAVI", "SAMUEL", "KWAME", "TOMASZ", "SEAN", "LIAM", "RYAN", "MATTHEW",
        "LUKE", "DYLAN", "KEITH", "DEREK"
    ],
    "female": [
        "OLIVIA", "AMELIA", "ISLA", "AVA", "MIA", "ISABELLA", "SOPHIA", "GRACE", "LILY", "FREYA", "EMILY", "IVY",
        "ELLA", "ROSIE", "EVIE", "MARGARET", "SUSAN", "PATRICIA", "ELIZABETH", "MARY", "JEAN", "BARBARA", "LINDA",
        "SARAH", "CLAIRE", "EMMA", "RACHEL", "HELEN", "KAREN", "AISHA", "FATIMA", "PRIYA", "ZARA", "HANNAH", "MEGAN",
        "CHLOE", "JESSICA", "LAUREN", "SOPHIE", "NADIA"
    ],
}
FAMILY = [
    "SMITH", "JONES", "TAYLOR", "BROWN", "WILLIAMS", "WILSON", "JOHNSON", "DAVIES", "ROBINSON", "WRIGHT", "THOMPSON",
    "EVANS", "WALKER", "WHITE", "ROBERTS", "GREEN", "HALL", "WOOD", "JACKSON", "CLARKE", "HUGHES", "EDWARDS", "LEWIS",
    "HARRIS", "MARTIN", "COOPER", "HILL", "WARD", "MORRIS", "MOORE", "KHAN", "ALI", "HUSSAIN", "AHMED", "BEGUM", "SHAH",
    "PATEL", "SINGH", "AKHTAR", "IQBAL", "OKAFOR", "MENSAH", "ADEYEMI", "CAMPBELL", "ASANTE", "MURPHY", "KOWALSKI",
    "NOWAK", "BYRNE", "OBRIEN", "HARGREAVES", "ASHWORTH", "CHEN", "WANG", "FLETCHER", "MCCARTHY", "PARKER", "PRICE",
    "BENNETT", "YOUNG"
]
SOURCES = ("gp", "pas", "community", "social_care")


def nhs_number(k: int) -> str:
    """A valid NHS number for person k (skipping stems whose check digit would be 10)."""
    stem = 600_000_000 + k * 3
    while check_digit(f"{stem:09d}") is None:
        stem += 1
    return f"{stem:09d}{check_digit(f'{stem:09d}')}"


def typo(rng: random.Random, text: str) -> str:
    """Change one letter."""
    position = rng.randrange(len(text))
    return text[:position] + rng.choice("AEIOURSTLN") + text[position + 1 :]


def person(rng: random.Random, k: int) -> dict[str, Any]:
    """One made-up person."""
    sex = rng.choice(["male", "female"])
    district = f"LS{rng.randrange(1, 30)}"
    return {
        "k": k,
        "sex": sex,
        "given": rng.choice(GIVEN[sex]),
        "family": rng.choice(FAMILY),
        "dob": date(1925, 1, 1) + timedelta(days=rng.randrange(99 * 365)),
        "postcode": f"{district} {rng.randrange(1, 10)}{rng.choice('ABDEFGHJ')}{rng.choice('LNPQRSTUW')}",
        "nhs": nhs_number(k),
    }


def record(rng: random.Random, who: dict[str, Any], source: str, local_id: str) -> dict[str, Any]:
    """One source system's record of a person, with the faults real feeds have."""
    missing_nhs = {"gp": 0.01, "pas": 0.05, "community": 0.2, "social_care": 0.45}[source]
    given, family, dob, postcode = who["given"], who["family"], who["dob"], who["postcode"]
    fault = rng.random()
    if fault < 0.03:
        given = typo(rng, given)
    elif fault < 0.06:
        family = typo(rng, family)
    elif fault < 0.08 and dob.day <= 12:
        dob = date(dob.year, dob.day, dob.month)
    elif fault < 0.10:
        postcode = None
    number = None if rng.random() < missing_nhs else who["nhs"]
    return {
        "source": source,
        "local_id": local_id,
        "nhs_number_given": number,
        "nhs_number": number,
        "nhs_number_status": "valid" if number else "missing",
        "given_name": given,
        "family_name": family,
        "birth_date": dob,
        "sex": who["sex"],
        "postcode": postcode,
    }


Population = tuple[list[dict[str, Any]], dict[tuple[str, str], int], dict[int, dict[str, Any]]]


def population(rng: random.Random, records: int, start_k: int = 0) -> Population:
    """``records`` source records for people numbered from start_k, the truth, and the people."""
    rows: list[dict[str, Any]] = []
    truth: dict[tuple[str, str], int] = {}
    people: dict[int, dict[str, Any]] = {}
    k = start_k
    while len(rows) < records:
        who = people[k] = person(rng, k)
        for source in rng.sample(SOURCES, rng.choice([1, 2, 2, 3])):
            local_id = f"{source}-{k}"
            rows.append(record(rng, who, source, local_id))
            truth[(source, local_id)] = k
        k += 1
    return rows[:records], truth, people


def prelink(sessions: Any, rows: list[dict[str, Any]], truth: dict[tuple[str, str], int], settings: Settings) -> None:
    """Store the rows already linked to their true persons, and train the model on a sample."""
    person_ids: dict[int, str] = {}
    for key in sorted({(row["source"], row["local_id"]) for row in rows}):
        person_ids.setdefault(truth[key], uuid.uuid4().hex)
    with sessions() as session:
        persons = [{"person_id": value, "status": "active"} for value in person_ids.values()]
        for start in range(0, len(persons), 50_000):
            session.execute(insert(Person), persons[start : start + 50_000])
        linked = [
            {**row, "person_id": person_ids[truth[(row["source"], row["local_id"])]], "link_method": "nhs_number"}
            for row in rows
        ]
        for start in range(0, len(linked), 50_000):
            session.execute(insert(SourcePatient), linked[start : start + 50_000])
        session.commit()
    sample = random.Random(7).sample(range(len(rows)), min(200_000, len(rows)))
    model_rows = []
    for position in sample:
        row = rows[position]
        model_rows.append(
            {
                "unique_id": position,
                "first_name": normalise.name(row["given_name"]),
                "surname": normalise.name(row["family_name"]),
                "dob": normalise.birth_date(row["birth_date"]),
                "sex": normalise.sex(row["sex"]),
                "postcode": normalise.postcode(row["postcode"]),
                "nhs_number": row["nhs_number"],
            }
        )
    train_model(records_table(model_rows)).save(model_folder(settings))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=10_000)
    parser.add_argument("--database-url")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--prelinked",
        action="store_true",
        help="Store the index already linked (true persons) and train on a 200,000-record sample: "
        "measures only the incremental batch against a large index.",
    )
    args = parser.parse_args()
    rng = random.Random(args.seed)
    folder = Path(tempfile.mkdtemp(prefix="bench-linkage-"))
    settings = Settings(home=folder / "home", database_url=args.database_url)
    settings.home.mkdir(parents=True, exist_ok=True)
    engine = make_engine(settings.resolved_database_url)
    upgrade_store(engine)
    sessions = make_session_factory(engine)
    figures: dict[str, Any] = {"records": args.records, "batch": args.batch, "database": engine.dialect.name}

    rows, truth, people = population(rng, args.records)
    truth = {key: truth[key] for key in {(row["source"], row["local_id"]) for row in rows}}
    started = time.perf_counter()
    if args.prelinked:
        prelink(sessions, rows, truth, settings)
    else:
        with sessions() as session:
            for start in range(0, len(rows), 20_000):
                session.execute(insert(SourcePatient), rows[start : start + 20_000])
            session.commit()
    figures["load_seconds"] = round(time.perf_counter() - started, 1)

    if not args.prelinked:
        started, cpu_started = time.perf_counter(), time.process_time()
        with sessions() as session:
            report = link_all(session, settings)
            session.commit()
        figures["batch_link_seconds"] = round(time.perf_counter() - started, 1)
        # CPU seconds of every thread (DuckDB's included): the figure a shared machine does not inflate.
        figures["batch_link_cpu_seconds"] = round(time.process_time() - cpu_started, 1)
        figures["batch_run"] = report.as_dict()

    # The incremental batch: half for people already known, half for new people.
    known = rng.sample(sorted(set(truth.values())), args.batch // 2)
    batch_rows: list[dict[str, Any]] = []
    for k in known:
        local_id = f"batch-{k}"
        batch_rows.append(record(rng, people[k], "social_care", local_id))
        truth[("social_care", local_id)] = k
    new_rows, new_truth, _ = population(rng, args.batch - len(batch_rows), start_k=10_000_000)
    batch_rows.extend(new_rows)
    with sessions() as session:
        session.execute(insert(SourcePatient), batch_rows)
        session.commit()
        keys = {(row["source"], row["local_id"]) for row in batch_rows}
        ids = [
            source_patient_id
            for source_patient_id, source, local_id in session.execute(
                select(SourcePatient.source_patient_id, SourcePatient.source, SourcePatient.local_id)
            )
            if (source, local_id) in keys
        ]
        started, cpu_started = time.perf_counter(), time.process_time()
        summary = link_new_source_patients(session, ids, settings=settings)
        session.commit()
        figures["incremental_seconds"] = round(time.perf_counter() - started, 1)
        figures["incremental_cpu_seconds"] = round(time.process_time() - cpu_started, 1)
        figures["incremental"] = summary.as_dict()

    with sessions() as session:
        predicted = {
            (source, local_id): person_id
            for source, local_id, person_id in session.execute(
                select(SourcePatient.source, SourcePatient.local_id, SourcePatient.person_id)
            )
        }
    truth.update(new_truth)
    figures["quality"] = pairwise_metrics(predicted, truth).as_dict()
    print(json.dumps(figures, indent=2, default=str))


if __name__ == "__main__":
    main()
