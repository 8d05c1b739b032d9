"""Statistical disclosure control for aggregate counts released outside direct care.

The HES rule: counts of 1 to 7 are suppressed (shown ``*``); every other count is rounded to the
nearest 5 (so a released non-zero count is always a multiple of 5 of at least 10); zero stays 0.
Totals are computed from the true counts and protected the same way.

Suppressing a small cell is not enough when its row or column total is published: total minus the
other cells gives it back. *Secondary suppression* therefore makes sure no row or column (each
with its total) has exactly one suppressed entry: it suppresses the smallest other non-zero cell
of that line, or its total when nothing else is left, and repeats until every line is safe.

Used by extracts (``joinedup extract``), reports and warehouse exports: ``protect_table`` for a
two-way table, ``protect_counts`` for a one-way list of counts.

Example::

    >>> protect_counts({"A": 23, "B": 3, "C": 41})
    ProtectedCounts(counts={'A': None, 'B': None, 'C': 40}, total=65)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

SUPPRESSED_MARK = "*"
SUPPRESS_UP_TO = 7
ROUND_TO = 5


def round_count(value: int, base: int = ROUND_TO) -> int:
    """Round a count to the nearest ``base`` (halves up: 12 -> 10, 13 -> 15, 8 -> 10)."""
    return int((value + base / 2) // base * base)


def primary_suppressed(value: int, suppress_up_to: int = SUPPRESS_UP_TO) -> bool:
    """Whether a count is small enough to identify someone (1 to 7 by default)."""
    return 1 <= value <= suppress_up_to


@dataclass(frozen=True)
class ProtectedTable:
    """A two-way table of counts after disclosure control. ``None`` marks a suppressed value.

    Attributes:
        cells: released cell counts, ``cells[row][column]``.
        row_totals / column_totals / grand_total: released margins.
        suppressed_primary / suppressed_secondary: how many values (cells and totals) each rule hid.
    """

    row_labels: tuple[str, ...]
    column_labels: tuple[str, ...]
    cells: tuple[tuple[int | None, ...], ...]
    row_totals: tuple[int | None, ...]
    column_totals: tuple[int | None, ...]
    grand_total: int | None
    suppressed_primary: int
    suppressed_secondary: int

    def rows(self, *, row_header: str = "", total_label: str = "Total") -> list[list[str]]:
        """The table as text rows (header first, totals last), ``*`` for suppressed values."""

        def show(value: int | None) -> str:
            return SUPPRESSED_MARK if value is None else str(value)

        header = [row_header, *self.column_labels, total_label]
        body = [
            [label, *(show(v) for v in cells), show(total)]
            for label, cells, total in zip(self.row_labels, self.cells, self.row_totals, strict=True)
        ]
        footer = [total_label, *(show(v) for v in self.column_totals), show(self.grand_total)]
        return [header, *body, footer]


@dataclass(frozen=True)
class ProtectedCounts:
    """A one-way list of counts after disclosure control (``None`` = suppressed)."""

    counts: dict[str, int | None]
    total: int | None


def _lines(n_rows: int, n_cols: int) -> list[list[tuple[int, int]]]:
    """Every row and column of the grid with margins, each as positions; its total comes last."""
    rows = [[(i, j) for j in range(n_cols + 1)] for i in range(n_rows + 1)]
    columns = [[(i, j) for i in range(n_rows + 1)] for j in range(n_cols + 1)]
    return rows + columns


def _secondary_suppression(grid: list[list[int]], suppressed: set[tuple[int, int]]) -> set[tuple[int, int]]:
    """Suppress more values until no line (row or column with its total) has exactly one hidden."""
    n_rows, n_cols = len(grid) - 1, len(grid[0]) - 1
    lines = _lines(n_rows, n_cols)
    added: set[tuple[int, int]] = set()
    changed = True
    while changed:
        changed = False
        for line in lines:
            hidden = [p for p in line if p in suppressed]
            if len(hidden) != 1:
                continue
            total = line[-1]
            candidates = [p for p in line[:-1] if p not in suppressed and grid[p[0]][p[1]] > 0]
            if candidates:
                choice = min(candidates, key=lambda p: (grid[p[0]][p[1]], p))
            elif total not in suppressed and grid[total[0]][total[1]] > 0:
                choice = total
            else:
                # Every other value is a true zero: the hidden one is then zero too (never hidden).
                continue
            suppressed.add(choice)
            added.add(choice)
            changed = True
    return added


def protect_table(
    counts: Sequence[Sequence[int]],
    *,
    row_labels: Sequence[str],
    column_labels: Sequence[str],
    suppress_up_to: int = SUPPRESS_UP_TO,
    round_to: int = ROUND_TO,
) -> ProtectedTable:
    """Apply disclosure control to a two-way table of true counts with its row and column totals.

    Args:
        counts: true counts, ``counts[row][column]``, all >= 0.
        suppress_up_to: counts from 1 to this are suppressed (7: the HES rule).
        round_to: released counts are rounded to the nearest multiple of this.

    Raises:
        ValueError: a negative count or a ragged table.
    """
    n_rows, n_cols = len(row_labels), len(column_labels)
    if len(counts) != n_rows or any(len(row) != n_cols for row in counts):
        raise ValueError(f"the table must be {n_rows} rows by {n_cols} columns, as labelled")
    if any(value < 0 for row in counts for value in row):
        raise ValueError("counts cannot be negative")
    grid = [[int(v) for v in row] + [sum(row)] for row in counts]
    grid.append([sum(grid[i][j] for i in range(n_rows)) for j in range(n_cols + 1)])
    primary = {
        (i, j) for i in range(n_rows + 1) for j in range(n_cols + 1) if primary_suppressed(grid[i][j], suppress_up_to)
    }
    suppressed = set(primary)
    secondary = _secondary_suppression(grid, suppressed)

    def release(i: int, j: int) -> int | None:
        return None if (i, j) in suppressed else round_count(grid[i][j], round_to)

    return ProtectedTable(
        row_labels=tuple(row_labels),
        column_labels=tuple(column_labels),
        cells=tuple(tuple(release(i, j) for j in range(n_cols)) for i in range(n_rows)),
        row_totals=tuple(release(i, n_cols) for i in range(n_rows)),
        column_totals=tuple(release(n_rows, j) for j in range(n_cols)),
        grand_total=release(n_rows, n_cols),
        suppressed_primary=len(primary),
        suppressed_secondary=len(secondary),
    )


def protect_counts(
    counts: Mapping[str, int], *, suppress_up_to: int = SUPPRESS_UP_TO, round_to: int = ROUND_TO
) -> ProtectedCounts:
    """Apply disclosure control to a one-way list of counts and its total."""
    labels = list(counts)
    table = protect_table(
        [[counts[label]] for label in labels],
        row_labels=labels,
        column_labels=["count"],
        suppress_up_to=suppress_up_to,
        round_to=round_to,
    )
    return ProtectedCounts(
        counts={label: cells[0] for label, cells in zip(labels, table.cells, strict=True)},
        total=table.grand_total,
    )
