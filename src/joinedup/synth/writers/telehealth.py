"""The telehealth service's readings: one JSON object per line, monthly files."""

from __future__ import annotations

import orjson

from joinedup.synth.codes import LOINC, TELEHEALTH_CODES
from joinedup.synth.writers.common import Subject, iso_instant, month_of, show_identity
from joinedup.synth.writers.spool import FaultNote

_IMPOSSIBLE = {"weight": 0.0, "systolic": 400.0, "diastolic": -10.0, "heart_rate": 0.0, "spo2": 130.0, "glucose": 99.0}


def write_telehealth(subject: Subject) -> None:
    """Every reading the person's devices sent."""
    for reading in subject.history.telehealth:
        kind = subject.faults.pick("telehealth")
        shown = show_identity(subject, kind, reading.reading_id, subject.quality.telehealth)
        notes = list(shown.notes)
        if kind is not None and not any(n.origin == "injected" for n in notes):
            notes.append(FaultNote(kind, reading.reading_id))
        code, display, unit = TELEHEALTH_CODES[reading.key]
        value: float | str = reading.value
        if kind == "impossible_value":
            value = _IMPOSSIBLE[reading.key]
        elif kind == "malformed":
            value = "ERR"
        record = {
            "reading_id": reading.reading_id,
            "device_patient_id": subject.ids.telehealth_id,
            "nhs_number": shown.nhs_number or None,
            "code": code,
            "code_system": LOINC,
            "display": display,
            "value": value,
            "unit": unit,
            "measured_at": iso_instant(reading.at),
        }
        line = orjson.dumps(record).decode()
        if kind == "truncated":
            line = line[: len(line) * 2 // 3]
        month = month_of(reading.at)
        key = f"{reading.at.isoformat()}|{reading.reading_id}"
        if kind == "late":
            later = subject.later_month(month)
            if later is None:
                notes = [n for n in notes if n.kind != "late"]
            else:
                month, key = later, f"~{key}"
        output = f"telehealth/readings-{month}.jsonl"
        if kind == "duplicate":
            subject.spool.add(output, line, key, tuple(n for n in notes if n.kind != "duplicate"))
            subject.spool.add(output, line, key + "~", (FaultNote("duplicate", reading.reading_id),))
            continue
        subject.spool.add(output, line, key, tuple(notes))
