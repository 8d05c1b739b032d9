"""Data sharing: agreements gate requests, the board decides, the extract is de-identified and controlled."""

from __future__ import annotations

import csv
import json
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from joinedup.errors import AccessDenied, Conflict, InvalidInput
from joinedup.governance import load_cleaned_list, record_local_objection
from joinedup.governance.extracts import produce_extract, reidentify
from joinedup.governance.sharing import (
    create_agreement,
    get_data_request,
    require_processing_agreement,
    review_data_request,
    submit_data_request,
)
from joinedup.settings import Settings
from joinedup.store.tables import Condition, Encounter
from joinedup.store.tables.base import utc_now
from joinedup.store.tables.governance import AuditEntry, DataExtract

from .factories import PersonMade, actor, make_person

IG = actor("ig_officer", org="ICB01")
ANALYST = actor("analyst", org="ICB01")
BOARD = [actor("data_sharing_board_member", org="ICB01") for _ in range(3)]
FIELDS = [
    "person.birth_date",
    "person.sex",
    "person.practice_code",
    "condition.code",
    "encounter.setting",
    "encounter.start_date",
]


def _agreement(
    session: Session, agreement_id: str = "DSA-1", *, linkage: bool = False, fields: list[str] = FIELDS
) -> None:
    today = utc_now().date()
    create_agreement(
        session,
        actor=IG,
        agreement_id=agreement_id,
        kind="sharing",
        title="Frailty research with the university",
        purpose="research",
        party="UNI01",
        fields=fields,
        start_date=date(today.year - 1, 1, 1),
        end_date=date(today.year + 1, 12, 31),
        date_precision="year",
        linkage_allowed=linkage,
        legal_basis="UK GDPR 6(1)(e), 9(2)(j)",
    )


def _request(session: Session, agreement_id: str = "DSA-1", **cohort: object) -> int:
    request = submit_data_request(
        session,
        actor=ANALYST,
        title="Frailty and admissions",
        purpose="research",
        legal_basis="UK GDPR 6(1)(e), 9(2)(j)",
        agreement_id=agreement_id,
        cohort=dict(cohort) or {"min_age": 65},
        fields=FIELDS,
        period_start=date(2024, 1, 1),
        period_end=date(2025, 12, 31),
    )
    return request.data_request_id


def _approve(session: Session, request_id: int) -> None:
    for member in BOARD[:2]:
        review_data_request(session, actor=member, data_request_id=request_id, kind="approve", text="proportionate")


def _population(session: Session, tmp_path: Path) -> list[PersonMade]:
    """24 people aged 66-90 with diabetes and one admission each, 2 younger; opt-outs loaded."""
    people = [
        make_person(session, practice="P00001", birth_date=date(1935 + i, 3, 1), sex="female" if i % 3 else "male")
        for i in range(24)
    ]
    people += [make_person(session, practice="P00001", birth_date=date(1990, 1, 1)) for _ in range(2)]
    for n, person in enumerate(people):
        session.add(
            Condition(
                source="gp",
                source_record_id=f"C{person.person_id}",
                source_patient_id=person.source_patient_id,
                code="44054006",
                code_system="snomed",
                onset_date=date(2010, 1, 1),
            )
        )
        session.add(
            Encounter(
                source="hospital-pas",
                source_record_id=f"E{person.person_id}",
                source_patient_id=person.source_patient_id,
                setting="inpatient",
                status="finished",
                start_at=datetime(2025, 1 + n % 12, 3, tzinfo=UTC),
                org_code="RXX01",
            )
        )
    # A sealed item never leaves.
    session.add(
        Condition(
            source="gp",
            source_record_id="sealed-1",
            source_patient_id=people[0].source_patient_id,
            code="SEALED1",
            code_system="snomed",
            sealed_flag=True,
        )
    )
    session.flush()
    # Everyone but the last two of the older group is on today's cleaned list.
    folder = tmp_path / "national-data-opt-out"
    folder.mkdir()
    today = utc_now().date().isoformat()
    listed = [p.nhs_number for p in people[:22] + people[24:]]
    (folder / f"cleaned-list-{today}.csv").write_text("nhs_number\n" + "\n".join(listed) + "\n", encoding="utf-8")
    load_cleaned_list(session, folder / f"cleaned-list-{today}.csv", "research")
    record_local_objection(session, person_id=people[21].person_id, kind="type_1")
    return people


def _read(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_the_board_decides_and_every_decision_is_kept(session: Session) -> None:
    _agreement(session)
    request_id = _request(session)
    review_data_request(session, actor=BOARD[0], data_request_id=request_id, kind="comment", text="why 65?")
    review_data_request(session, actor=BOARD[0], data_request_id=request_id, kind="approve")
    with pytest.raises(Conflict, match="already decided"):
        review_data_request(session, actor=BOARD[0], data_request_id=request_id, kind="approve")
    assert get_data_request(session, actor=BOARD[2], data_request_id=request_id).status == "submitted"
    review_data_request(session, actor=BOARD[1], data_request_id=request_id, kind="approve")
    request = get_data_request(session, actor=BOARD[2], data_request_id=request_id)
    assert request.status == "approved"
    assert [(r.reviewer, r.kind) for r in request.reviews] == [
        (BOARD[0].username, "comment"),
        (BOARD[0].username, "approve"),
        (BOARD[1].username, "approve"),
    ]
    with pytest.raises(Conflict, match="already approved"):
        review_data_request(session, actor=BOARD[2], data_request_id=request_id, kind="reject", text="late")


def test_a_rejection_needs_a_reason_and_ends_the_request(session: Session) -> None:
    _agreement(session)
    request_id = _request(session)
    with pytest.raises(InvalidInput, match="reason"):
        review_data_request(session, actor=BOARD[0], data_request_id=request_id, kind="reject")
    review_data_request(session, actor=BOARD[0], data_request_id=request_id, kind="reject", text="cohort too small")
    request = get_data_request(session, actor=IG, data_request_id=request_id)
    assert (request.status, request.decision_reason) == ("rejected", "cohort too small")


def test_requests_are_held_to_their_agreement(session: Session) -> None:
    _agreement(session, fields=["person.sex"])
    with pytest.raises(InvalidInput, match="does not cover field"):
        _request(session)
    with pytest.raises(InvalidInput, match="direct identifiers"):
        _agreement(session, "DSA-2", fields=["person.nhs_number"])
    with pytest.raises(AccessDenied):
        submit_data_request(
            session,
            actor=actor("gp", org="P00001"),
            title="x",
            purpose="research",
            legal_basis="x",
            agreement_id="DSA-1",
            cohort={},
            fields=["person.sex"],
            period_start=date(2025, 1, 1),
            period_end=date(2025, 2, 1),
        )
    own = submit_data_request(
        session,
        actor=BOARD[0],
        title="x",
        purpose="research",
        legal_basis="x",
        agreement_id="DSA-1",
        cohort={},
        fields=["person.sex"],
        period_start=date(2025, 1, 1),
        period_end=date(2025, 2, 1),
    )
    with pytest.raises(AccessDenied, match="cannot decide on your own"):
        review_data_request(session, actor=BOARD[0], data_request_id=own.data_request_id, kind="approve")
    with pytest.raises(InvalidInput, match="unknown cohort filter"):
        submit_data_request(
            session,
            actor=ANALYST,
            title="x",
            purpose="research",
            legal_basis="x",
            agreement_id="DSA-1",
            cohort={"postcode": "LS1"},
            fields=["person.sex"],
            period_start=date(2025, 1, 1),
            period_end=date(2025, 2, 1),
        )
    with pytest.raises(AccessDenied, match="no active data-processing agreement"):
        require_processing_agreement(session, source="gp")


def test_the_extract_is_pseudonymised_coarsened_opted_out_and_disclosure_controlled(
    session: Session, settings: Settings, tmp_path: Path
) -> None:
    people = _population(session, tmp_path)
    _agreement(session)
    request_id = _request(session, min_age=65)
    with pytest.raises(Conflict, match="only approved"):
        produce_extract(session, actor=IG, settings=settings, data_request_id=request_id, out_dir=tmp_path / "out")
    _approve(session, request_id)

    report = produce_extract(session, actor=IG, settings=settings, data_request_id=request_id, out_dir=tmp_path / "out")

    # 24 people aged 65+; 2 not on the cleaned list, 1 type-1 objection: 21 released, 3 excluded.
    assert (report.person_count, report.excluded_count) == (21, 3)
    person_rows = _read(report.folder / "person.csv")
    assert len(person_rows) == 21
    assert set(person_rows[0]) == {"pseudonym", "birth_date", "sex", "practice_code"}
    assert {len(r["birth_date"]) for r in person_rows} == {4}  # years only, as the agreement says
    everything = "".join(p.read_text(encoding="utf-8") for p in report.folder.iterdir())
    for person in people:
        assert person.nhs_number not in everything
        assert person.person_id not in everything
    assert "Testperson" not in everything
    assert "LS1 4AP" not in everything
    assert "SEALED1" not in everything
    conditions = _read(report.folder / "condition.csv")
    assert len(conditions) == 21
    assert {c["code"] for c in conditions} == {"44054006"}
    assert {r["pseudonym"] for r in conditions} == {r["pseudonym"] for r in person_rows}
    encounters = _read(report.folder / "encounter.csv")
    assert {e["start_date"] for e in encounters} == {"2025"}

    with (report.folder / "aggregate.csv").open(encoding="utf-8") as handle:
        aggregate = list(csv.reader(handle))
    released = [cell for row in aggregate[1:] for cell in row[1:]]
    assert all(cell == "0" or cell == "*" or (int(cell) % 5 == 0 and int(cell) >= 10) for cell in released)
    assert aggregate[-1][-1] == "20"  # 21 people, rounded
    manifest = json.loads((report.folder / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["people"] == {"released": 21, "excluded": "*"}
    assert session.scalars(select(DataExtract.person_count)).all() == [21]
    exported = session.scalars(select(AuditEntry).where(AuditEntry.action == "export")).all()
    assert [(e.user_id, e.resource_type, e.outcome) for e in exported] == [(IG.user_id, "extract", "allowed")] * 2


def test_pseudonyms_are_stable_within_a_request_and_differ_across_requests(
    session: Session, settings: Settings, tmp_path: Path
) -> None:
    _population(session, tmp_path)
    _agreement(session)
    _agreement(session, "DSA-LINK", linkage=True)
    first, second = _request(session), _request(session)
    linked_a, linked_b = _request(session, "DSA-LINK"), _request(session, "DSA-LINK")
    for request_id in (first, second, linked_a, linked_b):
        _approve(session, request_id)

    def pseudonyms(request_id: int, out: str) -> list[str]:
        report = produce_extract(
            session, actor=IG, settings=settings, data_request_id=request_id, out_dir=tmp_path / out
        )
        return sorted(r["pseudonym"] for r in _read(report.folder / "person.csv"))

    once, again = pseudonyms(first, "a"), pseudonyms(first, "b")
    assert once == again
    assert len(set(once)) == 21
    assert set(once).isdisjoint(pseudonyms(second, "c"))
    assert pseudonyms(linked_a, "d") == pseudonyms(linked_b, "e")

    # The controller re-identifies for direct care: the practice's GP gets their own patients back, audited.
    gp = actor("gp", org="P00001")
    back = reidentify(session, actor=gp, settings=settings, data_request_id=first, pseudonyms=once[:3])
    assert len(back) == 3
    stranger = actor("gp", org="P99999")
    assert reidentify(session, actor=stranger, settings=settings, data_request_id=first, pseudonyms=once[:3]) == {}
    audited = session.scalars(select(AuditEntry.person_id).where(AuditEntry.action == "reidentify")).all()
    assert sorted(audited) == sorted(back.values())
