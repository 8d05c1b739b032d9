"""Ingest throughput: FHIR NDJSON/Bundles and HL7 v2 files into a fresh SQLite store, with raw parse rates.

Run: ``.venv/bin/python benchmarks/bench_ingest.py [--people 5000] [--profile]``. Figures go in
``docs/benchmarks.md``. The ratio column compares the bulk path with the rate of the raw parse of the
same bytes (``orjson.loads`` of each line for FHIR; splitting into messages and ``hl7.parse`` for HL7),
to show how close to the parsing limit the whole pipeline (map, dedupe, upsert, link) runs.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import random
import tempfile
import time
from pathlib import Path

import hl7
import orjson

from joinedup.feeds import ingest_paths
from joinedup.feeds.hl7v2.parse import Hl7Message, split_messages
from joinedup.store import make_engine, make_session_factory, upgrade_store


def adt(event: str, control_id: str, sent: str, *, mrn: str, visit: str, admit: str, nhs: str,
        discharge: str = "", ward: str = "W1") -> str:
    """One HL7 v2.4 ADT message shaped like the synthetic PAS's."""
    return "\r".join([
        f"MSH|^~\\&|PAS|RZZ|JOINEDUP|ZCC01|{sent}||ADT^{event}^ADT_A01|{control_id}|P|2.4",
        f"EVN|{event}|{sent}",
        f"PID|1||{mrn}^^^RZZ^MR~{nhs}^^^NHS^NH||FAMILY^GIVEN||19400115|F|||1 HIGH ST^^SYNTHFORD^^ZZ1 1ZZ",
        f"PV1|1|I|{ward}^^^RZZ|E||^^^RZZ|C1234567|||300|||||||||{visit}" + "|" * 17 + "19||||||||"
        + f"{admit}|{discharge}",
    ]) + "\r"


def nhs_number(n: int) -> str:
    """A valid 999-range NHS number for person ``n`` (skips the numbers with no check digit)."""
    while True:
        stem = f"999{n:06d}"
        total = sum(int(d) * w for d, w in zip(stem, range(10, 1, -1), strict=True))
        digit = 11 - total % 11
        if digit != 10:
            return stem + str(0 if digit == 11 else digit)
        n += 500_000


def write_fhir(folder: Path, people: int) -> int:
    """GP baseline NDJSON: a Patient, 2 Conditions and 4 Observations per person."""
    rng = random.Random(7)
    baseline = folder / "gp" / "baseline"
    baseline.mkdir(parents=True)
    resources = 0
    with (baseline / "Patient.ndjson").open("wb") as patients, \
            (baseline / "Condition.ndjson").open("wb") as conditions, \
            (baseline / "Observation.ndjson").open("wb") as observations:
        for n in range(people):
            pid = f"p{n}"
            patients.write(orjson.dumps({
                "resourceType": "Patient", "id": pid,
                "identifier": [{"system": "https://fhir.nhs.uk/Id/nhs-number", "value": nhs_number(n)}],
                "name": [{"family": f"Family{n % 997}", "given": [f"Given{n % 101}"]}], "gender": "female",
                "birthDate": f"19{40 + n % 60}-0{1 + n % 9}-1{n % 10}",
                "address": [{"line": [f"{n} High St"], "postalCode": f"ZZ{n % 9} {n % 10}ZZ"}],
                "generalPractitioner": [{"identifier": {"system": "https://fhir.nhs.uk/Id/ods-organization-code",
                                                         "value": f"Z99{n % 34:03d}"}}],
            }) + b"\n")
            for k, code in enumerate(("38341003", "73211009")):
                conditions.write(orjson.dumps({
                    "resourceType": "Condition", "id": f"c{n}-{k}", "subject": {"reference": f"Patient/{pid}"},
                    "code": {"coding": [{"system": "http://snomed.info/sct", "code": code}]},
                    "category": [{"coding": [{"code": "problem-list-item"}]}],
                    "clinicalStatus": {"coding": [{"code": "active"}]}, "onsetDateTime": "2019-05-01",
                }) + b"\n")
            for k, (code, unit) in enumerate((("29463-7", "kg"), ("59261-8", "mmol/mol"), ("8867-4", "/min"),
                                               ("39156-5", "kg/m2"))):
                observations.write(orjson.dumps({
                    "resourceType": "Observation", "id": f"o{n}-{k}", "status": "final",
                    "subject": {"reference": f"Patient/{pid}"},
                    "category": [{"coding": [{"code": "vital-signs"}]}],
                    "code": {"coding": [{"system": "http://loinc.org", "code": code}]},
                    "valueQuantity": {"value": round(rng.uniform(40, 90), 1), "unit": unit},
                    "effectiveDateTime": "2021-03-01T10:00:00Z",
                }) + b"\n")
            resources += 7
    return resources


def write_hl7(folder: Path, people: int) -> int:
    """A PAS ADT stream: A01, A02, A03 per person (one spell each)."""
    pas = folder / "hospital-pas"
    pas.mkdir(parents=True)
    messages = []
    for n in range(people):
        visit, mrn = f"SP{n:07d}", f"M{n:07d}"
        admit = f"202104{1 + n % 28:02d}0830{n % 60:02d}"
        leave = f"202105{1 + n % 28:02d}1600{n % 60:02d}"
        messages += [
            adt("A01", f"A{n}", admit, mrn=mrn, visit=visit, admit=admit, nhs=nhs_number(n)),
            adt("A02", f"T{n}", admit[:8] + "1200" + admit[12:], mrn=mrn, visit=visit, admit=admit, ward="W2",
                nhs=nhs_number(n)),
            adt("A03", f"D{n}", leave, mrn=mrn, visit=visit, admit=admit, discharge=leave, nhs=nhs_number(n)),
        ]
    (pas / "adt-2021-04.hl7").write_text("\n".join(messages))
    return len(messages)


def raw_fhir_rate(folder: Path) -> float:
    lines = [line for path in sorted(folder.rglob("*.ndjson")) for line in path.read_bytes().split(b"\n") if line]
    start = time.perf_counter()
    for line in lines:
        orjson.loads(line)
    return len(lines) / (time.perf_counter() - start)


def raw_hl7_rates(folder: Path) -> tuple[float, float]:
    data = b"".join(path.read_bytes() for path in sorted(folder.rglob("*.hl7")))
    start = time.perf_counter()
    messages = split_messages(data).messages
    for _, raw in messages:
        Hl7Message(raw)
    ours = len(messages) / (time.perf_counter() - start)
    sample = messages[:2000]
    start = time.perf_counter()
    for _, raw in sample:
        hl7.parse(raw.decode())
    library = len(sample) / (time.perf_counter() - start)
    return ours, library


def _cpu() -> float:
    """CPU seconds of this process and of its finished child processes (the parse-and-map workers)."""
    times = os.times()
    return times.user + times.system + times.children_user + times.children_system


def timed_ingest(folder: Path, database: Path, *, link: bool, profile: bool, workers: int = 0,
                 ) -> tuple[float, int, float]:
    engine = make_engine(f"sqlite:///{database}")
    upgrade_store(engine)
    sessions = make_session_factory(engine)
    profiler = cProfile.Profile() if profile else None
    start, cpu = time.perf_counter(), _cpu()
    with sessions() as session:
        if profiler:
            profiler.enable()
        summary = ingest_paths(session, [folder], batch_size=2000, link=link, workers=workers)
        if profiler:
            profiler.disable()
    # The workers have been joined, so their CPU time is in the children's figures.
    elapsed, cpu = time.perf_counter() - start, _cpu() - cpu
    engine.dispose()
    if profiler:
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)
    assert summary.read == summary.accepted + summary.duplicates + summary.quarantined_count
    return elapsed, summary.read, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=5000)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--no-link", action="store_true", help="leave identity linking out (feed path alone)")
    parser.add_argument("--synth", type=int, default=0, help="also ingest a synthetic borough of this many people")
    parser.add_argument("--years", type=int, default=1)
    parser.add_argument("--mllp", type=int, default=0, help="also send this many messages over MLLP")
    parser.add_argument("--mllp-clients", type=int, default=8, help="concurrent MLLP connections")
    parser.add_argument("--workers", type=int, default=0,
                        help="parse-and-map worker processes (default 0: everything in one process)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        fhir_folder, hl7_folder = root / "fhir" / "borough", root / "hl7" / "borough"
        for folder in (fhir_folder, hl7_folder):
            folder.mkdir(parents=True)
            (folder / "manifest.json").write_text("{}")
        resources = write_fhir(fhir_folder, args.people)
        messages = write_hl7(hl7_folder, args.people)
        fhir_raw = raw_fhir_rate(fhir_folder)
        hl7_ours, hl7_library = raw_hl7_rates(hl7_folder)
        fhir_time, fhir_read, fhir_cpu = timed_ingest(fhir_folder, root / "fhir.sqlite", link=not args.no_link,
                                                      profile=args.profile, workers=args.workers)
        hl7_time, hl7_read, hl7_cpu = timed_ingest(hl7_folder, root / "hl7.sqlite", link=not args.no_link,
                                                   profile=args.profile, workers=args.workers)
    print(f"people {args.people}; linking {'off' if args.no_link else 'on'}; SQLite file; "
          f"{args.workers} parse-and-map worker process(es); CPU = all processes; "
          f"load average {os.getloadavg()[0]:.1f}")
    print("| path | units | wall s | units/s (wall) | units/s per CPU-second | raw parse units/s | ratio (CPU) |")
    print("|---|---|---|---|---|---|---|")
    print(f"| FHIR NDJSON (resources) | {resources} | {fhir_time:.1f} | {resources / fhir_time:,.0f} "
          f"| {resources / fhir_cpu:,.0f} | {fhir_raw:,.0f} (orjson.loads) | {resources / fhir_cpu / fhir_raw:.1%} |")
    print(f"| HL7 v2 ADT file (messages) | {messages} | {hl7_time:.1f} | {messages / hl7_time:,.0f} "
          f"| {messages / hl7_cpu:,.0f} | {hl7_ours:,.0f} (split + fast reader); {hl7_library:,.0f} (hl7.parse) "
          f"| {messages / hl7_cpu / hl7_ours:.1%} |")
    assert fhir_read == resources
    assert hl7_read == messages
    figures: dict[str, object] = {
        "people": args.people,
        "workers": args.workers,
        "fhir_resources_per_s": round(resources / fhir_time),
        "fhir_resources_per_cpu_s": round(resources / fhir_cpu),
        "hl7_messages_per_s": round(messages / hl7_time),
        "hl7_messages_per_cpu_s": round(messages / hl7_cpu),
    }
    met = {
        # Per CPU-second: what one free core gives (the build machine is shared, so wall rates understate it).
        "fhir_20000_per_s": resources / fhir_cpu >= 20_000,
        "hl7_10000_per_s_per_core": messages / hl7_cpu >= 10_000,
    }
    if args.mllp:
        one = bench_mllp(args.mllp, 1)
        many = bench_mllp(args.mllp, args.mllp_clients)
        figures["mllp_1_connection_per_s"] = one["per_s"]
        figures[f"mllp_{args.mllp_clients}_connections_per_s"] = many["per_s"]
        figures[f"mllp_{args.mllp_clients}_connections_per_cpu_s"] = many["per_cpu_s"]
        met["mllp_1000_per_s"] = many["per_s"] >= 1_000
    if args.synth:
        synth = bench_synth(args.synth, args.years, link=not args.no_link, workers=args.workers)
        figures.update({f"synth_{name}": value for name, value in synth.items()})
        met["borough_under_15_min"] = float(synth["borough_cpu_min"]) < 15
    figures["load_average_1min"] = round(os.getloadavg()[0], 1)
    figures["met_by_target"] = met
    figures["met"] = all(met.values())
    print(json.dumps(figures))


def bench_mllp(count: int, clients: int) -> dict[str, float]:
    """Messages a second over MLLP on loopback, each ACKed only after its commit (group commit)."""
    import asyncio
    import threading

    from hl7.client import MLLPClient

    from joinedup.feeds import serve_mllp

    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{Path(tmp) / 'mllp.sqlite'}")
        upgrade_store(engine)
        sessions = make_session_factory(engine)
        ready = threading.Event()
        bound: list[int] = []
        loop = asyncio.new_event_loop()
        stop = asyncio.Event()

        def run() -> None:
            asyncio.set_event_loop(loop)
            loop.run_until_complete(serve_mllp(sessions, port=0, on_ready=lambda p: (bound.append(p), ready.set()),
                                               stop=stop))

        thread = threading.Thread(target=run, daemon=True)
        thread.start()
        ready.wait(10)
        messages = [adt("A01", f"L{n}", "20210401083000", mrn=f"M{n}", visit=f"S{n}", admit="20210401083000",
                        nhs=nhs_number(n)) for n in range(count)]

        def send(part: list[str]) -> None:
            with MLLPClient("127.0.0.1", bound[0]) as client:
                for message in part:
                    assert b"MSA|AA|" in client.send_message(message)

        senders = [threading.Thread(target=send, args=(messages[k::clients],)) for k in range(clients)]
        start, cpu = time.perf_counter(), time.process_time()
        for sender in senders:
            sender.start()
        for sender in senders:
            sender.join()
        # The senders run in this process too, so the CPU time counts both ends.
        elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
        loop.call_soon_threadsafe(stop.set)
        thread.join(10)
        engine.dispose()
    print(f"| MLLP, {clients} connection(s), ACK after commit (messages) | {count} | {elapsed:.1f} "
          f"| {count / elapsed:,.0f} | {count / cpu:,.0f} (senders included) | | |")
    return {"per_s": round(count / elapsed), "per_cpu_s": round(count / cpu)}


def bench_synth(people: int, years: int, *, link: bool, workers: int = 0) -> dict[str, float]:
    """The whole synthetic borough (`joinedup synth` output) into a fresh SQLite store."""
    from joinedup.synth import generate_economy

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "borough"
        start = time.perf_counter()
        generate_economy(root, people=people, years=years, seed=42, faults=0.02)
        generated = time.perf_counter() - start
        elapsed, read, cpu = timed_ingest(root, Path(tmp) / "store.sqlite", link=link, profile=False,
                                          workers=workers)
    scale = 215_000 * 5 / (people * years)
    print(f"| synthetic borough, {people:,} people x {years} years (generated in {generated:.0f} s) | {read:,} units "
          f"| {elapsed:.1f} | {read / elapsed:,.0f} | {read / cpu:,.0f} | 215,000 x 5 years, linear: "
          f"{elapsed * scale / 60:.0f} min wall, {cpu * scale / 60:.0f} CPU-min | |")
    return {"units": read, "units_per_s": round(read / elapsed), "units_per_cpu_s": round(read / cpu),
            "borough_cpu_min": round(cpu * scale / 60, 1)}


if __name__ == "__main__":
    main()
