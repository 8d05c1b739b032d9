"""The PAS feed is HL7 v2.4 that python-hl7 and hl7apy parse, and its visit numbers and MRNs are
the ones the SUS extracts carry."""

from __future__ import annotations

import csv
import io

import hl7
from hl7apy.parser import parse_message

from joinedup.synth import EconomySummary


def _messages(economy: EconomySummary) -> list[tuple[str, int, str]]:
    found = []
    for path in sorted((economy.out / "hospital-pas").glob("adt-*.hl7")):
        text = path.read_bytes().decode("utf-8")
        for position, raw in enumerate(text.split("\n")[:-1], 1):
            found.append((f"hospital-pas/{path.name}", position, raw))
    return found


def test_every_unfaulted_message_parses_with_python_hl7(economy: EconomySummary, faults_by_file: dict) -> None:
    messages = _messages(economy)
    assert len(messages) > 1000
    events = set()
    for file, position, raw in messages:
        if position in faults_by_file.get(file, {}):
            continue
        message = hl7.parse(raw)
        assert str(message.segment("MSH")[12]) == "2.4"
        events.add(str(message.segment("MSH")[9][0][1]))
        assert raw.endswith("\r")
        assert "\n" not in raw
    assert {"A01", "A02", "A03", "A04", "A40"} <= events


def test_messages_of_every_event_parse_with_hl7apy(economy: EconomySummary, faults_by_file: dict) -> None:
    per_event: dict[str, int] = {}
    for file, position, raw in _messages(economy):
        if position in faults_by_file.get(file, {}):
            continue
        event = raw.split("|", 9)[8]
        if per_event.get(event, 0) >= 10:
            continue
        message = parse_message(raw, find_groups=False)
        assert message.msh.msh_12.to_er7() == "2.4"
        assert message.msh.msh_9.to_er7() == event
        per_event[event] = per_event.get(event, 0) + 1
    assert {"ADT^A01^ADT_A01", "ADT^A03^ADT_A03", "ADT^A04^ADT_A01", "ADT^A40^ADT_A39"} <= set(per_event)


def test_control_ids_are_unique_apart_from_recorded_duplicates(economy: EconomySummary, faults_by_file: dict) -> None:
    seen: dict[str, int] = {}
    duplicates = 0
    for file, position, raw in _messages(economy):
        control = raw.split("\r", 1)[0].split("|")[9]
        if control in seen:
            kinds = {r["fault_kind"] for r in faults_by_file[file].get(position, [])}
            assert "duplicate" in kinds, f"{file}:{position} repeats a control id without a recorded duplicate"
            duplicates += 1
        seen[control] = position
    assert duplicates > 0


def test_admission_visit_numbers_match_the_apc_spells_and_mrns(economy: EconomySummary, faults_by_file: dict) -> None:
    admitted: dict[str, str] = {}
    for file, position, raw in _messages(economy):
        if position in faults_by_file.get(file, {}):
            continue
        message = hl7.parse(raw)
        if str(message.segment("MSH")[9][0][1]) != "A01":
            continue
        pid3 = message.segment("PID")[3]
        mrn = str(pid3[0][0])
        assert str(pid3[0][4]) == "MR"
        if len(pid3) > 1:
            assert str(pid3[1][4]) == "NH"
        admitted[str(message.segment("PV1")[19])] = mrn
    spells = {}
    for path in sorted((economy.out / "hospital-sus").glob("apc-*.csv")):
        for row in csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))):
            if row.get("SUSSPELLID") and row.get("LOPATID"):
                spells[row["SUSSPELLID"]] = row["LOPATID"]
    common = set(admitted) & set(spells)
    assert len(common) > 0.9 * len(admitted)
    assert all(admitted[s] == spells[s] for s in common)


def test_merges_retire_a_duplicate_mrn_of_the_same_person(economy: EconomySummary) -> None:
    truth = {}
    with open(economy.out / "truth" / "source_records.csv", encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            if row["source"] == "hospital-pas":
                truth[row["local_id"]] = row["true_person_id"]
    merges = 0
    for _, _, raw in _messages(economy):
        if "ADT^A40" not in raw:
            continue
        message = hl7.parse(raw)
        surviving = str(message.segment("PID")[3][0][0])
        retired = str(message.segment("MRG")[1][0][0])
        assert surviving != retired
        assert truth[surviving] == truth[retired]
        merges += 1
    assert merges > 0


def test_out_of_order_messages_arrive_before_what_happened_first(
    economy: EconomySummary, faults_by_file: dict
) -> None:
    by_file: dict[str, list[str]] = {}
    for file, _, raw in _messages(economy):
        by_file.setdefault(file, []).append(raw)
    checked = 0
    for file, positions in faults_by_file.items():
        if not file.startswith("hospital-pas/"):
            continue
        for position, faults in positions.items():
            if any(f["fault_kind"] == "out_of_order" for f in faults) and position < len(by_file[file]):
                sent_at = by_file[file][position - 1].split("|", 7)[6]
                following = by_file[file][position].split("|", 7)[6]
                assert sent_at >= following
                checked += 1
    assert checked > 0
