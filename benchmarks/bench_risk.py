"""Benchmark risk stratification: training time, and scoring the whole population (features included).

Run by hand (not in CI):

    python benchmarks/bench_risk.py --people 20000
    python benchmarks/bench_risk.py --people 215000                      # issue 7's target scale
    python benchmarks/bench_risk.py --warehouse joinedup-data/warehouse.duckdb --people 0   # a real warehouse

Without ``--warehouse`` it generates the risk tests' latent-risk borough (tests/risk/borough.py) into
a DuckDB file (kept in the temp dir between runs of the same size and seed). Prints JSON: wall and
CPU seconds for generation, training (features for two dates, model, baselines, report) and scoring
(features, prediction, explanations for the top 20 %, storing every score in a SQLite store), peak
memory, and the validation figures (AUROC, calibration slope, PPV at the top 1 %, targets met).
Targets (issue 7): scoring 215,000 people in under 60 s on 2 cores, training in under 5 minutes.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import duckdb

from joinedup.risk.scoring import score_population
from joinedup.risk.training import train_risk_model
from joinedup.store import make_engine, make_session_factory, upgrade_store

ROOT = Path(__file__).resolve().parents[1]


def _timed(work):  # type: ignore[no-untyped-def]
    wall, cpu = time.perf_counter(), time.process_time()
    result = work()
    return result, round(time.perf_counter() - wall, 1), round(time.process_time() - cpu, 1)


def _generated(people: int, seed: int) -> Path:
    sys.path.insert(0, str(ROOT))
    from tests.risk.borough import make_borough

    path = Path(tempfile.gettempdir()) / f"bench-risk-{people}-{seed}.duckdb"
    if not path.exists():
        con = duckdb.connect(str(path))
        make_borough(con, people=people, seed=seed)
        con.close()
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--people", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--warehouse", type=Path, default=None)
    parser.add_argument("--train-index", type=date.fromisoformat, default=date(2024, 1, 1))
    parser.add_argument("--validate-index", type=date.fromisoformat, default=date(2025, 1, 1))
    parser.add_argument("--as-of", type=date.fromisoformat, default=date(2026, 1, 1))
    args = parser.parse_args()
    figures: dict[str, object] = {}
    if args.warehouse is None:
        path, figures["generate_wall_s"], figures["generate_cpu_s"] = _timed(lambda: _generated(args.people, args.seed))
    else:
        path = args.warehouse
    work = Path(tempfile.mkdtemp(prefix="bench-risk-"))
    con = duckdb.connect(str(path), read_only=True)
    result, figures["train_wall_s"], figures["train_cpu_s"] = _timed(
        lambda: train_risk_model(
            con, models_dir=work / "models", train_index=args.train_index, validate_index=args.validate_index
        )
    )
    engine = make_engine(f"sqlite:///{work / 'store.sqlite'}")
    upgrade_store(engine)
    with make_session_factory(engine)() as session:
        summary, figures["score_wall_s"], figures["score_cpu_s"] = _timed(
            lambda: score_population(session, con, models_dir=work / "models", as_of=args.as_of)
        )
    report = result.report
    figures.update({
        "people_scored": summary.people,
        "model_version": result.version,
        "validation_auroc": round(report["model"]["auroc"]["value"], 4),
        "validation_auroc_logistic": round(report["baselines"][0]["auroc"]["value"], 4),
        "calibration_slope": round(report["model"]["calibration"]["slope"], 3),
        "ppv_top_1pct": round(next(t["ppv"] for t in report["model"]["top"] if t["fraction"] == 0.01), 4),
        "targets": report["targets"],
        "model_targets_met": all(report["targets"].values()),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    })
    if summary.people >= 200_000:  # the speed targets are stated for the 215,000-person borough
        figures["met"] = float(figures["score_wall_s"]) < 60 and float(figures["train_wall_s"]) < 300
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
