"""Benchmark ``joinedup synth``: people per second and peak memory.

Run by hand (not in CI):

    python benchmarks/bench_synth.py --people 20000            # the demo's size
    python benchmarks/bench_synth.py --people 215000 --workers 2

Prints wall time, CPU time, persons per second (wall and CPU), the peak resident memory of the main
process and of the largest worker, and the output size.
"""

from __future__ import annotations

import argparse
import resource
import shutil
import tempfile
import time
from pathlib import Path

from joinedup.synth import generate_economy


def _folder_size(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--people", type=int, default=20_000)
    parser.add_argument("--years", type=int, default=5)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--faults", type=float, default=0.02)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--out", type=Path, default=None, help="keep the output here (default: a temp dir, removed)")
    args = parser.parse_args()
    out = args.out or Path(tempfile.mkdtemp(prefix="bench-synth-")) / "borough"
    started = time.perf_counter()
    summary = generate_economy(
        out, people=args.people, years=args.years, seed=args.seed, faults=args.faults, workers=args.workers
    )
    wall = time.perf_counter() - started
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime
    size = _folder_size(out)
    print(f"people (residents)     {args.people:,}  years {args.years}  workers {args.workers}")
    print(f"persons drawn          {summary.persons_total:,}")
    print(f"records written        {summary.record_count:,} in {len(summary.files):,} files ({size / 1e9:.2f} GB)")
    print(f"wall time              {wall:,.1f} s  ({summary.persons_total / wall:,.0f} persons/s)")
    print(f"cpu time               {cpu:,.1f} s  ({summary.persons_total / cpu:,.0f} persons per cpu-second)")
    print(f"peak RSS main          {own.ru_maxrss / 1024:,.0f} MB")
    if args.workers > 1:
        print(f"peak RSS worker        {children.ru_maxrss / 1024:,.0f} MB")
    if args.out is None:
        shutil.rmtree(out.parent, ignore_errors=True)


if __name__ == "__main__":
    main()
