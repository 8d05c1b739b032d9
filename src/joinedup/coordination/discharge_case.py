"""One discharge support case as the volunteer sees it: contact details, passport, checklist,
calls and Home from Hospital — and nothing clinical."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from joinedup.coordination import discharge_support, follow_up, passports
from joinedup.coordination.home_from_hospital import HomeFromHospitalPublic, PlannedContact
from joinedup.model import Actor
from joinedup.store.tables.coordination import HomeFromHospital, SettleInCheck


@dataclass(frozen=True)
class ChecklistItem:
    """A settle-in checklist item and what was found."""

    item: str
    label: str
    met: bool | None
    note: str | None


@dataclass(frozen=True)
class CaseOverview:
    """Everything the volunteer's case page shows."""

    summary: discharge_support.CaseSummary
    passport: passports.PassportPublic | None
    checklist: tuple[ChecklistItem, ...]
    calls: tuple[follow_up.CallPublic, ...]
    home_from_hospital: tuple[HomeFromHospitalPublic, ...]
    call_script: tuple[str, ...]


def case_overview(session: Session, *, actor: Actor, discharge_support_id: int) -> CaseOverview:
    """The case page: every part through governance (contact fields cut to the actor's role)."""
    summary = discharge_support.case_summary(session, actor=actor, discharge_support_id=discharge_support_id)
    passport = passports.read_passport(session, actor=actor, person_id=summary.case.person_id)
    calls = follow_up.calls_for_case(session, actor=actor, discharge_support_id=discharge_support_id)
    found = {
        check.item: check
        for check in session.scalars(
            select(SettleInCheck)
            .where(SettleInCheck.discharge_support_id == discharge_support_id)
            .order_by(SettleInCheck.settle_in_check_id)
        )
    }
    checklist = tuple(
        ChecklistItem(
            item=item,
            label=label,
            met=found[item].met_flag if item in found else None,
            note=found[item].note if item in found else None,
        )
        for item, (label, _, _, _) in follow_up.SETTLE_IN_ITEMS.items()
    )
    supports = tuple(
        HomeFromHospitalPublic(
            home_from_hospital_id=row.home_from_hospital_id,
            discharge_support_id=row.discharge_support_id,
            person_id=row.person_id,
            start_date=row.start_date,
            end_date=row.end_date,
            goals=tuple(row.goals),
            planned_contacts=tuple(PlannedContact.model_validate(c) for c in row.planned_contacts),
            status=row.status,
            outcome=row.outcome,
        )
        for row in session.scalars(
            select(HomeFromHospital).where(HomeFromHospital.discharge_support_id == discharge_support_id)
        )
    )
    session.commit()
    volunteer = actor.username
    return CaseOverview(
        summary=summary,
        passport=passport,
        checklist=checklist,
        calls=tuple(calls),
        home_from_hospital=supports,
        call_script=tuple(line.format(volunteer=volunteer) for line in follow_up.CALL_SCRIPT),
    )
