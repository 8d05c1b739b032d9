"""Running joinedup day to day: the daily run (pick up new feed files, ingest, link, refresh the
warehouse, rescore risk, act on events), recorded step by step, and the demo that runs it all on
a synthetic borough. May import every service package; only web and cli import it."""

from joinedup.operations.daily_run import DAILY_STEPS, DailyRunReport, StepOutcome, recent_runs, run_daily

__all__ = ["DAILY_STEPS", "DailyRunReport", "StepOutcome", "recent_runs", "run_daily"]
