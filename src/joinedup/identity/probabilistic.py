"""The probabilistic path: score records without a usable NHS number against the index.

New (unlinked) source patients are scored against already-linked ones found by blocking, and
against each other. A record whose best candidate person clears the upper threshold (and is not
a near-tie with another person) is attached to that person; the others are grouped (records of the
batch that match each other strongly share one new person) and get a new person. Candidate pairs
between the thresholds go to the review queue with their evidence. Existing person ids are never
changed here: merging two existing persons is a reviewer's (or an A40 message's) decision.
"""

from __future__ import annotations

import json
import logging
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import pyarrow as pa
from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from joinedup.identity import normalise
from joinedup.identity.cluster import UnionFind
from joinedup.identity.deterministic import LinkSummary, _Writes, chunked
from joinedup.identity.model import ScoredPair, Scorer, Thresholds, TrainedModel, records_table
from joinedup.store.tables.identity import SourcePatient
from joinedup.store.tables.identity_review import IdentityReviewItem

logger = logging.getLogger(__name__)

_COMPARED = ("first_name", "surname", "dob", "sex", "postcode", "nhs_number")
_COLUMNS = (
    SourcePatient.source_patient_id,
    SourcePatient.given_name,
    SourcePatient.family_name,
    SourcePatient.birth_date,
    SourcePatient.sex,
    SourcePatient.postcode,
    SourcePatient.nhs_number,
    SourcePatient.nhs_number_status,
    SourcePatient.person_id,
)


@dataclass
class IndexRecords:
    """Model records plus who each linked one belongs to."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    person_of: dict[int, str] = field(default_factory=dict)

    def table(self) -> pa.Table:
        """The records as the model's Arrow table."""
        return records_table(self.rows)

    def only(self, source_patient_ids: Iterable[int]) -> IndexRecords:
        """The given records (in the order held), with who they belong to."""
        wanted = set(source_patient_ids)
        return IndexRecords([row for row in self.rows if row["unique_id"] in wanted], self.person_of)

    def linked(self) -> IndexRecords:
        """The records that belong to a person."""
        return IndexRecords([row for row in self.rows if row["unique_id"] in self.person_of], self.person_of)

    def sample(self, size: int, *, seed: int = 7) -> IndexRecords:
        """At most ``size`` records drawn at random (the same draw for the same records and seed)."""
        if len(self.rows) <= size:
            return self
        draw = random.Random(seed)  # noqa: S311 - a training sample, not a secret
        return IndexRecords(draw.sample(self.rows, size), self.person_of)


def distinct_variants(index: IndexRecords) -> IndexRecords:
    """One record per person and set of compared values.

    Two records of one person with the same cleaned demographics score exactly the same against
    any new record, so scoring both only repeats work: on a large index most persons' records
    agree, and this halves the pairs to score without changing a decision.
    """
    seen: set[tuple[Any, ...]] = set()
    rows = []
    for row in index.rows:
        key = (index.person_of.get(row["unique_id"]), *(row[column] for column in _COMPARED))
        if key not in seen:
            seen.add(key)
            rows.append(row)
    return IndexRecords(rows, index.person_of)


def model_row(row: Any, *, trust_nhs_number: bool) -> dict[str, Any]:
    """One source patient as the model compares it.

    The NHS number is only given to the model when it is trusted: a linked record's valid number.
    An unlinked record's number was either unusable or conflicted with its owner's date of birth.
    """
    return {
        "unique_id": int(row.source_patient_id),
        "first_name": normalise.name(row.given_name),
        "surname": normalise.name(row.family_name),
        "dob": normalise.birth_date(row.birth_date),
        "sex": normalise.sex(row.sex),
        "postcode": normalise.postcode(row.postcode),
        "nhs_number": row.nhs_number if trust_nhs_number and row.nhs_number_status == "valid" else None,
    }


def _collect(session: Session, query: Select[Any] | Any, into: IndexRecords, seen: set[int]) -> None:
    for row in session.execute(query):
        if row.source_patient_id in seen:
            continue
        seen.add(row.source_patient_id)
        into.rows.append(model_row(row, trust_nhs_number=row.person_id is not None))
        if row.person_id is not None:
            into.person_of[row.source_patient_id] = row.person_id


def load_records(session: Session, source_patient_ids: Sequence[int]) -> IndexRecords:
    """The given source patients as model records."""
    records = IndexRecords()
    seen: set[int] = set()
    for part in chunked(list(source_patient_ids)):
        _collect(session, select(*_COLUMNS).where(SourcePatient.source_patient_id.in_(part)), records, seen)
    return records


def load_linked_index(session: Session) -> IndexRecords:
    """Every linked source patient (the whole index), for batch runs."""
    records = IndexRecords()
    _collect(session, select(*_COLUMNS).where(SourcePatient.person_id.is_not(None)), records, set())
    return records


def load_population(session: Session) -> IndexRecords:
    """Every source patient as a model record, in one read (linked ones with their person)."""
    records = IndexRecords()
    _collect(session, select(*_COLUMNS), records, set())
    return records


def load_candidates(session: Session, new: IndexRecords) -> IndexRecords:
    """Linked source patients that share a date of birth or a postcode with any new record.

    This is the store-side pre-blocking for incremental scoring: two indexed, set-based queries
    (chunked IN lists) rather than loading the whole index. Splink's blocking rules then pick the
    candidate pairs among these.
    """
    dobs = sorted({row["dob"] for row in new.rows if row["dob"]})
    postcodes: set[str] = set()
    for row in new.rows:
        if row["postcode"]:
            postcodes.update({row["postcode"], row["postcode"].replace(" ", "")})
    records = IndexRecords()
    seen: set[int] = set()
    linked = SourcePatient.person_id.is_not(None)
    for part in chunked([date.fromisoformat(value) for value in dobs]):
        _collect(session, select(*_COLUMNS).where(linked, SourcePatient.birth_date.in_(part)), records, seen)
    for part in chunked(sorted(postcodes)):
        _collect(session, select(*_COLUMNS).where(linked, SourcePatient.postcode.in_(part)), records, seen)
    return records


def identifiable(row: dict[str, Any]) -> bool:
    """Enough demographics to stand as a person: a date of birth and a name or a postcode."""
    return bool(row["dob"]) and bool(row["first_name"] or row["surname"] or row["postcode"])


@dataclass
class _Decision:
    person_id: str | None
    weight: float | None = None
    reason: str = ""


def _candidates_by_person(
    pairs: Iterable[ScoredPair], new_ids: set[int], person_of: dict[int, str]
) -> dict[int, dict[str, ScoredPair]]:
    """New record -> candidate person -> that person's best-scoring pair with the record."""
    best: dict[int, dict[str, ScoredPair]] = {}
    for pair in pairs:
        if pair.left in new_ids and pair.right in person_of:
            new_id, index_id = pair.left, pair.right
        elif pair.right in new_ids and pair.left in person_of:
            new_id, index_id = pair.right, pair.left
        else:
            continue
        person = person_of[index_id]
        current = best.setdefault(new_id, {}).get(person)
        if current is None or pair.match_weight > current.match_weight:
            best[new_id][person] = pair
    return best


def decide(
    new_ids: Sequence[int],
    between: Sequence[ScoredPair],
    within: Sequence[ScoredPair],
    person_of: dict[int, str],
    thresholds: Thresholds,
) -> tuple[dict[int, _Decision], list[list[int]]]:
    """Attach each new record to a person, or group it with other new records for a new person.

    Returns the decisions for attached records and the groups of new records that each need one
    new person. New records that match each other strongly travel together: if one of them is
    attached to a person, the others follow; if they point at two different persons, those not
    attached directly get a new person and the review queue shows the rest.
    """
    ids = sorted(set(new_ids))
    decisions: dict[int, _Decision] = {}
    candidates = _candidates_by_person(between, set(ids), person_of)
    for new_id, by_person in candidates.items():
        strong = sorted((pair.match_weight, person) for person, pair in by_person.items())
        strong = [item for item in strong if item[0] >= thresholds.upper]
        if not strong:
            continue
        if len(strong) > 1 and strong[-1][0] - strong[-2][0] < thresholds.ambiguity_margin:
            # Two persons fit almost equally well: a person decides, never the linker.
            continue
        weight, person = strong[-1]
        decisions[new_id] = _Decision(person, weight, f"probabilistic match, weight {weight:.1f}")
    components = UnionFind(ids)
    for pair in within:
        if pair.match_weight >= thresholds.upper:
            components.union(pair.left, pair.right)
    groups: list[list[int]] = []
    for members in components.groups().values():
        records = sorted(int(member) for member in members)  # type: ignore[call-overload]
        persons = {decisions[record].person_id for record in records if record in decisions}
        rest = [record for record in records if record not in decisions]
        if not rest:
            continue
        if len(persons) == 1:
            shared = persons.pop()
            for record in rest:
                decisions[record] = _Decision(shared, None, "matched a record of this batch linked to the person")
        else:
            groups.append(rest)
    return decisions, groups


def _reviewable(
    pairs: Iterable[ScoredPair], final: dict[int, str], new_ids: set[int], thresholds: Thresholds
) -> list[tuple[ScoredPair, int, int]]:
    """Pairs between the thresholds (or strong but left apart) whose records ended in different persons.

    Returns (pair, the new record, the candidate record), best pair per (record, candidate person).
    """
    best: dict[tuple[int, str], tuple[ScoredPair, int, int]] = {}
    for pair in pairs:
        if pair.match_weight < thresholds.lower:
            continue
        left_person, right_person = final.get(pair.left), final.get(pair.right)
        if left_person is None or right_person is None or left_person == right_person:
            continue
        record, candidate = (pair.left, pair.right) if pair.left in new_ids else (pair.right, pair.left)
        key = (record, final[candidate])
        if key not in best or pair.match_weight > best[key][0].match_weight:
            best[key] = (pair, record, candidate)
    return list(best.values())


def _already_decided(session: Session, records: set[int]) -> set[tuple[int, str]]:
    """(record, other person) pairs a reviewer has already seen (open or decided), either way round."""
    found: set[tuple[int, str]] = set()
    item = IdentityReviewItem
    for part in chunked(sorted(records)):
        query = select(
            item.source_patient_id, item.candidate_person_id, item.candidate_source_patient_id, item.person_id
        )
        matching = query.where(item.source_patient_id.in_(part) | item.candidate_source_patient_id.in_(part))
        for record, candidate_person, candidate, person in session.execute(matching):
            if candidate_person is not None:
                found.add((record, candidate_person))
            if person is not None:
                found.add((candidate, person))
    return found


def queue_for_review(
    session: Session, reviewable: Sequence[tuple[ScoredPair, int, int]], final: dict[int, str], *, note: str = ""
) -> int:
    """Write review items for pairs not already queued or decided; returns how many were added."""
    known = _already_decided(session, {record for _, record, _ in reviewable} | {c for _, _, c in reviewable})
    items = []
    for pair, record, candidate in reviewable:
        if (record, final[candidate]) in known or (candidate, final[record]) in known:
            continue
        known.add((record, final[candidate]))
        evidence = [
            {"field": item.field, "level": item.level, "match_weight": item.match_weight} for item in pair.evidence
        ]
        items.append(
            IdentityReviewItem(
                source_patient_id=record,
                person_id=final[record],
                candidate_source_patient_id=candidate,
                candidate_person_id=final[candidate],
                match_weight=round(pair.match_weight, 3),
                match_probability=pair.match_probability,
                evidence=json.dumps(evidence),
                explanation=(f"{note}; " if note else "") + pair.explanation()[:500],
            )
        )
    session.add_all(items)
    return len(items)


def link_probabilistically(
    session: Session,
    new: IndexRecords,
    index: IndexRecords,
    model: TrainedModel,
    summary: LinkSummary,
    *,
    scorer: Scorer | None = None,
) -> LinkSummary:
    """Score the new records against the index and each other; attach, create, and queue for review.

    Records with too little to go on (no date of birth, or neither name nor postcode) stay unlinked rather
    than becoming a person nobody can find; a later update of their demographics lets them link.
    """
    usable = [row for row in new.rows if identifiable(row)]
    summary.left_unlinked = len(new.rows) - len(usable)
    summary.unresolved = sorted(row["unique_id"] for row in new.rows if not identifiable(row))
    new = IndexRecords(usable, new.person_of)
    if not new.rows:
        return summary
    thresholds = model.thresholds
    scorer = scorer or Scorer(model)
    new_ids = {row["unique_id"] for row in new.rows}
    variants = distinct_variants(index)
    between = scorer.score_between(new.table(), variants.table(), min_weight=thresholds.lower) if index.rows else []
    within = scorer.score_within(new.table(), min_weight=thresholds.lower) if len(new.rows) > 1 else []
    decisions, groups = decide(sorted(new_ids), between, within, index.person_of, thresholds)
    writes = _Writes()
    final = dict(index.person_of)
    for record in sorted(decisions):
        decision = decisions[record]
        assert decision.person_id is not None
        writes.link(record, decision.person_id, "probabilistic", weight=decision.weight, reason=decision.reason)
        final[record] = decision.person_id
        summary.links[record] = decision.person_id
        summary.linked_probabilistically += 1
    for members in groups:
        person = writes.new_person()
        summary.new_persons += 1
        for record in members:
            writes.link(record, person, "new_person", reason="no match above the upper threshold")
            final[record] = person
            summary.links[record] = person
    writes.flush(session)
    reviewable = _reviewable([*between, *within], final, new_ids, thresholds)
    summary.queued_for_review += queue_for_review(session, reviewable, final)
    session.flush()
    logger.info("identity: probabilistic linking %s", summary.as_dict())
    return summary


def cross_check_new_numbers(
    session: Session,
    record_ids: Sequence[int],
    index: IndexRecords,
    model: TrainedModel,
    summary: LinkSummary,
    *,
    scorer: Scorer | None = None,
) -> int:
    """Queue for review new persons started from an unseen NHS number who look like someone known.

    A transcription slip can turn a patient's NHS number into another valid one that nobody holds
    yet; the deterministic path then starts a new person. Records that are still their person's
    only record are scored (NHS number left out) against everyone else; a strong match to a
    different person is never merged automatically (two different valid numbers) but goes to the
    review queue, saying so. Returns how many items were queued.
    """
    alone = _only_records(session, record_ids)
    if not alone or not index.rows:
        return 0
    new_rows = []
    for row in load_records(session, alone).rows:
        new_rows.append({**row, "nhs_number": None})
    # Only persons known by a (different) valid NHS number can be the owner of a mistyped one.
    others = distinct_variants(IndexRecords([row for row in index.rows if row["nhs_number"]], index.person_of))
    if not others.rows:
        return 0
    scorer = scorer or Scorer(model)
    upper = model.thresholds.upper
    pairs = scorer.score_between(records_table(new_rows), others.table(), min_weight=upper)
    final = dict(others.person_of)
    final.update(summary.links)
    new_ids = set(alone)
    flagged = [pair for pair in pairs if pair.left != pair.right and final.get(pair.left) != final.get(pair.right)]
    reviewable = _reviewable(flagged, final, new_ids, model.thresholds)
    queued = queue_for_review(session, reviewable, final, note="different valid NHS numbers; possibly a wrong number")
    summary.queued_for_review += queued
    return queued


def _only_records(session: Session, record_ids: Sequence[int]) -> list[int]:
    """Those of the records that are the only record of their person."""
    persons: dict[int, str] = {}
    for part in chunked(sorted(set(record_ids))):
        query = select(SourcePatient.source_patient_id, SourcePatient.person_id).where(
            SourcePatient.source_patient_id.in_(part)
        )
        for record, person in session.execute(query):
            if person is not None:
                persons[record] = person
    counts: dict[str, int] = {}
    wanted = sorted(set(persons.values()))
    for part in chunked(wanted):
        for holder in session.scalars(select(SourcePatient.person_id).where(SourcePatient.person_id.in_(part))):
            if holder is not None:
                counts[holder] = counts.get(holder, 0) + 1
    return sorted(record for record, person in persons.items() if counts.get(person) == 1)
