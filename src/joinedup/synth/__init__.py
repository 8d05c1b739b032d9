"""The synthetic health economy: a borough's people, their care, the feeds each organisation's
systems would send (with real feeds' faults) and the ground truth, for demos, tests and benchmarks.

Imports only ``joinedup.model`` (and the error tree); it writes files and touches no store.

Public: ``generate_economy(out, *, people, years, seed, faults, start=None) -> EconomySummary``.
"""

from joinedup.synth.economy import DEFAULT_START, EconomySummary, SynthError, generate_economy
from joinedup.synth.summary import RateRow

__all__ = ["DEFAULT_START", "EconomySummary", "RateRow", "SynthError", "generate_economy"]
