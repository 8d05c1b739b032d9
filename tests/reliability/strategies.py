"""Hypothesis strategies for hostile feed input: mutations of real-shaped messages, and junk."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

# Bytes that mean something to one of the formats (HL7 separators and escapes, MLLP frame bytes,
# CSV quoting, JSON structure), plus encodings that trip decoders.
INTERESTING = (
    b"|", b"^", b"~", b"\\", b"&", b"\r", b"\n", b"\r\n", b"MSH|^~\\&|", b"PID|", b"PV1|", b"OBX|", b"BHS|",
    b"BTS|9", b"FHS|", b"\x0b", b"\x1c\r", b"\x00", b"\xff\xfe", b"\xef\xbb\xbf", "é\u202e".encode(),
    b"9" * 40,
    b"-1", b"99999999999999999999", b"NaN", b"\"", b",", b"{", b"}", b"[", b"]", b"null",
    b"<script>alert(1)</script>", b"'; DROP TABLE person; --",
)


@st.composite
def mutated(draw: st.DrawFn, seeds: tuple[bytes, ...]) -> bytes:
    """A seed with a few byte-level mutations: flips, inserts, deletes, truncation, splices."""
    data = bytearray(draw(st.sampled_from(seeds)))
    for _ in range(draw(st.integers(0, 6))):
        operation = draw(st.sampled_from(("flip", "insert", "delete", "truncate", "splice")))
        position = draw(st.integers(0, max(len(data) - 1, 0)))
        if operation == "flip" and data:
            data[position] = draw(st.integers(0, 255))
        elif operation == "insert":
            data[position:position] = draw(st.sampled_from(INTERESTING) | st.binary(max_size=12))
        elif operation == "delete":
            del data[position : position + draw(st.integers(1, 40))]
        elif operation == "truncate":
            del data[position:]
        else:
            start = draw(st.integers(0, max(len(data) - 1, 0)))
            data[position:position] = data[start : start + draw(st.integers(1, 200))]
    return bytes(data)


def junk() -> st.SearchStrategy[bytes]:
    """Bytes with no shape at all."""
    return st.binary(max_size=400)


JSON_LEAVES = (
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.floats(allow_nan=False) | st.text(max_size=20)
)
JSON_VALUES = st.recursive(
    JSON_LEAVES,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=12,
)


@st.composite
def mutated_json(draw: st.DrawFn, seeds: tuple[dict[str, Any], ...]) -> dict[str, Any]:
    """A FHIR resource with some values replaced by JSON of the wrong shape (structure-aware fuzzing)."""
    resource: dict[str, Any] = _copy(draw(st.sampled_from(seeds)))
    for _ in range(draw(st.integers(1, 5))):
        paths = list(_paths(resource))
        if not paths:
            break
        parent, key = draw(st.sampled_from(paths))
        parent[key] = draw(JSON_VALUES)
    return resource


def _copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _copy(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_copy(item) for item in value]
    return value


def _paths(value: Any) -> list[tuple[Any, Any]]:
    found: list[tuple[Any, Any]] = []
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, item in items:
        found.append((value, key))
        found.extend(_paths(item))
    return found
