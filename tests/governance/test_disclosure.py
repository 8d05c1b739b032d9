"""Statistical disclosure control: the HES rule and secondary suppression, checked by hand and by property."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from joinedup.governance.disclosure import ProtectedTable, protect_counts, protect_table, round_count


def _released_values(table: ProtectedTable) -> list[int | None]:
    values: list[int | None] = [v for row in table.cells for v in row]
    return [*values, *table.row_totals, *table.column_totals, table.grand_total]


def _lines(table: ProtectedTable) -> list[list[int | None]]:
    rows = [[*cells, total] for cells, total in zip(table.cells, table.row_totals, strict=True)]
    rows.append([*table.column_totals, table.grand_total])
    columns = [list(column) for column in zip(*rows, strict=True)]
    return rows + columns


def test_rounding_follows_the_hes_rule() -> None:
    assert [round_count(v) for v in (8, 10, 12, 13, 17, 18, 22, 23, 100, 102)] == [
        10,
        10,
        10,
        15,
        15,
        20,
        20,
        25,
        100,
        100,
    ]


def test_a_worked_table() -> None:
    # Ages by sex, true counts. Row "85+" has a 3 (primary) — its row total would give it away,
    # so the smallest other cell of that row (12) goes too; column "male" then has two hidden: safe,
    # but column "female" now has one hidden (12) — so the smallest other there (40) goes as well,
    # and row "65-74" then needs one more: its 44.
    table = protect_table(
        [[40, 44], [51, 60], [12, 3]],
        row_labels=["65-74", "75-84", "85+"],
        column_labels=["female", "male"],
    )
    assert table.rows(row_header="age") == [
        ["age", "female", "male", "Total"],
        ["65-74", "*", "*", "85"],
        ["75-84", "50", "60", "110"],
        ["85+", "*", "*", "15"],
        ["Total", "105", "105", "210"],
    ]
    assert (table.suppressed_primary, table.suppressed_secondary) == (1, 3)


def test_a_one_way_list_hides_a_small_count_and_one_more() -> None:
    protected = protect_counts({"A": 23, "B": 3, "C": 41, "D": 0})
    assert protected.counts == {"A": None, "B": None, "C": 40, "D": 0}
    assert protected.total == 65


def test_a_lone_small_count_beside_zeros_hides_the_total() -> None:
    protected = protect_counts({"A": 0, "B": 5, "C": 0})
    assert protected.counts == {"A": 0, "B": None, "C": 0}
    assert protected.total is None


@settings(max_examples=300, deadline=None)
@given(
    st.integers(min_value=1, max_value=5).flatmap(
        lambda cols: st.lists(
            st.lists(st.sampled_from([0, 1, 2, 3, 5, 7, 8, 9, 12, 13, 20, 37, 150]), min_size=cols, max_size=cols),
            min_size=1,
            max_size=6,
        )
    )
)
def test_every_released_count_is_safe_and_no_suppressed_cell_can_be_derived(counts: list[list[int]]) -> None:
    table = protect_table(
        counts,
        row_labels=[f"r{i}" for i in range(len(counts))],
        column_labels=[f"c{j}" for j in range(len(counts[0]))],
    )
    for value in _released_values(table):
        assert value is None or value == 0 or (value % 5 == 0 and value >= 10)
    for row, true_row in zip(table.cells, counts, strict=True):
        for released, true in zip(row, true_row, strict=True):
            if 1 <= true <= 7:
                assert released is None
            if released is not None:
                assert abs(released - true) <= 2
    # Totals reveal no suppressed value: no row or column (with its total) has exactly one hidden.
    for line in _lines(table):
        assert sum(v is None for v in line) != 1
