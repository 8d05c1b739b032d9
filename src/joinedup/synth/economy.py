"""``generate_economy``: draw the borough person by person, write every feed and the truth, then
assemble the output files, the fault list and the manifest."""

from __future__ import annotations

import functools
import itertools
import logging
import multiprocessing
import random
import shutil
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import orjson

from joinedup.errors import InvalidInput
from joinedup.synth.activity import add_years, simulate_history
from joinedup.synth.borough import Borough, build_borough
from joinedup.synth.conditions import draw_clinical
from joinedup.synth.costs import cost_table_text
from joinedup.synth.faults import FaultDraw
from joinedup.synth.identifiers import person_ids
from joinedup.synth.nhs_numbers import NhsNumberBook
from joinedup.synth.population import draw_person, population_counts
from joinedup.synth.summary import RateRow, Tally, prevalence, rates, tally_person
from joinedup.synth.truth import FAULTS_COLUMNS, TRUTH_HEADERS, cleaned_list_path, write_truth
from joinedup.synth.writers.common import SourceQuality, Subject, csv_row
from joinedup.synth.writers.csv_extracts import HEADERS, write_community, write_social_care, write_sus
from joinedup.synth.writers.fhir import (
    RESOURCE_TYPES,
    patient_day_bundle,
    patient_day_of,
    write_gp_baseline,
    write_gp_daily,
)
from joinedup.synth.writers.hl7v2 import write_adt
from joinedup.synth.writers.spool import (
    FaultRow,
    Spool,
    SpooledRecord,
    WrittenFile,
    ordered_parts_of,
    read_direct,
    read_ordered,
    release_direct,
    release_ordered,
    remove_spool,
    write_grouped_lines,
    write_output,
)
from joinedup.synth.writers.telehealth import write_telehealth

logger = logging.getLogger(__name__)

DEFAULT_START = date(2021, 4, 1)
CHUNK_SIZE = 2000
SOURCE_FOLDERS = ("reference", "gp", "hospital-pas", "hospital-sus", "community", "social-care", "telehealth",
                  "national-data-opt-out", "truth")
DUPLICATE_MRN_SHARE = 0.02


class SynthError(InvalidInput):
    """The synthetic economy cannot be generated as asked."""


@dataclass(frozen=True, slots=True)
class EconomySummary:
    """What ``generate_economy`` produced."""

    out: Path
    seed: int
    people: int
    persons_total: int
    years: int
    fault_rate: float
    start_date: date
    end_date: date
    files: tuple[WrittenFile, ...]
    injected_faults: int
    rates: tuple[RateRow, ...]
    prevalence: dict[str, float]

    @property
    def record_count(self) -> int:
        """Records written across all feed files (truth excluded)."""
        return sum(f.record_count for f in self.files if not f.path.startswith("truth/"))


@dataclass(frozen=True, slots=True)
class _Plan:
    """Everything a worker needs to draw its people (picklable)."""

    out: Path
    spool_root: Path
    seed: int
    people: int
    births: int
    total: int
    fault_rate: float
    start: date
    end: date
    workers: int


def generate_economy(
    out: Path,
    *,
    people: int,
    years: int,
    seed: int,
    faults: float,
    start: date | None = None,
    workers: int = 1,
) -> EconomySummary:
    """Generate a synthetic borough's feeds and ground truth into ``out``.

    Args:
        out: the folder to write (created; a previous synth output there is replaced).
        people: residents at the start (births and people moving in come on top).
        years: whole years of activity from ``start``.
        seed: the same seed gives byte-identical output.
        faults: the share of source records given an injected fault (0 to 0.5).
        start: the first day (default 2021-04-01).
        workers: processes drawing people in parallel (output does not depend on it).

    Raises:
        SynthError: when the arguments are out of range or ``out`` holds something else.
    """
    _check(out, people=people, years=years, seed=seed, faults=faults, workers=workers)
    begin = start or DEFAULT_START
    end = add_years(begin, years)
    births, incomers = population_counts(people, years)
    _prepare(out)
    spool_root = out / ".spool"
    plan = _Plan(out, spool_root, seed, people, births, people + births + incomers, faults, begin, end, workers)
    logger.info("synth: drawing %d persons in %d worker(s)", plan.total, workers)
    if workers == 1:
        tally = _draw_share(plan, 0)
        files, fault_rows = _assemble(plan, map)
    else:
        context = multiprocessing.get_context("spawn")
        with context.Pool(workers) as pool:
            tallies = pool.starmap(_draw_share, [(plan, w) for w in range(workers)])
            files, fault_rows = _assemble(plan, pool.imap)
        tally = Tally()
        for part in tallies:
            tally.add(part)
    remove_spool(spool_root)
    rows = tuple(rates(tally))
    summary = EconomySummary(
        out=out,
        seed=seed,
        people=people,
        persons_total=plan.total,
        years=years,
        fault_rate=faults,
        start_date=begin,
        end_date=end,
        files=tuple(files),
        injected_faults=sum(1 for r in fault_rows if r.note.origin == "injected"),
        rates=rows,
        prevalence=prevalence(tally),
    )
    _write_manifest(summary)
    return summary


def _check(out: Path, *, people: int, years: int, seed: int, faults: float, workers: int) -> None:
    if seed < 0:
        raise SynthError("the seed must be a whole number of 0 or more")
    if people < 1 or people > 5_000_000:
        raise SynthError("people must be between 1 and 5,000,000")
    if years < 1 or years > 20:
        raise SynthError("years must be between 1 and 20")
    if not 0.0 <= faults <= 0.5:
        raise SynthError("the fault rate must be between 0 and 0.5")
    if workers < 1:
        raise SynthError("workers must be at least 1")
    if out.exists() and not out.is_dir():
        raise SynthError(f"{out} exists and is not a folder")
    if out.is_dir() and any(out.iterdir()) and not (out / "manifest.json").exists():
        raise SynthError(f"{out} is not empty and holds no earlier synth output; choose an empty folder")


def _prepare(out: Path) -> None:
    """Create ``out``, removing the folders of an earlier synth output there."""
    out.mkdir(parents=True, exist_ok=True)
    for name in (*SOURCE_FOLDERS, ".spool"):
        shutil.rmtree(out / name, ignore_errors=True)
    (out / "manifest.json").unlink(missing_ok=True)


def _draw_share(plan: _Plan, worker: int) -> Tally:
    """Draw every chunk of people that belongs to this worker."""
    borough = build_borough(plan.seed)
    book = NhsNumberBook(plan.seed)
    spool = Spool(plan.spool_root, worker)
    tally = Tally()
    months = _months(plan.start, plan.end)
    chunks = (plan.total + CHUNK_SIZE - 1) // CHUNK_SIZE
    for chunk in range(worker, chunks, plan.workers):
        for index in range(chunk * CHUNK_SIZE, min(plan.total, (chunk + 1) * CHUNK_SIZE)):
            _draw_and_write(plan, borough, book, spool, tally, months, index)
        spool.end_chunk(chunk)
    spool.close()
    return tally


def _draw_and_write(
    plan: _Plan, borough: Borough, book: NhsNumberBook, spool: Spool, tally: Tally, months: list[str], index: int
) -> None:
    # Fixed streams per person (not security): the world, and separately how it is reported.
    world = random.Random(plan.seed * 4_398_046_511_104 + index * 4)  # noqa: S311
    fault_stream = random.Random(plan.seed * 4_398_046_511_104 + index * 4 + 1)  # noqa: S311
    person = draw_person(world, index, nhs_number=book.number_of(index), borough=borough, start=plan.start,
                         end=plan.end, residents=plan.people, births=plan.births)
    clinical = draw_clinical(world, birth_date=person.birth_date, sex=person.sex,
                             imd_decile=person.small_area.imd_decile, enters=person.resident_from, end=plan.end)
    ids = person_ids(index, plan.seed, duplicate_mrn=world.random() < DUPLICATE_MRN_SHARE)
    history = simulate_history(world, person, clinical, ids, start=plan.start, end=plan.end)
    subject = Subject(person, clinical, ids, history, FaultDraw(fault_stream, plan.fault_rate),
                      _source_quality(fault_stream), spool, plan.seed, plan.start, plan.end, months=months)
    write_gp_baseline(subject)
    write_gp_daily(subject)
    write_adt(subject)
    write_sus(subject)
    write_community(subject)
    write_social_care(subject)
    write_telehealth(subject)
    write_truth(subject)
    conditions_at_start = clinical.conditions_on(plan.start) if person.resident_from <= plan.start else []
    tally_person(tally, person, history, conditions_at_start, plan.start, plan.end)


def _source_quality(rng: random.Random) -> SourceQuality:
    """How each local system holds this person's NHS number (drawn first, whatever the fault rate)."""
    rolls = [rng.random() for _ in range(4)]
    return SourceQuality(
        pas="missing" if rolls[0] < 0.01 else "ok",
        community="missing" if rolls[1] < 0.08 else "wrong" if rolls[1] < 0.09 else "ok",
        social_care="missing" if rolls[2] < 0.25 else "wrong" if rolls[2] < 0.28 else "ok",
        telehealth="missing" if rolls[3] < 0.05 else "ok",
    )


def _months(start: date, end: date) -> list[str]:
    months = []
    year, month = start.year, start.month
    while date(year, month, 1) < end:
        months.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


_Task = tuple[str, str, str]  # (kind, output or month, header)
_Result = tuple[list[WrittenFile], list[FaultRow]]


def _assemble(plan: _Plan, mapper: Callable[..., Iterable[_Result]]) -> tuple[list[WrittenFile], list[FaultRow]]:
    """Write every output file from the spool, in a fixed order (in parallel when a pool maps)."""
    months = _months(plan.start, plan.end)
    tasks: list[_Task] = []
    for stem, columns in HEADERS.items():
        tasks.extend(("ordered", f"{stem}-{m}.csv", ",".join(columns) + "\n") for m in months)
    tasks.extend(("ordered", f"hospital-pas/adt-{m}.hl7", "") for m in months)
    tasks.extend(("ordered", f"telehealth/readings-{m}.jsonl", "") for m in months)
    tasks.extend(("daily", m, "") for m in months)
    tasks.extend(("direct", f"gp/baseline/{t}.ndjson", "") for t in RESOURCE_TYPES)
    tasks.append(("direct", cleaned_list_path(plan.end), "nhs_number\n"))
    tasks.extend(("direct", output, ",".join(columns) + "\n") for output, columns in TRUTH_HEADERS.items())
    files = _write_reference(plan)
    faults: list[FaultRow] = []
    for written, found in mapper(functools.partial(_assemble_one, plan), tasks):
        files.extend(written)
        faults.extend(found)
    files.append(_write_faults(plan.out, faults))
    return files, faults


def _assemble_one(plan: _Plan, task: _Task) -> _Result:
    """Write one output (or one month of daily bundles) and say where its faults landed."""
    kind, name, header = task
    root = plan.spool_root
    faults: list[FaultRow] = []
    if kind == "direct":
        written = write_output(plan.out, name, read_direct(root, name), header=header, fault_rows=faults)
        release_direct(root, name)
        return [written], faults
    if kind == "daily":
        parts = ordered_parts_of(root, f"gp/daily-month/{name}", plan.workers)
        bundles = _write_daily_bundles(plan, read_ordered(parts), faults)
        release_ordered(parts)
        return bundles, faults
    parts = ordered_parts_of(root, name, plan.workers)
    written = write_output(plan.out, name, read_ordered(parts), header=header, fault_rows=faults)
    release_ordered(parts)
    return [written], faults


def _write_daily_bundles(plan: _Plan, records: list[SpooledRecord], faults: list[FaultRow]) -> list[WrittenFile]:
    """Split a month's GP entries into one NDJSON file per day of one transaction Bundle per patient."""
    written = []
    for day, entries in itertools.groupby(records, key=lambda r: patient_day_of(r.sort_key)[0]):
        bundles = (
            (list(group), functools.partial(patient_day_bundle, day, patient, plan.seed))
            for (_, patient), group in itertools.groupby(entries, key=lambda r: patient_day_of(r.sort_key))
        )
        written.append(write_grouped_lines(plan.out, f"gp/daily/{day}.ndjson", bundles, fault_rows=faults))
    return written


def _write_reference(plan: _Plan) -> list[WrittenFile]:
    borough = build_borough(plan.seed)
    organisations = [
        csv_row([o.org_code, o.name, o.kind, o.neighbourhood, o.postcode, o.parent_org_code])
        for o in borough.organisations
    ]
    areas = [csv_row([a.lsoa_code, a.name, str(a.imd_decile), a.neighbourhood]) for a in borough.small_areas]
    costs = cost_table_text().splitlines()
    written = []
    for output, header, rows in (
        ("reference/organisations.csv", "org_code,name,kind,neighbourhood,postcode,parent_org_code", organisations),
        ("reference/small_areas.csv", "lsoa_code,name,imd_decile,neighbourhood", areas),
        ("reference/unit_costs.csv", costs[0], costs[1:]),
    ):
        written.append(_write_plain(plan.out, output, header, rows))
    return written


def _write_plain(out: Path, output: str, header: str, rows: list[str]) -> WrittenFile:
    records = [SpooledRecord("", (), row) for row in rows]
    return write_output(out, output, records, header=header + "\n", fault_rows=[])


def _write_faults(out: Path, faults: list[FaultRow]) -> WrittenFile:
    rows = [
        csv_row([r.file, str(r.position), r.note.kind, r.note.record_id, r.note.origin, r.note.detail]) for r in faults
    ]
    return _write_plain(out, "truth/faults.csv", ",".join(FAULTS_COLUMNS), rows)


def _write_manifest(summary: EconomySummary) -> None:
    manifest = {
        "generator": "joinedup synth",
        "format_version": 1,
        "seed": summary.seed,
        "people": summary.people,
        "persons_total": summary.persons_total,
        "years": summary.years,
        "fault_rate": summary.fault_rate,
        "start_date": summary.start_date.isoformat(),
        "end_date": summary.end_date.isoformat(),
        "injected_faults": summary.injected_faults,
        "files": [{"path": f.path, "sha256": f.sha256, "record_count": f.record_count} for f in summary.files],
        "rates": [
            {"measure": r.measure, "unit": r.unit, "target": r.target, "produced": r.produced,
             "within_tolerance": r.within_tolerance}
            for r in summary.rates
        ],
        "prevalence_percent_at_start": summary.prevalence,
    }
    (summary.out / "manifest.json").write_bytes(orjson.dumps(manifest, option=orjson.OPT_INDENT_2) + b"\n")
