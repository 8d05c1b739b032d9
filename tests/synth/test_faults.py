"""Faults come at the requested rate, and truth/faults.csv points at records that really show them."""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from pathlib import Path

from joinedup.synth import EconomySummary, generate_economy
from joinedup.synth.nhs_numbers import is_valid

FEED_FAMILIES = {
    "gp/daily/": "gp daily",
    "gp/baseline/": "gp baseline",
    "hospital-pas/": "pas",
    "hospital-sus/": "sus",
    "community/": "local",
    "social-care/": "local",
    "telehealth/": "telehealth",
}


def _family(path: str) -> str | None:
    return next((name for prefix, name in FEED_FAMILIES.items() if path.startswith(prefix)), None)


def _rates(economy: EconomySummary) -> tuple[Counter[str], Counter[str]]:
    records: Counter[str] = Counter()
    injected: Counter[str] = Counter()
    for written in economy.files:
        family = _family(written.path)
        if family:
            records[family] += written.record_count
    with open(economy.out / "truth" / "faults.csv", encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            family = _family(row["file"])
            if row["origin"] == "injected" and family:
                injected[family] += 1
                if row["fault_kind"] == "duplicate":
                    records[family] -= 1  # the copy is not an original record
    return records, injected


def test_injected_fault_rate_matches_the_request(economy: EconomySummary) -> None:
    records, injected = _rates(economy)
    overall = sum(injected.values()) / sum(records.values())
    assert abs(overall - 0.02) < 0.02 * 0.15, overall
    for family, count in records.items():
        if count >= 3000:
            rate = injected[family] / count
            assert abs(rate - 0.02) < 0.02 * 0.35, (family, rate)


def test_no_faults_requested_means_none_injected(tmp_path: Path) -> None:
    summary = generate_economy(tmp_path, people=150, years=1, seed=4, faults=0.0)
    assert summary.injected_faults == 0
    rows = list(csv.DictReader(io.StringIO((tmp_path / "truth" / "faults.csv").read_text(encoding="utf-8"))))
    assert rows
    assert {r["origin"] for r in rows} == {"source_quality"}


def _csv_rows(path: Path) -> list[list[str]]:
    return list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"))))[1:]


def test_sus_faults_are_where_the_truth_says(economy: EconomySummary, faults_by_file: dict) -> None:
    seen: Counter[str] = Counter()
    for file, positions in faults_by_file.items():
        if not file.startswith("hospital-sus/apc-"):
            continue
        rows = _csv_rows(economy.out / file)
        header = next(csv.reader(io.StringIO((economy.out / file).read_text(encoding="utf-8"))))
        for position, faults in positions.items():
            row = rows[position - 1]
            for fault in faults:
                kind = fault["fault_kind"]
                seen[kind] += 1
                if kind == "truncated":
                    assert len(row) < len(header)
                    continue
                if len(row) < len(header):
                    continue  # truncated as well
                values = dict(zip(header, row, strict=True))
                assert values["SUSSPELLID"] == fault["record_id"]
                if kind == "nhs_number_invalid":
                    assert not is_valid(values["NEWNHSNO"])
                elif kind in ("nhs_number_missing",):
                    assert values["NEWNHSNO"] == ""
                elif kind == "nhs_number_placeholder":
                    assert values["NEWNHSNO"] in ("9999999999", "1111111111")
                elif kind == "unknown_code":
                    assert values["DIAG_01"] == "X999"
                elif kind == "impossible_value":
                    assert int(values["SPELDUR"]) < 0
                elif kind == "duplicate":
                    assert row == rows[position - 2]
                elif kind == "malformed":
                    assert "/" in values["ADMIDATE"]
    assert sum(seen.values()) > 20


def test_telehealth_faults_are_where_the_truth_says(economy: EconomySummary, faults_by_file: dict) -> None:
    checked = 0
    for file, positions in faults_by_file.items():
        if not file.startswith("telehealth/"):
            continue
        lines = (economy.out / file).read_text(encoding="utf-8").splitlines()
        for position, faults in positions.items():
            kinds = {f["fault_kind"] for f in faults}
            line = lines[position - 1]
            if "truncated" in kinds:
                try:
                    json.loads(line)
                except json.JSONDecodeError:
                    checked += 1
                    continue
                raise AssertionError(f"{file}:{position} is recorded as truncated but parses")
            reading = json.loads(line)
            assert reading["reading_id"] == faults[0]["record_id"]
            if "malformed" in kinds:
                assert not isinstance(reading["value"], int | float)
            if "nhs_number_missing" in kinds:
                assert reading["nhs_number"] is None
            checked += 1
    assert checked > 0


def test_local_systems_lack_nhs_numbers_at_their_usual_rate(economy: EconomySummary) -> None:
    missing: Counter[str] = Counter()
    total: Counter[str] = Counter()
    with open(economy.out / "truth" / "faults.csv", encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            if row["origin"] == "source_quality" and row["fault_kind"] == "nhs_number_missing":
                missing[row["file"].split("/")[0]] += 1
    for written in economy.files:
        total[written.path.split("/")[0]] += written.record_count
    community = missing["community"] / total["community"]
    social = missing["social-care"] / total["social-care"]
    assert 0.03 < community < 0.16
    assert 0.15 < social < 0.40
    assert social > community


def test_identity_faults_in_local_extracts_differ_from_the_truth_as_recorded(
    economy: EconomySummary, faults_by_file: dict
) -> None:
    persons = {r["person_id"]: r for r in csv.DictReader(io.StringIO(
        (economy.out / "truth" / "persons.csv").read_text(encoding="utf-8")))}
    owner = {(r["source"], r["local_id"]): r["true_person_id"] for r in csv.DictReader(io.StringIO(
        (economy.out / "truth" / "source_records.csv").read_text(encoding="utf-8")))}
    checked: Counter[str] = Counter()
    for file, positions in faults_by_file.items():
        if not file.startswith("community/"):
            continue
        rows = list(csv.DictReader(io.StringIO((economy.out / file).read_text(encoding="utf-8"))))
        for position, faults in positions.items():
            row = rows[position - 1]
            if row.get("client_id") is None or None in row.values():
                continue  # truncated
            person = persons[owner[("community", row["client_id"])]]
            for fault in faults:
                kind = fault["fault_kind"]
                if kind == "name_typo":
                    assert (row["given_name"], row["family_name"]) != (person["given_name"], person["family_name"])
                elif kind == "dob_day_month_swapped":
                    true = person["birth_date"]
                    assert row["birth_date"] == f"{true[:4]}-{true[8:10]}-{true[5:7]}"
                elif kind == "nhs_number_wrong":
                    assert row["nhs_number"] != person["nhs_number"]
                    assert sorted(row["nhs_number"]) == sorted(person["nhs_number"])
                else:
                    continue
                checked[kind] += 1
    assert checked["name_typo"] > 0
    assert checked["nhs_number_wrong"] > 0
