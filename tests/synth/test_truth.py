"""The truth covers every source record, its NHS numbers are valid test-range numbers, the produced
rates match the documented England-shaped targets, and the latent risk really drives admissions."""

from __future__ import annotations

import csv
import io
from collections import Counter
from datetime import date
from itertools import pairwise
from pathlib import Path

import nhs_number
import orjson

from joinedup.synth import EconomySummary


def _rows(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))))


def _local_ids_in_feeds(out: Path) -> set[tuple[str, str]]:
    found: set[tuple[str, str]] = set()
    for path in (out / "gp" / "baseline").glob("Patient.ndjson"):
        found.update(("gp", orjson.loads(line)["id"]) for line in path.read_text().splitlines())
    for path in (out / "gp" / "daily").glob("*.ndjson"):
        for bundle in path.read_bytes().splitlines():
            for entry in orjson.loads(bundle)["entry"]:
                if entry["resource"]["resourceType"] == "Patient":
                    found.add(("gp", entry["resource"]["id"]))
    for path in (out / "hospital-pas").glob("*.hl7"):
        for raw in path.read_bytes().decode().split("\n")[:-1]:
            pid = next((s for s in raw.split("\r") if s.startswith("PID|")), "")
            fields = pid.split("|")
            if len(fields) > 3 and "^MR" in fields[3]:
                found.add(("hospital-pas", fields[3].split("^")[0]))
    for stem, column in (("apc", "LOPATID"), ("ecds", "LOCAL_PATIENT_ID"), ("op", "LOPATID")):
        for path in (out / "hospital-sus").glob(f"{stem}-*.csv"):
            found.update(("hospital-sus", r[column]) for r in _rows(path) if r.get(column))
    for path in (out / "community").glob("*.csv"):
        found.update(("community", r["client_id"]) for r in _rows(path) if r.get("client_id"))
    for path in (out / "social-care").glob("*.csv"):
        found.update(("social-care", r["client_id"]) for r in _rows(path) if r.get("client_id"))
    for path in (out / "telehealth").glob("*.jsonl"):
        for line in path.read_text().splitlines():
            if line.endswith("}"):
                found.add(("telehealth", orjson.loads(line)["device_patient_id"]))
    return found


def test_truth_covers_every_source_record(economy: EconomySummary) -> None:
    truth = {(r["source"], r["local_id"]) for r in _rows(economy.out / "truth" / "source_records.csv")}
    in_feeds = _local_ids_in_feeds(economy.out)
    assert in_feeds - truth == set()
    sources = Counter(source for source, _ in truth)
    assert sources["gp"] > 800
    assert {"hospital-pas", "hospital-sus", "community", "social-care", "telehealth"} <= set(sources)
    # Nothing in the truth that no feed shows (truncated records aside).
    assert len(truth - in_feeds) <= 0.01 * len(truth)


def test_persons_have_valid_unique_test_range_nhs_numbers(economy: EconomySummary) -> None:
    numbers = [r["nhs_number"] for r in _rows(economy.out / "truth" / "persons.csv")]
    assert len(numbers) == economy.persons_total
    assert len(set(numbers)) == len(numbers)
    assert all(nhs_number.is_valid(n) for n in numbers)
    assert all(n.startswith("999") and n not in ("9999999999", "9990000000") for n in numbers)
    assert all(len(set(n[3:])) > 1 for n in numbers)


def _exposure_years(persons: list[dict[str, str]], start: date, end: date) -> float:
    days = 0
    for p in persons:
        enters = max(start, date.fromisoformat(p["resident_from"]))
        leaves = min([end] + [date.fromisoformat(p[k]) for k in ("resident_to", "death_date") if p[k]])
        days += max(0, (leaves - enters).days)
    return days / 365.25


def test_rates_from_the_truth_match_the_documented_targets(economy: EconomySummary) -> None:
    persons = _rows(economy.out / "truth" / "persons.csv")
    years = _exposure_years(persons, economy.start_date, economy.end_date)
    kinds = Counter(r["kind"] for r in _rows(economy.out / "truth" / "events.csv"))
    per_1000 = {kind: 1000 * count / years for kind, count in kinds.items()}
    # Targets and tolerances of docs/synthetic-data.md ("Rates aimed at").
    assert abs(per_1000["emergency_admission"] - 100) <= 25
    assert abs(per_1000["ae_attendance"] - 350) <= 0.25 * 350
    assert abs(per_1000["elective_admission"] - 140) <= 0.30 * 140
    assert abs(per_1000["outpatient_appointment"] - 1500) <= 0.30 * 1500
    assert abs(per_1000["gp_consultation"] - 5000) <= 0.30 * 5000
    assert abs(per_1000["death"] - 9) <= 0.35 * 9 * 1.5  # few deaths in a small borough: wider
    opted_out = sum(p["opted_out_flag"] == "1" for p in persons) / len(persons)
    assert abs(opted_out - 0.03) <= 0.015


def test_the_summary_reports_the_same_rates(economy: EconomySummary) -> None:
    manifest = orjson.loads((economy.out / "manifest.json").read_bytes())
    produced = {r["measure"]: r["produced"] for r in manifest["rates"]}
    persons = _rows(economy.out / "truth" / "persons.csv")
    years = _exposure_years(persons, economy.start_date, economy.end_date)
    admissions = sum(r["kind"] == "emergency_admission" for r in _rows(economy.out / "truth" / "events.csv"))
    assert abs(produced["emergency_admissions"] - 1000 * admissions / years) < 0.01


def test_latent_risk_drives_emergency_admissions(economy: EconomySummary) -> None:
    first_year = {}
    for row in _rows(economy.out / "truth" / "latent_risk.csv"):
        if row["year_start"] == economy.start_date.isoformat():
            first_year[row["person_id"]] = float(row["p_emergency_admission_12m"])
    year_end = economy.start_date.replace(year=economy.start_date.year + 1).isoformat()
    admitted = Counter(
        r["person_id"]
        for r in _rows(economy.out / "truth" / "events.csv")
        if r["kind"] == "emergency_admission" and r["start_date"] < year_end
    )
    ranked = sorted(first_year, key=first_year.__getitem__, reverse=True)
    top, bottom = ranked[: len(ranked) // 10], ranked[len(ranked) // 2 :]
    top_rate = sum(admitted[p] > 0 for p in top) / len(top)
    bottom_rate = sum(admitted[p] > 0 for p in bottom) / len(bottom)
    expected_top = sum(first_year[p] for p in top) / len(top)
    assert top_rate > 4 * bottom_rate
    assert abs(top_rate - expected_top) < 0.12  # calibrated, within sampling noise


def test_every_hl7_spell_and_sus_row_is_a_true_event(economy: EconomySummary) -> None:
    kinds: dict[str, set[str]] = {}
    for row in _rows(economy.out / "truth" / "events.csv"):
        if row["source_record_id"]:
            kinds.setdefault(row["source_record_id"], set()).add(row["kind"])
    spells = 0
    for path in (economy.out / "hospital-sus").glob("apc-*.csv"):
        for row in _rows(path):
            if row.get("SUSSPELLID"):
                assert kinds[row["SUSSPELLID"]] & {"emergency_admission", "elective_admission"}
                spells += 1
    assert spells > 200
    visits = 0
    for path in sorted((economy.out / "hospital-pas").glob("adt-*.hl7"))[:6]:
        for raw in path.read_bytes().decode().split("\n")[:-1]:
            pv1 = next((s for s in raw.split("\r") if s.startswith("PV1|")), "")
            if len(pv1.split("|")) > 19:
                assert pv1.split("|")[19] in kinds
                visits += 1
    assert visits > 100


def test_spells_never_overlap_and_nothing_happens_after_death(economy: EconomySummary) -> None:
    persons = {r["person_id"]: r for r in _rows(economy.out / "truth" / "persons.csv")}
    spells: dict[str, list[tuple[str, str]]] = {}
    for row in _rows(economy.out / "truth" / "events.csv"):
        person = persons[row["person_id"]]
        if person["death_date"] and row["kind"] not in ("death", "condition_onset"):
            assert row["start_date"] <= person["death_date"], row["kind"]
        if row["kind"] in ("emergency_admission", "elective_admission"):
            spells.setdefault(row["person_id"], []).append((row["start_date"], row["end_date"]))
    for history in spells.values():
        for (_, previous_end), (start, _) in pairwise(history):
            assert start >= previous_end
    died_in_hospital = [p for p in persons.values() if p["death_in_hospital_flag"] == "1"]
    died = [p for p in persons.values() if p["death_date"]]
    assert 0.25 < len(died_in_hospital) / len(died) < 0.65  # ~45% of deaths in England are in hospital
