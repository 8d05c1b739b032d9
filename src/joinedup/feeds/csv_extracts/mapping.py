"""One extract row (a dict of column → text) → store rows, by its layout; every problem collected."""

from __future__ import annotations

import re
from datetime import UTC, datetime, time
from functools import cache
from typing import Any

from joinedup.feeds.codes import LONDON, is_snomed_id, parse_date, parse_datetime
from joinedup.feeds.csv_extracts.layouts import FieldSpec, Layout
from joinedup.feeds.errors import Problems
from joinedup.feeds.mapped import MappedMessage, OutboxNote, RecordRow

_MISSING = object()


@cache
def _pattern(text: str) -> re.Pattern[str]:
    return re.compile(text)


class _Fields:
    """A row's values for templates (no copy): an absent or empty column renders as ''."""

    __slots__ = ("extra", "row")

    def __init__(self, row: dict[str, Any], extra: dict[str, Any] | None) -> None:
        self.row = row
        self.extra = extra

    def __getitem__(self, key: str) -> Any:
        if self.extra and key in self.extra:
            return self.extra[key]
        value = self.row.get(key)
        return "" if value is None else value


def render(template: str, row: dict[str, Any], extra: dict[str, Any] | None = None) -> str:
    """Fill ``{COLUMN}`` placeholders from the row (and ``{n}``/``{value}``/``{feed}``)."""
    if "{" not in template:
        return template
    return template.format_map(_Fields(row, extra))


def field_value(spec: FieldSpec, row: dict[str, Any], path: str, problems: Problems,
                extra: dict[str, Any] | None = None) -> Any:
    """The value a spec gives for a row, converted; notes a problem (and returns None) when wrong."""
    if spec.constant is not None:
        return spec.constant
    column = spec.column
    raw: Any
    if spec.template is not None:
        raw = render(spec.template, row, extra)
    else:
        raw = extra.get("value") if column == "{value}" and extra else row.get(column or "")
    if raw is not None and not isinstance(raw, str):
        raw = str(raw) if not isinstance(raw, int | float) or spec.type == "text" else raw
    if raw is None or (isinstance(raw, str) and raw.strip() in spec.null_values):
        if spec.required:
            problems.add(path, "missing_field", "required and empty")
        return spec.default
    text = raw.strip() if isinstance(raw, str) else raw
    if spec.map is not None:
        if text not in spec.map:
            if spec.default is not None:
                return spec.default
            problems.add(path, "unknown_code", "not a code this layout knows")
            return None
        return spec.map[text]
    if spec.pattern is not None and not _pattern(spec.pattern).match(str(text)):
        problems.add(path, "unknown_code", "not a code of the expected form")
        return None
    if spec.type == "snomed" and not is_snomed_id(str(text)):
        problems.add(path, "unknown_code", "not a SNOMED CT identifier (partition or check digit wrong)")
        return None
    try:
        value = _convert(spec, text, row)
    except (TypeError, ValueError):
        if spec.lenient:
            return None
        problems.add(path, f"malformed_{'date' if spec.type in ('date', 'datetime') else 'value'}",
                     f"not a valid {spec.type}")
        return None
    if isinstance(value, float | int) and not isinstance(value, bool):
        low, high = spec.min, spec.max
        if spec.ranges and spec.ranges_by:
            code = row.get(spec.ranges_by) if extra is None else extra.get(spec.ranges_by, row.get(spec.ranges_by))
            bounds = spec.ranges.get(str(code))
            if bounds:
                low, high = bounds
        if (low is not None and value < low) or (high is not None and value > high):
            problems.add(path, "impossible_value", "a value outside what is possible")
            return None
    if isinstance(value, str) and spec.length:
        value = value[: spec.length]
    return value


def _convert(spec: FieldSpec, text: Any, row: dict[str, Any]) -> Any:
    kind = spec.type
    if kind in ("text", "code", "snomed"):
        return str(text)
    if kind == "int":
        return int(text)
    if kind == "float":
        return float(text)
    if kind == "bool":
        return str(text).lower() in ("1", "true", "y", "yes")
    if kind == "date":
        value = parse_date(str(text))
        if value is None:
            raise ValueError("partial date")
        return value
    if spec.time_column:
        day = parse_date(str(text))
        clock = row.get(spec.time_column) or "00:00:00"
        if day is None:
            raise ValueError("partial date")
        return datetime.combine(day, time.fromisoformat(str(clock)), tzinfo=LONDON).astimezone(UTC)
    value = parse_datetime(str(text))
    if value is None:
        raise ValueError("empty")
    return value


def map_row(layout: Layout, row: dict[str, Any], feed_source: str, content_id: str) -> MappedMessage:
    """Map one extract row by ``layout``; raises FeedError naming each bad column."""
    problems = Problems()
    source = render(layout.record_source, {}, {"feed": feed_source})
    message_key = render(layout.message_id, row)
    message = MappedMessage(message_id=f"{layout.name}:{message_key}:{content_id}"[:120],
                            message_type=layout.name[:20])
    if layout.sent_at is not None:
        message.sent_at = field_value(layout.sent_at, row, _path(layout.sent_at, "sent_at"), problems)
    patient: dict[str, Any] = {"source": source}
    for name, spec in layout.patient.items():
        value = field_value(spec, row, _path(spec, name), problems)
        if name == "nhs_number":
            patient["nhs_number_given"] = value
        else:
            patient[name] = value
    local_id = patient.get("local_id")
    if not local_id:
        problems.add(_path(layout.patient.get("local_id"), "local_id"), "missing_identifier",
                     "no local patient identifier")
        problems.raise_if_any(message_id=message.message_id, message_type=message.message_type)
    patient["local_id"] = str(local_id)[:64]
    nhs_spec = layout.patient.get("nhs_number")
    key = message.add_patient(patient, nhs_number_path=_path(nhs_spec, "nhs_number") if nhs_spec else None)
    for record in layout.records:
        columns: list[str | None] = list(record.repeat) if record.repeat else [None]
        for n, column in enumerate(columns, start=1):
            extra: dict[str, Any] = {"n": n, "feed": feed_source}
            if column is not None:
                value = row.get(column)
                if value is None or str(value).strip() in ("", "-"):
                    continue
                extra["value"] = str(value).strip()
                extra["column"] = column
            if record.when and not str(row.get(record.when) or "").strip():
                continue
            values: dict[str, Any] = {"source": source,
                                      "source_record_id": render(record.id, row, extra)[:80]}
            for name, spec in record.values.items():
                path = column if column is not None and spec.column == "{value}" else _path(spec, name)
                value = field_value(spec, row, path, problems, extra)
                # Names starting "_" are checks only (a length of stay that must not be negative).
                if not name.startswith("_"):
                    values[name] = value
            encounter = (source, render(record.encounter_id, row, extra)[:80]) if record.encounter_id else None
            message.records.append(RecordRow(record.table, values, key, encounter))
    for event in layout.events:
        payload = {name: _jsonable(field_value(spec, row, _path(spec, name), problems))
                   for name, spec in event.payload.items()}
        occurred = field_value(event.occurred_at, row, "occurred_at", problems) if event.occurred_at else None
        message.events.append(OutboxNote(event.kind, key, payload, occurred))
    problems.raise_if_any(message_id=message.message_id, message_type=message.message_type)
    return message


def _path(spec: FieldSpec | None, name: str) -> str:
    if spec is not None and spec.column and spec.column != "{value}":
        return spec.column
    return name


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value
