"""Synthetic NHS numbers: valid modulus 11, from the 999 test range, never placeholder-looking.

The 999 block holds about 909,000 valid numbers; a bigger economy continues in the 998, 997 …
blocks. Person ``k`` always gets the same number for the same seed.
"""

from __future__ import annotations

import numpy as np

_BLOCK = 1_000_000  # nine-digit stems per three-digit block
_WEIGHTS = np.array([10, 9, 8, 7, 6, 5, 4, 3, 2], dtype=np.int64)


def check_digit(stem: str) -> int | None:
    """The modulus-11 check digit of a nine-digit stem, or None when no valid number has it."""
    total = sum(int(d) * w for d, w in zip(stem, range(10, 1, -1), strict=True))
    digit = 11 - total % 11
    if digit == 11:
        return 0
    return None if digit == 10 else digit


def is_valid(nhs_number: str) -> bool:
    """Whether a ten-digit string passes the modulus-11 check."""
    if len(nhs_number) != 10 or not nhs_number.isdigit():
        return False
    return check_digit(nhs_number[:9]) == int(nhs_number[9])


def _block_numbers(block: int, seed: int) -> np.ndarray:
    """Every valid, non-placeholder number of one block, in a seed-fixed shuffled order."""
    stems = np.arange(_BLOCK, dtype=np.int64) + block * _BLOCK
    digits = np.stack([(stems // 10**p) % 10 for p in range(8, -1, -1)], axis=1)
    digit = 11 - (digits @ _WEIGHTS) % 11
    digit[digit == 11] = 0
    numbers = stems * 10 + digit
    last_seven = numbers % 10_000_000
    # Placeholder-looking: the last seven digits all the same (9990000000, 9991111111 …).
    placeholder = np.isin(last_seven, np.arange(10) * 1_111_111)
    keep = (digit != 10) & ~placeholder
    kept = numbers[keep]
    rng = np.random.default_rng([seed, block])
    shuffled: np.ndarray = kept[rng.permutation(kept.size)]
    return shuffled


class NhsNumberBook:
    """Hands out the NHS number of person ``k`` (0-based), block by block as needed."""

    def __init__(self, seed: int) -> None:
        self._seed = seed
        self._blocks: list[np.ndarray] = []

    def number_of(self, k: int) -> str:
        """The NHS number of person ``k``."""
        offset = k
        block_index = 0
        while True:
            if block_index == len(self._blocks):
                self._blocks.append(_block_numbers(999 - block_index, self._seed))
            block = self._blocks[block_index]
            if offset < block.size:
                return f"{int(block[offset]):010d}"
            offset -= block.size
            block_index += 1
