"""Feed errors: every problem found in one message, each with its field path and a stable code.

A mapping collects all the problems of a message before it gives up, so one quarantine row says
everything that is wrong with it ("PID-3: NHS number fails the modulus-11 check; PV1-3: ...").
Problems name fields and kinds of fault, never the values themselves.
"""

from __future__ import annotations

from dataclasses import dataclass

from joinedup.errors import InvalidInput


@dataclass(frozen=True, slots=True)
class Problem:
    """One fault in one message: where (field path), what kind (code) and what, in words."""

    path: str
    code: str
    message: str

    def describe(self) -> str:
        """The problem as a reason line: ``"PID-3: NHS number fails the modulus-11 check"``."""
        return f"{self.path}: {self.message}" if self.path else self.message


class FeedError(InvalidInput):
    """A message that cannot be accepted; carries every problem found and the stage that found them.

    Args:
        problems: the faults, in the order found; the first one's code counts it in summaries.
        stage: ``parse`` (bytes unreadable), ``map`` (readable but wrong) or ``validate``.
    """

    def __init__(
        self,
        problems: list[Problem],
        *,
        stage: str = "map",
        message_id: str | None = None,
        message_type: str | None = None,
    ) -> None:
        if not problems:
            raise ValueError("a FeedError needs at least one problem")
        self.problems = problems
        self.stage = stage
        # The message's own id and type when it could be read that far (dedupe and ACKs use them).
        self.message_id = message_id
        self.message_type = message_type
        super().__init__("; ".join(problem.describe() for problem in problems))

    @property
    def reason_code(self) -> str:
        """The stable code of the first problem, used to count quarantine by reason."""
        return self.problems[0].code


def parse_error(path: str, code: str, message: str) -> FeedError:
    """A FeedError for bytes that could not be read at all (stage ``parse``)."""
    return FeedError([Problem(path, code, message)], stage="parse")


class Problems:
    """Collects problems while a message is mapped, then raises them all at once."""

    __slots__ = ("items",)

    def __init__(self) -> None:
        self.items: list[Problem] = []

    def add(self, path: str, code: str, message: str) -> None:
        """Note one problem and carry on mapping (a field read twice is reported once)."""
        if any(item.path == path and item.code == code for item in self.items):
            return
        self.items.append(Problem(path, code, message))

    def raise_if_any(self, *, message_id: str | None = None, message_type: str | None = None) -> None:
        """Raise a FeedError (stage ``map``) with everything collected, if anything was."""
        if self.items:
            raise FeedError(list(self.items), message_id=message_id, message_type=message_type)
