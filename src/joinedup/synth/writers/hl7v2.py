"""The hospital PAS's ADT stream: HL7 v2.4 messages, one monthly file, segments ending ``\\r`` and
messages separated by ``\\n``; the spell or attendance id in PV1-19 is the same id the SUS
extracts carry."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from joinedup.synth.borough import ACUTE_TRUST, COORDINATION_CENTRE, town_of
from joinedup.synth.codes import UNKNOWN_SNOMED
from joinedup.synth.events import AeAttendance, Spell
from joinedup.synth.writers.common import Subject, month_of, show_identity
from joinedup.synth.writers.spool import FaultNote

_SEX = {"male": "M", "female": "F"}
_STRUCTURES = {"A01": "ADT_A01", "A04": "ADT_A01", "A08": "ADT_A01", "A13": "ADT_A01", "A11": "ADT_A09",
               "A40": "ADT_A39"}
_DISPOSITION = {"19": "01", "54": "04", "79": "20", "51": "02"}


@dataclass(slots=True)
class _Message:
    """An ADT message before it is rendered: who, what, when, under which MRN."""

    event: str
    at: datetime
    mrn: str
    visit_id: str = ""
    patient_class: str = "I"
    ward: str = ""
    prior_ward: str = ""
    admission_type: str = ""
    specialty: str = ""
    admitted: datetime | None = None
    discharged: datetime | None = None
    disposition: str = ""
    merged_mrn: str = ""
    died: bool = False


def _ts(moment: datetime | None) -> str:
    return moment.strftime("%Y%m%d%H%M%S") if moment else ""


def _spell_messages(subject: Subject, spell: Spell) -> list[_Message]:
    """A01, A02 for each move, an occasional A08, A03; now and then a cancelled admit or discharge."""
    rng = random.Random(f"{subject.seed}:{subject.person.index}:{spell.spell_id}")  # noqa: S311 - simulation
    kind = "E" if spell.emergency else "EL"

    def message(event: str, at: datetime, ward: str, **extra: object) -> _Message:
        return _Message(event, at, "", visit_id=spell.spell_id, specialty=spell.specialty, admission_type=kind,
                        admitted=spell.admit, ward=ward, **extra)  # type: ignore[arg-type]

    messages: list[_Message] = []
    ward = spell.wards[0][0]
    if not spell.emergency and rng.random() < 0.01:  # admitted in error the day before, then cancelled
        messages += [
            message("A01", spell.admit - timedelta(days=1), ward),
            message("A11", spell.admit - timedelta(hours=20), ward),
        ]
    messages.append(message("A01", spell.admit, ward))
    for new_ward, moved in spell.wards[1:]:
        messages.append(message("A02", moved, new_ward, prior_ward=ward))
        ward = new_ward
    if spell.length_of_stay >= 2 and rng.random() < 0.1:
        messages.append(message("A08", spell.admit + timedelta(hours=20), ward))
    if spell.length_of_stay >= 1 and rng.random() < 0.01:  # discharged too early, cancelled
        early = spell.discharge - timedelta(hours=20)
        messages += [message("A03", early, ward, discharged=early, disposition="01"),
                     message("A13", early + timedelta(hours=1), ward)]
    disposition = _DISPOSITION.get(spell.discharge_destination, "01")
    messages.append(message("A03", spell.discharge, ward, discharged=spell.discharge, disposition=disposition,
                            died=spell.died))
    return messages


def _attendance_messages(attendance: AeAttendance, mrn: str) -> list[_Message]:
    common = {"mrn": mrn, "visit_id": attendance.attendance_id, "patient_class": "E", "ward": "ED",
              "specialty": "180", "admitted": attendance.arrival}
    return [
        _Message("A04", attendance.arrival, **common),  # type: ignore[arg-type]
        _Message(
            "A03", attendance.departure, discharged=attendance.departure,
            disposition="09" if attendance.admitted_spell_id else "01", **common,  # type: ignore[arg-type]
        ),
    ]


def write_adt(subject: Subject) -> None:
    """Every ADT message of the person's hospital encounters, each queued in its month's file."""
    history, ids = subject.history, subject.ids
    encounters: list[tuple[datetime, list[_Message]]] = []
    first = True
    for attendance in history.ae:
        encounters.append((attendance.arrival, _attendance_messages(attendance, "")))
    for spell in history.spells:
        encounters.append((spell.admit, _spell_messages(subject, spell)))
    encounters.sort(key=lambda e: (e[0], e[1][0].event))
    for _, messages in encounters:
        mrn = ids.mrn
        if first and ids.mrn_duplicate:
            mrn = ids.mrn_duplicate
            subject.used_duplicate_mrn = True
        for message in messages:
            message.mrn = mrn
        if first and ids.mrn_duplicate:
            last = max(m.at for m in messages)
            messages.append(_Message("A40", last + timedelta(days=2), mrn=ids.mrn, merged_mrn=ids.mrn_duplicate))
        first = False
        _queue(subject, [m for m in messages if m.at < _end_instant(subject)])


def _end_instant(subject: Subject) -> datetime:
    return datetime.combine(subject.end, datetime.min.time())


def _queue(subject: Subject, messages: list[_Message]) -> None:
    """Render and queue an encounter's messages; faults may reorder, delay, repeat or break them."""
    previous_key, previous_month = "", ""
    for k, message in enumerate(messages):
        control = _next_control(subject)
        kind = subject.faults.pick("hl7", exclude=("out_of_order",) if k == 0 else ())
        text, notes = _render(subject, message, control, kind)
        key = f"{_ts(message.at)}|1|{control}"
        month = month_of(message.at)
        if kind == "out_of_order":  # same time and file as the message it should follow, sorted before it
            key, month = previous_key.replace("|1|", "|0|", 1), previous_month
        previous_key, previous_month = f"{_ts(message.at)}|1|{control}", month_of(message.at)
        if kind == "late":
            later = subject.later_month(month)
            if later is None:
                notes = [n for n in notes if n.kind != "late"]
            else:
                month, key = later, f"99999999999999|1|{control}"
        output = f"hospital-pas/adt-{month}.hl7"
        if kind == "duplicate":
            subject.spool.add(output, text, key, tuple(n for n in notes if n.kind != "duplicate"))
            subject.spool.add(output, text, key + "~", (FaultNote("duplicate", control),))
            continue
        subject.spool.add(output, text, key, tuple(notes))


def _next_control(subject: Subject) -> str:
    subject.message_count += 1
    return f"{subject.ids.message_prefix}{subject.message_count:04d}"


def _render(subject: Subject, message: _Message, control: str, kind: str | None) -> tuple[str, list[FaultNote]]:
    person = subject.person
    shown = show_identity(subject, kind, control, subject.quality.pas)
    notes = list(shown.notes)
    if kind is not None and not any(n.kind == kind and n.origin == "injected" for n in notes):
        notes.append(FaultNote(kind, control))
    area, postcode, line, practice = person.address_on(message.at.date())
    structure = _STRUCTURES.get(message.event, f"ADT_{message.event}")
    segments = [
        f"MSH|^~\\&|PAS|{ACUTE_TRUST}|JOINEDUP|{COORDINATION_CENTRE}|{_ts(message.at)}||ADT^{message.event}^{structure}|{control}|P|2.4|||AL|NE",
        f"EVN|{message.event}|{_ts(message.at)}",
    ]
    identifiers = f"{message.mrn}^^^{ACUTE_TRUST}^MR"
    if shown.nhs_number:
        identifiers += f"~{shown.nhs_number}^^^NHS^NH"
    dob = shown.birth_date.strftime("%Y%m%d")
    if kind == "malformed":
        dob = f"{shown.birth_date.year}1345"
    pid = ["PID", "1", "", identifiers, "", f"{shown.family_name}^{shown.given_name}", "", dob,
           _SEX.get(person.sex, "U"), "", "", f"{line}^^{town_of(area.neighbourhood)}^^{postcode}"]
    pid += [""] * 10 + [person.ethnic_category] + [""] * 6
    if message.died and person.death_date is not None:
        pid += [_ts(message.discharged), "Y"]
    segments.append("|".join(pid))
    segments.append(f"PD1|||^^{practice}")
    if message.event == "A40":
        segments.append(f"MRG|{message.merged_mrn}^^^{ACUTE_TRUST}^MR")
    else:
        segments.append(_pv1(message, kind))
    if kind == "truncated":
        segments = [*segments[:2], segments[2][:len(segments[2]) // 2]]
    return "\r".join(segments) + "\r", notes


def _pv1(message: _Message, kind: str | None) -> str:
    location = f"{message.ward}^^^{ACUTE_TRUST}" if message.ward else ""
    if kind == "unknown_code":
        location = f"ZZ{UNKNOWN_SNOMED[:3]}^^^{ACUTE_TRUST}"
    fields = [""] * 46
    fields[0] = "PV1"
    fields[1] = "1"
    fields[2] = message.patient_class
    fields[3] = location
    fields[4] = message.admission_type
    fields[6] = f"{message.prior_ward}^^^{ACUTE_TRUST}" if message.prior_ward else ""
    fields[7] = "C1234567^CONSULTANT^A"
    fields[10] = message.specialty
    fields[19] = message.visit_id
    fields[36] = message.disposition
    fields[44] = _ts(message.admitted)
    fields[45] = _ts(message.discharged)
    return "|".join(fields)
