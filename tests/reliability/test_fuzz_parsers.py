"""Property-based fuzzing of every feed parser: any bytes end as a mapped message or a FeedError.

A FeedError carries the reason the unit is quarantined with; anything else escaping an adapter is a
bug (the pipeline would still quarantine it, but only as "unreadable", with no reason for a person
to act on). Each example also runs under a time limit: a hang is a finding too.
"""

from __future__ import annotations

import os

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from joinedup.feeds import FeedError, FeedUnit
from joinedup.feeds.csv_extracts.adapter import ExtractAdapter
from joinedup.feeds.csv_extracts.layouts import layout_named
from joinedup.feeds.fhir.adapter import FhirAdapter
from joinedup.feeds.hl7v2.adapter import Hl7v2Adapter
from joinedup.feeds.hl7v2.parse import split_messages
from joinedup.feeds.mapped import MappedMessage
from joinedup.feeds.transports.files import sniff_format

from .seeds import PAS_SEEDS, SUS_APC_CSV, fhir_seeds, hl7_seeds, within
from .strategies import junk, mutated, mutated_json

# scripts/reliability sets JOINEDUP_FUZZ_EXAMPLES for the long run.
EXAMPLES = int(os.environ.get("JOINEDUP_FUZZ_EXAMPLES", "60"))
FAST = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
LIMIT_SECONDS = 5


def _read_or_refuse(adapter: object, unit: FeedUnit) -> str:
    """``accepted`` or the quarantine reason code; fails the test on any other exception."""
    with within(LIMIT_SECONDS):
        try:
            message = adapter.read(unit)  # type: ignore[attr-defined]
        except FeedError as error:
            refusal = error
        else:
            refusal = None
    if refusal is not None:
        assert refusal.reason_code, "a refusal without a reason code"
        assert str(refusal), "a refusal without a reason"
        return refusal.reason_code
    assert isinstance(message, MappedMessage)
    assert message.message_id
    return "accepted"


def _file_units(adapter: object, data: bytes, name: str) -> list[tuple[str, bytes, object]]:
    from pathlib import Path

    with within(LIMIT_SECONDS):
        return list(adapter.units(data, Path(name)))  # type: ignore[attr-defined]


@FAST
@given(st.one_of(mutated(hl7_seeds() + PAS_SEEDS), junk()))
def test_hl7v2_files_split_and_every_message_reads_or_is_refused_with_a_reason(data: bytes) -> None:
    adapter = Hl7v2Adapter()
    with within(LIMIT_SECONDS):
        split = split_messages(data)
    assert split.envelope_error is not None or all(raw for _, raw in split.messages)
    for position, raw, preparsed in _file_units(adapter, data, "adt.hl7"):
        _read_or_refuse(adapter, FeedUnit("hospital-pas", "hl7v2", raw, position, preparsed=preparsed))


@FAST
@given(st.one_of(mutated(fhir_seeds()), junk()))
def test_fhir_json_bytes_read_or_are_refused_with_a_reason(data: bytes) -> None:
    _read_or_refuse(FhirAdapter(), FeedUnit("gp", "fhir", data, "1"))


@FAST
@given(mutated_json(tuple(orjson.loads(seed) for seed in fhir_seeds())))
def test_fhir_resources_with_wrong_shaped_values_map_or_are_refused(resource: dict[str, object]) -> None:
    raw = orjson.dumps(resource)
    adapter = FhirAdapter()
    _read_or_refuse(adapter, FeedUnit("gp", "fhir", raw, "1"))
    # The same resource as one NDJSON line among others: one unit per line, each read on its own.
    lines = b"\n".join([raw, b"", raw[: len(raw) // 2], raw])
    units = _file_units(adapter, lines, "Patient.ndjson")
    assert [position for position, _, _ in units] == ["1", "3", "4"]
    for position, unit_raw, preparsed in units:
        _read_or_refuse(adapter, FeedUnit("gp", "fhir", unit_raw, position, preparsed=preparsed))


@FAST
@given(st.one_of(mutated((SUS_APC_CSV,)), junk()))
def test_csv_extract_rows_map_or_are_refused_with_a_reason(data: bytes) -> None:
    layout = layout_named("sus-apc")
    assert layout is not None
    adapter = ExtractAdapter(layout)
    for position, raw, preparsed in _file_units(adapter, data, "apc-2024-01.csv"):
        _read_or_refuse(adapter, FeedUnit("hospital-sus", adapter.format, raw, position, preparsed=preparsed))


def test_seeds_themselves_are_mostly_accepted() -> None:
    # Guards the fuzzers' starting point: if the seeds were all refused, mutations would prove little.
    hl7 = Hl7v2Adapter()
    outcomes = [
        _read_or_refuse(hl7, FeedUnit("hospital-pas", "hl7v2", raw, position, preparsed=preparsed))
        for seed in hl7_seeds()
        for position, raw, preparsed in _file_units(hl7, seed, "x.hl7")
    ]
    # 60 fixture files: 25 ADT/ORU messages map, the other types (ORM, SIU, OML...) are refused by
    # design, so mutations start from both sides of the line.
    assert (outcomes.count("accepted"), len(outcomes)) == (25, 60)
    layout = layout_named("sus-apc")
    assert layout is not None
    csv_adapter = ExtractAdapter(layout)
    rows = _file_units(csv_adapter, SUS_APC_CSV, "apc.csv")
    assert [_read_or_refuse(csv_adapter, FeedUnit("hospital-sus", "csv", r, p, preparsed=x)) for p, r, x in rows] \
        == ["accepted", "accepted"]


def test_xml_entity_expansion_is_refused_not_expanded() -> None:
    # "Billion laughs": expat refuses the amplification, so the unit is quarantined, quickly.
    bomb = (b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
            + b"".join(f'<!ENTITY lol{n} "{("&lol" + str(n - 1) + ";") * 10 if n > 1 else "&lol;" * 10}">'.encode()
                       for n in range(1, 10))
            + b']><Patient xmlns="http://hl7.org/fhir"><id value="&lol9;"/></Patient>')
    assert sniff_format(__import__("pathlib").Path("p.xml"), bomb[:4096]) == "fhir"
    assert _read_or_refuse(FhirAdapter(), FeedUnit("gp", "fhir", bomb, "1")) != "accepted"
