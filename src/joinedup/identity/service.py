"""Running linkage over the store: the batch run behind ``joinedup link`` and its evaluation."""

from __future__ import annotations

import csv
import json
import logging
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from joinedup.identity.deterministic import LinkSummary, link_unlinked_by_nhs_number
from joinedup.identity.errors import IdentityError
from joinedup.identity.evaluate import LinkageMetrics, pairwise_metrics
from joinedup.identity.model import MODEL_FILE, Thresholds, TrainedModel, save_thresholds, train_model
from joinedup.identity.probabilistic import (
    IndexRecords,
    cross_check_new_numbers,
    link_probabilistically,
    load_candidates,
    load_population,
    load_records,
)
from joinedup.settings import Settings
from joinedup.store.tables.base import utc_now
from joinedup.store.tables.identity import Person, SourcePatient
from joinedup.store.tables.identity_review import IdentityReviewItem

logger = logging.getLogger(__name__)

# Below this the EM training has nothing to learn from; unmatched records wait for more data.
MIN_TRAINING_RECORDS = 10
# Records drawn at random to train on: enough for stable weights, and training time stays flat.
TRAINING_SAMPLE = 250_000


def model_folder(settings: Settings) -> Path:
    """Where the trained model, its term frequencies and the thresholds live: ``$HOME/identity``."""
    return settings.home / "identity"


def load_model(settings: Settings) -> TrainedModel | None:
    """The trained model in the home, or None when ``joinedup link`` has not trained one yet."""
    folder = model_folder(settings)
    if not (folder / MODEL_FILE).exists():
        return None
    return TrainedModel.load(folder)


@dataclass
class _StageClock:
    """Wall-clock and CPU seconds (all threads, DuckDB's included) of each stage of a run."""

    started: float = field(default_factory=time.perf_counter)
    cpu_started: float = field(default_factory=time.process_time)
    wall: dict[str, float] = field(default_factory=dict)
    cpu: dict[str, float] = field(default_factory=dict)

    def lap(self, stage: str) -> None:
        self.wall[stage] = round(time.perf_counter() - self.started - sum(self.wall.values()), 2)
        self.cpu[stage] = round(time.process_time() - self.cpu_started - sum(self.cpu.values()), 2)


@dataclass
class LinkReport:
    """What a batch linkage run did, and how the index looks afterwards."""

    summary: LinkSummary
    trained: bool
    model_path: str
    thresholds: Thresholds
    source_patients: int = 0
    persons: int = 0
    unlinked: int = 0
    review_open: int = 0
    seconds: float = 0.0
    metrics: LinkageMetrics | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """Everything, for ``--json``."""
        result: dict[str, Any] = {
            "trained": self.trained,
            "model_path": self.model_path,
            "thresholds": {"upper": self.thresholds.upper, "lower": self.thresholds.lower},
            "source_patients": self.source_patients,
            "persons": self.persons,
            "unlinked": self.unlinked,
            "review_open": self.review_open,
            "seconds": round(self.seconds, 2),
            "this_run": self.summary.as_dict(),
            **self.extra,
        }
        if self.metrics is not None:
            result["evaluation"] = self.metrics.as_dict()
        return result


def train(
    session: Session,
    settings: Settings,
    *,
    thresholds: Thresholds | None = None,
    population: IndexRecords | None = None,
) -> TrainedModel:
    """Train the model on the store's source patients (a random sample of a large store) and save it.

    The weights are population-level rates (how often two records of one person disagree on a
    field, how often two strangers agree), so a sample of ``TRAINING_SAMPLE`` records estimates
    them as well as a million records do, in a fraction of the time.
    """
    records = (population or load_population(session)).sample(TRAINING_SAMPLE)
    previous = load_model(settings)
    chosen = thresholds or (previous.thresholds if previous else Thresholds())
    model = train_model(records.table(), thresholds=chosen)
    model.save(model_folder(settings))
    return model


def _train_if_possible(
    session: Session, settings: Settings, thresholds: Thresholds | None, population: IndexRecords
) -> TrainedModel | None:
    """Train and save the model; None (records stay unlinked) when the store is too small to train on."""
    if len(population.rows) < MIN_TRAINING_RECORDS:
        logger.warning("identity: only %d source patients; too few to train the linkage model", len(population.rows))
        return None
    return train(session, settings, thresholds=thresholds, population=population)


CROSS_CHECK_FILE = "cross_check.json"


def _last_cross_check(settings: Settings) -> datetime | None:
    """When the last run cross-checked new persons started from an unseen NHS number."""
    path = model_folder(settings) / CROSS_CHECK_FILE
    if not path.exists():
        return None
    return datetime.fromisoformat(json.loads(path.read_text())["checked_until"])


def _save_cross_check(settings: Settings, moment: datetime) -> None:
    folder = model_folder(settings)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / CROSS_CHECK_FILE).write_text(json.dumps({"checked_until": moment.isoformat()}))


def _new_persons_by_number_since(session: Session, since: datetime | None) -> list[int]:
    """Records that started a new person on a valid NHS number (at ingest or in a run) since then."""
    query = select(SourcePatient.source_patient_id).where(
        SourcePatient.link_method == "new_person",
        SourcePatient.nhs_number_status == "valid",
        SourcePatient.person_id.is_not(None),
    )
    if since is not None:
        query = query.where(SourcePatient.linked_at >= since)
    return list(session.scalars(query))


def _census(session: Session, report: LinkReport) -> None:
    report.source_patients = session.scalar(select(func.count()).select_from(SourcePatient)) or 0
    report.unlinked = session.scalar(select(func.count()).where(SourcePatient.person_id.is_(None))) or 0
    report.persons = session.scalar(select(func.count()).where(Person.status == "active")) or 0
    report.review_open = session.scalar(select(func.count()).where(IdentityReviewItem.status == "open")) or 0


def link_all(
    session: Session,
    settings: Settings,
    *,
    retrain: bool = False,
    thresholds: Thresholds | None = None,
) -> LinkReport:
    """Link every unlinked source patient: NHS number first, then the probabilistic model.

    Trains (and saves) the model when records need it and there is none, or ``retrain`` is set
    (a store of fewer than ten records is too small to train on: unmatched records then wait).
    Records already linked keep their person: a re-run only links what is new, so person ids stay
    stable. The caller commits.
    """
    clock = _StageClock()
    summary = link_unlinked_by_nhs_number(session)
    clock.lap("nhs_number")
    model = load_model(settings)
    trained = False
    needs_model = bool(summary.unresolved) or retrain
    # One read of the store serves training, the probabilistic pass and the cross-check (read
    # only if one of them runs: a daily run with nothing new reads nothing).
    loaded: list[IndexRecords] = []

    def population() -> IndexRecords:
        if not loaded:
            loaded.append(load_population(session))
        return loaded[0]

    if needs_model:
        population()
    clock.lap("loading")
    if needs_model and (model is None or retrain):
        model = _train_if_possible(session, settings, thresholds, population())
        trained = model is not None
    elif model is not None and thresholds is not None:
        model.thresholds = thresholds
        save_thresholds(model_folder(settings), thresholds)
    clock.lap("training")
    if summary.unresolved and model is not None:
        new = population().only(summary.unresolved)
        link_probabilistically(session, new, population().linked(), model, summary)
        clock.lap("probabilistic")
    if model is not None:
        fresh = _new_persons_by_number_since(session, _last_cross_check(settings))
        if fresh:
            # The index as it stands now: this run's probabilistic links join their persons.
            index = IndexRecords(population().rows, {**population().person_of, **summary.links})
            cross_check_new_numbers(session, fresh, index.linked(), model, summary)
        # From the end of this run: records this run linked were checked now (or just above).
        _save_cross_check(settings, utc_now())
        clock.lap("cross_check")
    chosen = model.thresholds if model is not None else (thresholds or Thresholds())
    report = LinkReport(summary, trained, str(model_folder(settings) / MODEL_FILE), chosen)
    _census(session, report)
    report.seconds = time.perf_counter() - clock.started
    report.extra["stage_seconds"] = clock.wall
    report.extra["stage_cpu_seconds"] = clock.cpu
    logger.info("identity: link run stages %s (CPU %s)", clock.wall, clock.cpu)
    return report


def link_incrementally(session: Session, settings: Settings, summary: LinkSummary) -> LinkSummary:
    """Score the records the deterministic path left, against candidates from the index.

    Does nothing (the records wait for ``joinedup link``) when no model has been trained yet.
    """
    if not summary.unresolved:
        return summary
    model = load_model(settings)
    if model is None:
        return summary
    new = load_records(session, summary.unresolved)
    return link_probabilistically(session, new, load_candidates(session, new), model, summary)


def read_truth(truth: Path) -> dict[tuple[str, str], str]:
    """``truth/source_records.csv`` (source, local_id -> true_person_id); accepts the folder or the file."""
    path = truth / "source_records.csv" if truth.is_dir() else truth
    if not path.exists():
        raise IdentityError(f"no ground truth at {path}")
    with path.open(newline="") as handle:
        return {(row["source"], row["local_id"]): row["true_person_id"] for row in csv.DictReader(handle)}


def evaluate_store(session: Session, truth: Path) -> LinkageMetrics:
    """Pairwise precision/recall/F1 of the store's links against a ground-truth file.

    Unlinked records count as persons of their own (they are, to a clinician looking them up).
    """
    expected = read_truth(truth)
    predicted: dict[tuple[str, str], str] = {}
    by_local_id: dict[str, list[str]] = {}
    query = select(
        SourcePatient.source, SourcePatient.local_id, SourcePatient.person_id, SourcePatient.source_patient_id
    )
    for source, local_id, person_id, source_patient_id in session.execute(query):
        person = person_id or f"unlinked:{source_patient_id}"
        predicted[(source, local_id)] = person
        by_local_id.setdefault(local_id, []).append(person)
    # A feed may file one system's extract under another source (SUS rows carry the PAS MRN and
    # are kept with the PAS patient): a truth row not found by (source, local_id) is matched by a
    # local id that only one stored record has.
    for key in expected.keys() - predicted.keys():
        candidates = by_local_id.get(key[1], [])
        if len(candidates) == 1:
            predicted[key] = candidates[0]
    if not set(predicted) & set(expected):
        raise IdentityError("none of the store's source patients appear in the ground truth")
    return pairwise_metrics(predicted, expected)


def run_linkage(
    session: Session,
    settings: Settings,
    *,
    retrain: bool = False,
    thresholds: Thresholds | None = None,
    truth: Path | None = None,
) -> LinkReport:
    """``joinedup link``: link what is unlinked, then (optionally) evaluate against ground truth."""
    report = link_all(session, settings, retrain=retrain, thresholds=thresholds)
    if truth is not None:
        report.metrics = evaluate_store(session, truth)
    return report
