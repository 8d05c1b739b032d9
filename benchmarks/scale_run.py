"""The scale run of issue 12: one population through the whole pipeline, stage by stage, as an operator meets it.

Run (one population; each stage is the ``joinedup`` command an operator types, run as a subprocess):

    python benchmarks/scale_run.py --people 1000000 --years 5 --home /big/scale-home --data /big/scale-data \\
        --json-out benchmarks/results/scale-1000000.json --keep

Project (several results at different sizes; fits cost ~ a·N^b per stage and projects to a region and England):

    python benchmarks/scale_run.py --project benchmarks/results/scale-*.json [--cluster-cores 32]

Stages: ``synth``, ``ingest`` (default workers), ``link``, ``optouts`` (the cleaned lists, as an operator
loads them before the warehouse), ``warehouse build --full``, ``risk train`` and ``risk score``; serving is
not measured. For each stage the result holds wall seconds, CPU seconds and peak memory of the stage's
process and its children (``os.wait4``: the kernel's own accounting of that process tree), the largest
sum of resident memory over the tree (sampled from /proc every half second), and the stage's own counts
(its ``--json`` output). Each ``joinedup`` command first spends a few seconds importing; that start-up
is measured (the cheapest of three ``joinedup --help``) and the fit is made on each stage's cost net of
it, so that small runs are not read as sub-linear. The home and data folders must be new (or empty); they are removed at
the end unless ``--keep``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
JOINEDUP = Path(sys.executable).with_name("joinedup")
FORMAT_VERSION = 1
REGION = 3_000_000
ENGLAND = 57_000_000
LINEAR = (0.9, 1.1)
NET_FLOOR_SECONDS = 0.01  # a stage cheaper than its start-up still costs something; logs need a positive value
SAMPLE_SECONDS = 0.5


@dataclass
class StageResult:
    """What one stage cost and what it did."""

    name: str
    command: list[str]
    wall_seconds: float
    cpu_seconds: float
    peak_rss_mb: float  # the largest single process of the stage's tree
    peak_tree_rss_mb: float  # the largest sum over the tree at one sample (ingest and synth run workers)
    exit_code: int
    counts: dict[str, Any] = field(default_factory=dict)


# --------------------------------------------------------------------------- measuring one process tree


def _children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found += [int(child) for child in (task / "children").read_text().split()]
        except OSError:
            continue
    return found


def _rss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _tree_rss_kb(root: int) -> int:
    total, pending = 0, [root]
    while pending:
        pid = pending.pop()
        total += _rss_kb(pid)
        pending += _children(pid)
    return total


class TreeMemory:
    """Samples the resident memory of a process and all its descendants until stopped."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.peak_kb = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def __enter__(self) -> TreeMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _sample(self) -> None:
        while not self._stop.is_set():
            self.peak_kb = max(self.peak_kb, _tree_rss_kb(self.pid))
            self._stop.wait(SAMPLE_SECONDS)


def run_stage(name: str, argv: list[str], env: dict[str, str], logs: Path) -> tuple[StageResult, str]:
    """Run one command to the end; its cost from the kernel's accounting of its process tree, and its stdout."""
    out_path, err_path = logs / f"{name}.out", logs / f"{name}.err"
    started = time.perf_counter()
    with out_path.open("w") as out, err_path.open("w") as err:
        process = subprocess.Popen(argv, stdout=out, stderr=err, env=env)
        with TreeMemory(process.pid) as memory:
            _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - started
    result = StageResult(name=name, command=argv, wall_seconds=round(wall, 3),
                         cpu_seconds=round(usage.ru_utime + usage.ru_stime, 3),
                         peak_rss_mb=round(usage.ru_maxrss / 1024, 1),
                         peak_tree_rss_mb=round(max(memory.peak_kb, usage.ru_maxrss) / 1024, 1),
                         exit_code=process.returncode)
    return result, out_path.read_text()


# --------------------------------------------------------------------------- the stages and their counts


def _json_of(stdout: str) -> dict[str, Any]:
    start = stdout.find("{")
    if start < 0:
        return {}
    parsed: dict[str, Any] = json.loads(stdout[start:])
    return parsed


def synth_counts(data: Path, _stdout: str) -> dict[str, Any]:
    manifest = json.loads((data / "manifest.json").read_text())
    return {"people": manifest["people"], "persons_total": manifest["persons_total"],
            "records": sum(f["record_count"] for f in manifest["files"] if not f["path"].startswith("truth/")),
            "files": len(manifest["files"]),
            "injected_faults": manifest["injected_faults"]}


def ingest_counts(_data: Path, stdout: str) -> dict[str, Any]:
    summary = _json_of(stdout).get("ingest", {})
    keys = ("read", "accepted", "updated", "duplicates", "quarantined", "files_read")
    return {key: summary.get(key) for key in keys}


def link_counts(_data: Path, stdout: str) -> dict[str, Any]:
    report = _json_of(stdout)
    counts = {key: report.get(key) for key in ("source_patients", "persons", "unlinked", "review_open")}
    counts.update({key: report.get("this_run", {}).get(key) for key in ("linked_by_nhs_number",
                                                                        "linked_probabilistically")})
    if evaluation := report.get("evaluation"):
        counts.update(precision=round(evaluation["precision"], 4), recall=round(evaluation["recall"], 4))
    return counts


def optout_counts(data: Path, _stdout: str) -> dict[str, Any]:
    return {"cleaned_lists": len(list((data / "national-data-opt-out").glob("cleaned-list-*.csv")))}


def warehouse_counts(_data: Path, stdout: str) -> dict[str, Any]:
    report = _json_of(stdout)
    rows = report.get("table_rows", {})
    return {"mode": report.get("mode"), "rows_read": sum(report.get("rows_read", {}).values()),
            "persons": rows.get("core.person"), "encounters": rows.get("core.encounter"),
            "person_months": rows.get("core.person_month"),
            "secondary_use_people": report.get("secondary_use_person_count")}


def train_counts(_data: Path, stdout: str) -> dict[str, Any]:
    report = _json_of(stdout)
    model, validation = report.get("model", {}), report.get("validation", {})
    auroc = model.get("auroc")
    return {"people": model.get("people"), "events": model.get("events"),
            "validation_people": validation.get("people"),
            "auroc": round(auroc["value"], 4) if isinstance(auroc, dict) else auroc}


def score_counts(_data: Path, stdout: str) -> dict[str, Any]:
    report = _json_of(stdout)
    return {"people": report.get("people"), "by_band": report.get("by_band")}


def stages(args: argparse.Namespace) -> list[tuple[str, list[str], Any]]:
    """(name, joinedup arguments, counts reader) in the order an operator runs them."""
    data = str(args.data)
    link = ["link", "--json"] + (["--evaluate", str(args.data / "truth")] if args.evaluate_linkage else [])
    return [
        ("synth", ["synth", "--out", data, "--people", str(args.people), "--years", str(args.years),
                   "--seed", str(args.seed)], synth_counts),
        ("ingest", ["ingest", data, "--json"] + ([] if args.ingest_workers is None else
                                                 ["--workers", str(args.ingest_workers)]), ingest_counts),
        ("link", link, link_counts),
        ("optouts", ["optouts", str(args.data / "national-data-opt-out")], optout_counts),
        ("warehouse", ["warehouse", "build", "--full", "--json"], warehouse_counts),
        ("risk train", ["risk", "train", "--json"], train_counts),
        ("risk score", ["risk", "score", "--json"], score_counts),
    ]


# --------------------------------------------------------------------------- one run


def _size(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) if path.exists() else 0


def _synthesised_already(args: argparse.Namespace) -> bool:
    """Whether the data folder holds a finished ``joinedup synth`` of this population (people, years, seed)."""
    manifest = args.data / "manifest.json"
    if not manifest.exists():
        return False
    made = json.loads(manifest.read_text())
    if (made.get("people"), made.get("years"), made.get("seed")) != (args.people, args.years, args.seed):
        sys.exit(f"{args.data} holds synth of {made.get('people')} people, {made.get('years')} years, seed "
                 f"{made.get('seed')}: not this run's")
    return True


def _must_be_new(folder: Path) -> None:
    if folder.exists() and any(folder.iterdir()):
        sys.exit(f"{folder} is not empty: a scale run starts from nothing (and removes it afterwards)")


def _machine() -> dict[str, Any]:
    pages, page_size = os.sysconf("SC_PHYS_PAGES"), os.sysconf("SC_PAGE_SIZE")
    return {"cores": os.cpu_count(), "memory_gb": round(pages * page_size / 1e9, 1),
            "platform": platform.platform(), "python": platform.python_version(), "node": platform.node()}


def disk_used(home: Path, data: Path, env: dict[str, str]) -> dict[str, Any]:
    store = home / "joinedup.sqlite"
    warehouse = Path(env.get("JOINEDUP_WAREHOUSE") or home / "warehouse.duckdb")
    return {"data_bytes": _size(data), "home_bytes": _size(home),
            "store_bytes": _size(store) if not env.get("JOINEDUP_DATABASE_URL") else None,
            "warehouse_bytes": _size(warehouse), "models_bytes": _size(home / "models")}


def run(args: argparse.Namespace) -> int:
    """Run every stage once for one population and write the result."""
    scratch = Path(tempfile.mkdtemp(prefix="scale-run-"))
    try:
        return _run(args, scratch)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _run(args: argparse.Namespace, scratch: Path) -> int:
    args.home = (args.home or scratch / "home").resolve()
    args.data = (args.data or scratch / "data").resolve()
    reused = args.reuse_data and _synthesised_already(args)
    for folder in (args.home,) if reused else (args.home, args.data):
        _must_be_new(folder)
    args.home.mkdir(parents=True, exist_ok=True)
    logs = args.home / "scale-run-logs"
    logs.mkdir()
    env = {**os.environ, "JOINEDUP_HOME": str(args.home), "COLUMNS": "120"}
    store = env.get("JOINEDUP_DATABASE_URL", "sqlite").split(":", 1)[0]  # the dialect only, never the address
    result: dict[str, Any] = {"tool": "benchmarks/scale_run.py", "format_version": FORMAT_VERSION,
                              "people": args.people, "years": args.years, "seed": args.seed, "store": store,
                              "ingest_workers": "default" if args.ingest_workers is None else args.ingest_workers,
                              "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
                              "machine": _machine(), "stages": []}
    # Start-up varies with what else the machine is doing: the cheapest of three is the cost every command pays.
    startup = min((run_stage("startup", [str(JOINEDUP), "--help"], env, logs)[0] for _ in range(3)),
                  key=lambda s: s.cpu_seconds)
    result["startup"] = asdict(startup)
    print(f"start-up (joinedup --help): {startup.wall_seconds:.1f} s wall, {startup.cpu_seconds:.1f} s CPU",
          flush=True)
    failed = None
    result["synth_reused"] = reused
    for name, arguments, counts_of in stages(args):
        if reused and name == "synth":  # generated before (and measured then): counted, not timed
            result["stages"].append(asdict(StageResult(name, arguments, 0.0, 0.0, 0.0, 0.0, 0,
                                                       synth_counts(args.data, ""))))
            print(f"synth       reused from {args.data} (not timed)", flush=True)
            continue
        stage, stdout = run_stage(name.replace(" ", "-"), [str(JOINEDUP), *arguments], env, logs)
        stage.name = name
        if stage.exit_code == 0:
            stage.counts = counts_of(args.data, stdout)
        result["stages"].append(asdict(stage))
        _print_stage(stage)
        if stage.exit_code != 0:
            failed = name
            # kept in the result: the home, and its logs, are removed below unless --keep
            result["failure_stderr"] = (logs / f"{name.replace(' ', '-')}.err").read_text()[-3000:]
            print(result["failure_stderr"], file=sys.stderr)
            break
    result["failed_stage"] = failed
    result["records"] = result["stages"][0]["counts"].get("records")
    result["disk"] = disk_used(args.home, args.data, env)
    result["totals"] = {"wall_seconds": round(sum(s["wall_seconds"] for s in result["stages"]), 1),
                        "cpu_seconds": round(sum(s["cpu_seconds"] for s in result["stages"]), 1),
                        "peak_tree_rss_mb": max(s["peak_tree_rss_mb"] for s in result["stages"])}
    _write(result, args.json_out)
    _print_disk(result)
    if not args.keep:
        shutil.rmtree(args.home, ignore_errors=True)
        if not reused:  # feeds made by someone else are theirs to remove
            shutil.rmtree(args.data, ignore_errors=True)
    return 1 if failed else 0


def _print_stage(stage: StageResult) -> None:
    counts = ", ".join(f"{key} {value:,}" if isinstance(value, int) else f"{key} {value}"
                       for key, value in stage.counts.items() if value is not None and not isinstance(value, dict))
    print(f"{stage.name:<11} {stage.wall_seconds:9.1f} s wall {stage.cpu_seconds:9.1f} s CPU "
          f"{stage.peak_tree_rss_mb:8.0f} MB peak  exit {stage.exit_code}  {counts}", flush=True)


def _print_disk(result: dict[str, Any]) -> None:
    disk, totals = result["disk"], result["totals"]
    sizes = ", ".join(f"{key.removesuffix('_bytes')} {value / 1e6:,.1f} MB"
                      for key, value in disk.items() if value is not None)
    print(f"{'total':<11} {totals['wall_seconds']:9.1f} s wall {totals['cpu_seconds']:9.1f} s CPU "
          f"{totals['peak_tree_rss_mb']:8.0f} MB peak")
    print(f"disk: {sizes}")


def _write(result: dict[str, Any], path: Path | None) -> None:
    if path is None:
        print(json.dumps(result))
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=2) + "\n")
    print(f"result written to {path}")


# --------------------------------------------------------------------------- fitting and projecting


@dataclass(frozen=True)
class Fit:
    """cost = a · N^b, by least squares on the logs."""

    a: float
    b: float

    def at(self, n: float) -> float:
        return float(self.a * n**self.b)


def fit_power(sizes: list[float], costs: list[float]) -> Fit:
    """Least squares of log(cost) on log(size); needs at least two different sizes."""
    xs, ys = [math.log(n) for n in sizes], [math.log(max(c, NET_FLOOR_SECONDS)) for c in costs]
    mean_x, mean_y = sum(xs) / len(xs), sum(ys) / len(ys)
    spread = sum((x - mean_x) ** 2 for x in xs)
    if spread == 0:
        raise ValueError("the results must be at two or more different numbers of people")
    b = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True)) / spread
    return Fit(a=math.exp(mean_y - b * mean_x), b=b)


def _measurable(net_costs: list[float], startup: float) -> bool:
    """Whether the stage's own work stands out of the start-up's noise in every result."""
    return min(net_costs) >= startup


def fit_growth(sizes: list[float], net_costs: list[float], startup: float) -> Fit:
    """The power fit; or, when the start-up's noise swamps the stage at these sizes, a line through the
    largest result (cost per person × N), stated as such: a fit on noise would project anything."""
    if _measurable(net_costs, startup):
        return fit_power(sizes, net_costs)
    largest = max(range(len(sizes)), key=sizes.__getitem__)
    return Fit(a=net_costs[largest] / sizes[largest], b=1.0)


def is_linear(b: float) -> bool:
    return LINEAR[0] <= b <= LINEAR[1]


def _stage_series(results: list[dict[str, Any]], name: str, key: str) -> tuple[list[float], list[float], float]:
    """Sizes, costs net of the start-up, and the mean start-up, for one stage in every result that ran it."""
    sizes, costs, startups = [], [], []
    for result in results:
        stage = next((s for s in result["stages"] if s["name"] == name and s["exit_code"] == 0
                      and s["cpu_seconds"] > 0), None)
        if stage is None:
            continue
        sizes.append(float(result["people"]))
        costs.append(max(stage[key] - result["startup"][key], NET_FLOOR_SECONDS))
        startups.append(result["startup"][key])
    return sizes, costs, (sum(startups) / len(startups) if startups else 0.0)


def project(results: list[dict[str, Any]], cluster_cores: int) -> dict[str, Any]:
    """Fit each stage's CPU and wall seconds to a·N^b (net of start-up) and project to a region and England."""
    names = [s["name"] for s in max(results, key=lambda r: len(r["stages"]))["stages"]]
    stages_out: list[dict[str, Any]] = []
    for name in names:
        sizes, cpu, cpu_startup = _stage_series(results, name, "cpu_seconds")
        _, wall, wall_startup = _stage_series(results, name, "wall_seconds")
        if len(set(sizes)) < 2:
            continue
        cpu_fit, wall_fit = fit_growth(sizes, cpu, cpu_startup), fit_growth(sizes, wall, wall_startup)
        measured = _measurable(cpu, cpu_startup)
        stages_out.append({"name": name, "sizes": sizes, "cpu_net_seconds": cpu, "wall_net_seconds": wall,
                           "cpu_fit": asdict(cpu_fit), "wall_fit": asdict(wall_fit),
                           "cpu_startup_seconds": cpu_startup, "wall_startup_seconds": wall_startup,
                           "startup_bound": not measured, "wall_startup_bound": not _measurable(wall, wall_startup),
                           "linear": is_linear(cpu_fit.b) if measured else None,
                           "b_net_cpu": fit_power(sizes, cpu).b, "b_gross_cpu": _gross_b(results, name),
                           "at": {str(n): _at(cpu_fit, wall_fit, cpu_startup, wall_startup, n, cluster_cores)
                                  for n in (REGION, ENGLAND)}})
    totals = {str(n): {key: round(sum(s["at"][str(n)][key] for s in stages_out), 6)
                       for key in ("cpu_hours", "wall_hours_this_machine", "wall_hours_cluster")}
              for n in (REGION, ENGLAND)}
    return {"results": len(results), "people": sorted({r["people"] for r in results}),
            "mixed_process_counts": _mixed_process_counts(results), "disk": _project_disk(results),
            "years": sorted({r["years"] for r in results}), "cores_measured": results[0]["machine"]["cores"],
            "cluster_cores": cluster_cores, "linear_band": LINEAR, "stages": stages_out, "totals": totals}


def _project_disk(results: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Each folder's bytes fitted to a·N^b and projected (a warehouse has a fixed part, so b < 1 there)."""
    disk: dict[str, dict[str, Any]] = {}
    for key in ("data_bytes", "store_bytes", "warehouse_bytes"):
        pairs = [(float(r["people"]), float(r["disk"][key])) for r in results if r.get("disk", {}).get(key)]
        if len({n for n, _ in pairs}) < 2:
            continue
        fit = fit_power([n for n, _ in pairs], [b for _, b in pairs])
        disk[key.removesuffix("_bytes")] = {"b": fit.b, **{str(n): fit.at(n) for n in (REGION, ENGLAND)}}
    return disk


def _gross_b(results: list[dict[str, Any]], name: str) -> float:
    """The exponent of the stage's whole cost, start-up included (what a naive fit would say)."""
    sizes, costs = [], []
    for result in results:
        for stage in result["stages"]:
            if stage["name"] == name and stage["exit_code"] == 0 and stage["cpu_seconds"] > 0:
                sizes.append(float(result["people"]))
                costs.append(stage["cpu_seconds"])
    return fit_power(sizes, costs).b


def _mixed_process_counts(results: list[dict[str, Any]]) -> list[str]:
    """Stages that ran worker processes in some results and not in others (ingest starts them at 64 MB):
    their exponent then measures the change of regime as much as the growth."""
    mixed = []
    for name in ("synth", "ingest"):
        spread = [s["peak_tree_rss_mb"] > 1.5 * s["peak_rss_mb"] for r in results for s in r["stages"]
                  if s["name"] == name and s["exit_code"] == 0]
        if len(set(spread)) > 1:
            mixed.append(name)
    return mixed


def _at(cpu: Fit, wall: Fit, cpu_startup: float, wall_startup: float, n: int, cores: int) -> dict[str, float]:
    cpu_hours = (cpu.at(n) + cpu_startup) / 3600
    return {"cpu_hours": round(cpu_hours, 6), "wall_hours_this_machine": round((wall.at(n) + wall_startup) / 3600, 6),
            "wall_hours_cluster": round(cpu_hours / cores, 6)}


def print_projection(projection: dict[str, Any]) -> None:
    cores, cluster = projection["cores_measured"], projection["cluster_cores"]
    print(f"fitted on {projection['results']} results at N = {', '.join(f'{n:,}' for n in projection['people'])} "
          f"people, years {projection['years']}; cost net of each command's start-up, least squares on logs")
    if len(projection["years"]) > 1:
        print("warning: the results differ in years of activity; the fit on people mixes in the years")
    for name in projection["mixed_process_counts"]:
        print(f"warning: {name} ran worker processes in some results and not others; its exponent mixes in "
              "the workers' start-up (compare sizes that all run them, or pass the same --ingest-workers)")
    print(f"{'stage':<11} {'b CPU':>6} {'b wall':>6} {'b net':>6} {'b gross':>7}  linear (b CPU in "
          f"{LINEAR[0]}-{LINEAR[1]}); b net: power fit on cost less start-up; b gross: start-up included")
    for stage in projection["stages"]:
        verdict = {True: "yes", False: "NO", None: "not measurable: the stage costs less than a start-up "
                   "at these sizes, so projected as linear from the largest run"}[stage["linear"]]
        b_cpu = "-" if stage["startup_bound"] else f"{stage['cpu_fit']['b']:.3f}"
        b_wall = "-" if stage["wall_startup_bound"] else f"{stage['wall_fit']['b']:.3f}"
        print(f"{stage['name']:<11} {b_cpu:>6} {b_wall:>6} {stage['b_net_cpu']:6.3f} "
              f"{stage['b_gross_cpu']:7.3f}  {verdict}")
    for n, label in ((REGION, "a region"), (ENGLAND, "England")):
        print(f"\n{label}, {n:,} people: CPU seconds = a × N^b + start-up; CPU-hours = seconds / 3600; "
              f"wall on this {cores}-core machine from the wall fit; wall on {cluster} cores = CPU-hours / {cluster}")
        for stage in projection["stages"]:
            fit, at = stage["cpu_fit"], stage["at"][str(n)]
            print(f"  {stage['name']:<11} {fit['a']:.4g} × {n:,}^{fit['b']:.3f} + {stage['cpu_startup_seconds']:.1f}"
                  f" = {at['cpu_hours'] * 3600:,.0f} s = {at['cpu_hours']:,.2f} CPU-h; "
                  f"{at['wall_hours_this_machine']:,.2f} h on {cores} cores; {at['wall_hours_cluster']:,.2f} h "
                  f"on {cluster}")
        sizes = ", ".join(f"{name} {fit[str(n)] / 1e9:,.0f} GB (b {fit['b']:.2f})"
                          for name, fit in projection["disk"].items())
        print(f"  disk: {sizes or 'no disk figures in the results'}")
        total = projection["totals"][str(n)]
        print(f"  {'total':<11} {total['cpu_hours']:,.2f} CPU-h; {total['wall_hours_this_machine']:,.2f} h on "
              f"{cores} cores; {total['wall_hours_cluster']:,.2f} h on {cluster} cores (ideal split)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--people", type=int, default=1_000_000)
    parser.add_argument("--years", type=int, default=5)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--home", type=Path, default=None, help="joinedup home to build (new; default a temp dir)")
    parser.add_argument("--data", type=Path, default=None, help="folder for the synthetic feeds (new)")
    parser.add_argument("--keep", action="store_true", help="keep the home and data folders afterwards")
    parser.add_argument("--reuse-data", action="store_true",
                        help="use feeds a finished `joinedup synth` of the same --people/--years/--seed left in "
                             "--data (synth is then not timed, and the data folder is never removed)")
    parser.add_argument("--ingest-workers", type=int, default=None,
                        help="pass --workers to ingest (default: ingest's own choice, which starts workers only "
                             "for a load of 64 MB or more, so sizes either side of that are not comparable)")
    parser.add_argument("--evaluate-linkage", action="store_true",
                        help="score linkage against the synthetic truth (extra work an operator does not do)")
    parser.add_argument("--json-out", type=Path, default=None, help="write the result (or projection) here")
    parser.add_argument("--project", type=Path, nargs="+", default=None, metavar="FILE",
                        help="fit and project from these results instead of running")
    parser.add_argument("--cluster-cores", type=int, default=32,
                        help="cores of the cluster to project wall time on (default 32: 4 × 8, docs/deployment.md)")
    args = parser.parse_args()
    if args.project:
        projection = project([json.loads(p.read_text()) for p in args.project], args.cluster_cores)
        print_projection(projection)
        if args.json_out:
            _write(projection, args.json_out)
        return 0
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
