"""What an analyst checks on a dashboard page: the counts released under disclosure control.

Shared by the browser journey (tests/web) and the demo's end-to-end check (tests/operations).
"""

from __future__ import annotations

import re

_CELL = re.compile(r'<td class="nhsuk-table__cell(?: nhsuk-table__cell--numeric)?">([^<]*)</td>')


def measure_table_rows(html: str) -> list[tuple[str, str, str, str]]:
    """(area, count, denominator, value) of each row of the page's measure table, as shown."""
    table = html.split('data-testid="measure-rows"', 1)[1].split("</table>", 1)[0]
    cells = [cell.strip() for cell in _CELL.findall(table)]
    return [(cells[i], cells[i + 1], cells[i + 2], cells[i + 3]) for i in range(0, len(cells) - 3, 4)]


def is_released_under_disclosure_control(shown: str) -> bool:
    """Suppressed (``*``), zero, or a count of at least 10 rounded to a multiple of 5 (never 1-7 exactly)."""
    if shown == "*":
        return True
    count = int(shown)
    return count == 0 or (count % 5 == 0 and count >= 10)
