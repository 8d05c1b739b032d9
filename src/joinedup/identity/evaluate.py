"""Measuring linkage against ground truth: pairwise precision, recall, F1; persons split and over-merged.

A *pair* is two records put in the same cluster. Precision is the share of predicted pairs that are
true; recall the share of true pairs that were predicted. Counting is done from the contingency
table of (predicted cluster, true cluster) sizes, so a million records need no pair enumeration.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Mapping
from dataclasses import asdict, dataclass
from typing import TypeVar

Key = TypeVar("Key", bound=Hashable)


@dataclass(frozen=True)
class LinkageMetrics:
    """Pairwise quality of a clustering against the truth."""

    records: int
    true_persons: int
    predicted_persons: int
    true_pairs: int
    predicted_pairs: int
    correct_pairs: int
    persons_split: int
    persons_over_merged: int

    @property
    def precision(self) -> float:
        """Share of predicted pairs that are true (1.0 when nothing was linked)."""
        return self.correct_pairs / self.predicted_pairs if self.predicted_pairs else 1.0

    @property
    def recall(self) -> float:
        """Share of true pairs that were predicted (1.0 when there were none)."""
        return self.correct_pairs / self.true_pairs if self.true_pairs else 1.0

    @property
    def f1(self) -> float:
        """Harmonic mean of precision and recall."""
        total = self.precision + self.recall
        return 2 * self.precision * self.recall / total if total else 0.0

    def as_dict(self) -> dict[str, float | int]:
        """All the figures, for JSON output."""
        return {**asdict(self), "precision": self.precision, "recall": self.recall, "f1": self.f1}


def _pairs(count: int) -> int:
    return count * (count - 1) // 2


def pairwise_metrics(predicted: Mapping[Key, Hashable], truth: Mapping[Key, Hashable]) -> LinkageMetrics:
    """Compare predicted clusters with true clusters over the records present in both mappings.

    Args:
        predicted: record key -> predicted cluster id.
        truth: record key -> true cluster id.
    """
    keys = [key for key in predicted if key in truth]
    cells = Counter((predicted[key], truth[key]) for key in keys)
    predicted_sizes = Counter(predicted[key] for key in keys)
    true_sizes = Counter(truth[key] for key in keys)
    true_spread = Counter(true_id for _, true_id in cells)
    predicted_spread = Counter(predicted_id for predicted_id, _ in cells)
    return LinkageMetrics(
        records=len(keys),
        true_persons=len(true_sizes),
        predicted_persons=len(predicted_sizes),
        true_pairs=sum(_pairs(size) for size in true_sizes.values()),
        predicted_pairs=sum(_pairs(size) for size in predicted_sizes.values()),
        correct_pairs=sum(_pairs(size) for size in cells.values()),
        persons_split=sum(1 for spread in true_spread.values() if spread > 1),
        persons_over_merged=sum(1 for spread in predicted_spread.values() if spread > 1),
    )
