"""Run every benchmark at one scale and write the results table to docs/benchmarks.md.

Usage: .venv/bin/python benchmarks/suite.py --scale ci|demo|borough [--out docs/benchmarks.md] [--only NAME]

Each benchmark is its own script (``bench_*.py``), run here as a subprocess so that one's memory
and threads do not colour the next. A script's figures are the JSON object it prints last; the
table records the machine, the date, the scale, the figures and whether each target was met.
``ci`` is a smoke scale (seconds, no targets judged); ``borough`` is issue 12's full scale, run by hand.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS_START = "<!-- results:start -->"
RESULTS_END = "<!-- results:end -->"


@dataclass(frozen=True)
class Benchmark:
    """One benchmark script and its arguments at each scale."""

    name: str
    script: str
    scales: dict[str, list[str]]
    target: str


BENCHMARKS = (
    Benchmark("synthetic generation", "bench_synth.py",
              {"ci": ["--people", "300", "--years", "3"], "demo": ["--people", "20000", "--workers", "2"],
               "borough": ["--people", "215000", "--workers", "2"]},
              "215,000 people × 5 years < 10 min, < 4 GB"),
    Benchmark("bulk ingest and MLLP", "bench_ingest.py",
              {"ci": ["--people", "300", "--mllp", "200"], "demo": ["--people", "5000", "--mllp", "5000"],
               "borough": ["--people", "20000", "--synth", "215000", "--years", "5", "--mllp", "20000"]},
              "FHIR ≥ 20,000 resources/s; HL7 ≥ 10,000 msg/s per core; MLLP ≥ 1,000 msg/s with ACK after commit"),
    Benchmark("linkage (batch and incremental)", "bench_linkage.py",
              {"ci": ["--records", "3000", "--batch", "300"], "demo": ["--records", "100000", "--batch", "10000"],
               "borough": ["--records", "1000000", "--batch", "10000"]},
              "1,000,000 records < 5 min; 10,000 new vs 1,000,000 < 30 s"),
    Benchmark("warehouse build (full and incremental)", "bench_warehouse.py",
              {"ci": ["--people", "500", "--years", "2"], "demo": ["--people", "20000", "--years", "5"],
               "borough": ["--people", "215000", "--years", "5"]},
              "full build of 215,000 × 5 years < 2 min; incremental < 20 s"),
    Benchmark("risk training and scoring", "bench_risk.py",
              {"ci": ["--people", "2000"], "demo": ["--people", "20000"], "borough": ["--people", "215000"]},
              "score 215,000 < 60 s; train < 5 min"),
    Benchmark("web pages under load", "bench_web_load.py",
              {"ci": ["--people", "300", "--seconds", "5"], "demo": ["--people", "20000"],
               "borough": ["--people", "215000"]},
              "record page p95 < 150 ms, board p95 < 300 ms, 20 concurrent users"),
    Benchmark("mixed traffic held at a rate", "bench_mixed_load.py",
              {"ci": ["--people", "300", "--years", "1", "--caseload", "20", "--duration", "10"],
               "demo": ["--people", "20000", "--rate", "6", "--mllp-rate", "1.5", "--duration", "600"],
               "borough": ["--people", "215000", "--rate", "6", "--mllp-rate", "1.5", "--duration", "600"]},
              "10 min at the stated rate: no errors, no MLLP message lost, RSS flat (±10 %), p95 within budgets"),
    Benchmark("workforce visit planning", "bench_workforce.py",
              {"ci": ["--interventions", "40", "--staff", "5"], "demo": [], "borough": []},
              "300 interventions, 25 staff < 30 s"),
)


def machine() -> str:
    """The machine, as the results table names it."""
    cpus = os.cpu_count() or 0
    memory = ""
    meminfo = Path("/proc/meminfo")
    if meminfo.exists():
        kib = int(meminfo.read_text().split()[1])
        memory = f", {kib / 1024 / 1024:.0f} GiB"
    system = f"{platform.system()} {platform.release()}"
    return f"{platform.machine()}, {cpus} cores{memory}, {system}, Python {platform.python_version()}"


def last_json(text: str) -> dict[str, object] | None:
    """The last JSON object a script printed (whole lines or a trailing block)."""
    for start in [i for i, ch in enumerate(text) if ch == "{"][::-1]:
        try:
            value = json.loads(text[start:])
        except json.JSONDecodeError:
            continue
        if isinstance(value, dict):
            return value
    return None


def run_benchmark(benchmark: Benchmark, scale: str) -> dict[str, object]:
    """Run one benchmark script; its figures, wall time and exit code."""
    command = [sys.executable, str(HERE / benchmark.script), *benchmark.scales[scale]]
    started = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, check=False,
                            env={**os.environ, "SPARK_LOCAL_IP": "127.0.0.1"})
    return {
        "name": benchmark.name,
        "command": " ".join(["python", f"benchmarks/{benchmark.script}", *benchmark.scales[scale]]),
        "seconds": round(time.perf_counter() - started, 1),
        "exit_code": result.returncode,
        "figures": last_json(result.stdout),
        "stderr_tail": result.stderr.strip().splitlines()[-3:] if result.returncode else [],
        "target": benchmark.target,
    }


def render(results: list[dict[str, object]], scale: str) -> str:
    """The results section for docs/benchmarks.md."""
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [f"### Scale `{scale}` — {when}", "", f"Machine: {machine()}.", "",
             "| benchmark | target | figures | met |", "|---|---|---|---|"]
    for result in results:
        figures = result["figures"] if isinstance(result["figures"], dict) else {}
        met = figures.get("met", figures.get("targets_met", "—" if scale == "ci" else "?"))
        shown = ", ".join(f"{k} {v}" for k, v in figures.items() if not isinstance(v, dict | list))[:600]
        if result["exit_code"]:
            shown = f"FAILED (exit {result['exit_code']}): {' / '.join(map(str, result['stderr_tail']))}"
        lines.append(f"| {result['name']} (`{result['command']}`) | {result['target']} | {shown} | {met} |")
    return "\n".join(lines) + "\n"


def write_results(section: str, out: Path) -> None:
    """Put the section at the top of the results block of ``out`` (older runs stay below)."""
    text = out.read_text() if out.exists() else f"# Benchmarks\n\n{RESULTS_START}\n{RESULTS_END}\n"
    if RESULTS_START not in text:
        text += f"\n{RESULTS_START}\n{RESULTS_END}\n"
    text = text.replace(RESULTS_START + "\n", f"{RESULTS_START}\n{section}\n", 1)
    out.write_text(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", choices=["ci", "demo", "borough"], default="ci")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "benchmarks.md")
    parser.add_argument("--only", action="append", help="run only benchmarks whose name contains this")
    args = parser.parse_args()
    chosen = [b for b in BENCHMARKS if not args.only or any(o in b.name for o in args.only)]
    results = []
    for benchmark in chosen:
        print(f"running {benchmark.name} at scale {args.scale}...", flush=True)
        results.append(run_benchmark(benchmark, args.scale))
    write_results(render(results, args.scale), args.out)
    failed = [r["name"] for r in results if r["exit_code"]]
    print(f"wrote {args.out}; {len(results) - len(failed)} ran, {len(failed)} failed {failed or ''}")
    if failed:
        sys.exit(1)


if __name__ == "__main__":
    main()
