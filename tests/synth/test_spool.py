"""The spool is released output by output, so a big borough never needs twice its size on disk."""

from __future__ import annotations

from pathlib import Path

from joinedup.synth.writers.spool import (
    FaultRow,
    Spool,
    ordered_parts_of,
    read_direct,
    read_ordered,
    release_direct,
    release_ordered,
    write_output,
)


def test_an_output_written_from_the_spool_leaves_no_spool_files_behind(tmp_path: Path) -> None:
    root, out = tmp_path / ".spool", tmp_path / "borough"
    for worker in (0, 1):
        spool = Spool(root, worker)
        spool.add("hospital-pas/adt-2025-01.hl7", f"message from worker {worker}", sort_key=f"2025-01-0{worker + 1}")
        spool.add_direct("truth/persons.csv", f"person {worker}")
        spool.end_chunk(worker)
        spool.close()
    faults: list[FaultRow] = []
    parts = ordered_parts_of(root, "hospital-pas/adt-2025-01.hl7", workers=2)
    assert len(parts) == 2
    write_output(out, "hospital-pas/adt-2025-01.hl7", read_ordered(parts), fault_rows=faults)
    release_ordered(parts)
    write_output(out, "truth/persons.csv", read_direct(root, "truth/persons.csv"), fault_rows=faults)
    release_direct(root, "truth/persons.csv")

    assert (out / "hospital-pas/adt-2025-01.hl7").read_text().splitlines() == [
        "message from worker 0", "message from worker 1"]
    assert (out / "truth/persons.csv").read_text().splitlines() == ["person 0", "person 1"]
    assert [p for p in root.rglob("*") if p.is_file()] == []
