"""Writing a batch of mapped messages into the store: merge with what is there, then bulk upsert.

One statement per table per batch (SQLAlchemy Core ``insert`` executemany with the dialect's
``ON CONFLICT DO UPDATE``), after merging each incoming row with the stored one in Python:

- a message *newer* than the one that last set a row (by the sender's own time: MSH-7, bundle
  timestamp) overwrites every column it gives a value for;
- an *older* message (late, out of order: an A01 after its A03) only fills columns still empty.

So the state a row ends in does not depend on the order messages arrived in.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Date, Float, Integer, Numeric, Table, and_, bindparam, select, type_coerce
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from joinedup.feeds.mapped import CLEAR, Fill
from joinedup.store.tables import Base, utc_now
from joinedup.store.tables.base import UtcDateTime

# Rows per IN (...) list: well under SQLite's and PostgreSQL's parameter limits.
CHUNK = 900

VERSION = "_version_at"


def table(name: str) -> Table:
    """The store table called ``name``."""
    return Base.metadata.tables[name]


def chunked(values: Sequence[Any], size: int = CHUNK) -> Iterable[Sequence[Any]]:
    """``values`` in slices of at most ``size``."""
    for start in range(0, len(values), size):
        yield values[start : start + size]


def _is_newer(at: datetime | None, stored_at: datetime | None) -> bool:
    if at is None:
        return stored_at is None
    return stored_at is None or at >= stored_at


def merge_row(stored: dict[str, Any] | None, incoming: dict[str, Any], at: datetime | None) -> dict[str, Any]:
    """Merge ``incoming`` (from a message sent ``at``) into the ``stored`` row; returns the row.

    Newer messages overwrite the columns they give; older ones fill only empty columns. ``CLEAR``
    empties a column (newer messages only). The row's version time becomes the newest seen.
    """
    if stored is None:
        # The commonest case (a new row): ``_plain`` inlined, as this runs for every row of a load.
        row = {
            name: None if value is CLEAR else value.value if type(value) is Fill else value
            for name, value in incoming.items()
        }
        row[VERSION] = at
        return row
    if _is_newer(at, stored.get(VERSION)):
        for name, value in incoming.items():
            if value is CLEAR:
                stored[name] = None
            elif isinstance(value, Fill):
                if stored.get(name) is None:
                    stored[name] = value.value
            elif value is not None:
                stored[name] = value
        stored[VERSION] = at
    else:
        for name, value in incoming.items():
            value = _plain(value)
            if value is not None and stored.get(name) is None:
                stored[name] = value
    return stored


def _plain(value: Any) -> Any:
    if value is CLEAR:
        return None
    if isinstance(value, Fill):
        return value.value
    return value


def _readable(column: Any) -> ColumnElement[Any]:
    # Numeric reads back as Decimal, which SQLite can only give through a lossy-conversion warning.
    if isinstance(column.type, Numeric) and not isinstance(column.type, Float):
        return type_coerce(column, Float).label(column.name)
    return column  # type: ignore[no-any-return]


def fetch_stored(
    session: Session,
    target: Table,
    key_columns: tuple[str, str],
    keys: Iterable[tuple[str, str]],
    *,
    version_column: str | None,
) -> dict[tuple[str, str], dict[str, Any]]:
    """Load the stored rows for ``keys`` (pairs of ``key_columns``) with their version time.

    The version time is ``version_column`` of the row itself (``source_updated_at``), or, for
    record tables, the sent time of the feed message that last set the row.
    """
    by_first: dict[str, list[str]] = defaultdict(list)
    for first, second in keys:
        by_first[first].append(second)
    query = _stored_query(target, key_columns, version_column)
    found: dict[tuple[str, str], dict[str, Any]] = {}
    for first, seconds in by_first.items():
        for part in chunked(sorted(set(seconds))):
            for row in session.execute(query, {"k_first": first, "k_seconds": list(part)}).mappings():
                values = dict(row)
                found[(values[key_columns[0]], values[key_columns[1]])] = values
    return found


# Queries built once per table (statement construction cost more than running them on small batches).
_QUERIES: dict[tuple[Any, ...], Any] = {}


def _stored_query(target: Table, key_columns: tuple[str, str], version_column: str | None) -> Any:
    """SELECT every column (and the version time) WHERE first = :k_first AND second IN :k_seconds."""
    cache_key = ("stored", target.name, key_columns, version_column)
    if cache_key not in _QUERIES:
        first_col, second_col = target.c[key_columns[0]], target.c[key_columns[1]]
        columns = [_readable(column) for column in target.c]
        feed_message = table("feed_message")
        if version_column is not None:
            query = select(*columns, target.c[version_column].label(VERSION))
        else:
            query = select(*columns, feed_message.c.sent_at.label(VERSION)).outerjoin(
                feed_message, feed_message.c.feed_message_id == target.c.feed_message_id
            )
        _QUERIES[cache_key] = query.where(
            and_(first_col == bindparam("k_first"), second_col.in_(bindparam("k_seconds", expanding=True)))
        )
    return _QUERIES[cache_key]


def _column_defaults(target: Table) -> dict[str, Any]:
    defaults: dict[str, Any] = {}
    now = utc_now()
    for column in target.c:
        if column.primary_key and column.autoincrement:
            continue
        default = column.default
        if default is None:
            defaults[column.name] = None
        elif getattr(default, "is_callable", False):
            defaults[column.name] = now
        else:
            defaults[column.name] = getattr(default, "arg", None)
    return defaults


class _Statements:
    """An INSERT and an UPDATE-by-id for one table, compiled once for the engine's dialect.

    Rows go to the driver's ``executemany`` with values already converted by each column type's
    own bind processor (so ``UtcDateTime`` and friends behave exactly as through the ORM), which
    skips SQLAlchemy's per-row parameter handling: the bulk path's largest cost after parsing.
    """

    def __init__(self, target: Table, dialect: Dialect, id_column: str) -> None:
        self.columns = [c.name for c in target.c if not (c.primary_key and c.autoincrement)]
        processors = {c.name: _bind_processor(c, dialect) for c in target.c}
        insert = target.insert().values({name: bindparam(f"v_{name}") for name in self.columns})
        update_ = (
            target.update()
            .where(target.c[id_column] == bindparam("v_row_id"))
            .values({name: bindparam(f"v_{name}") for name in self.columns})
        )
        self.insert = insert.compile(dialect=dialect)
        self.update = update_.compile(dialect=dialect)
        self.processors = [(name, processors[name]) for name in self.columns]
        self.id_processor = processors[id_column]
        # SQLite gives each new row max(rowid) + 1, so the rows of one executemany (in one transaction,
        # holding the one write lock) get consecutive ids ending at ``last_insert_rowid()``.
        id_type = target.c[id_column].type
        self.consecutive_ids = dialect.name == "sqlite" and isinstance(id_type, Integer) and bool(
            target.c[id_column].autoincrement
        )

    def params(self, compiled: Any, rows: Iterable[dict[str, Any]]) -> list[Any]:
        """Driver parameters for ``rows`` (dicts by column name, ``row_id`` for updates), in its style."""
        names = list(compiled.positiontup) if compiled.positional else list(compiled.binds)
        processors = dict(self.processors)
        columns = [name[2:] for name in names]
        # Only some columns need converting (dates, times, JSON): patch those positions alone.
        converted: list[tuple[int, Callable[[Any], Any]]] = []
        for position, column in enumerate(columns):
            process = self.id_processor if column == "row_id" else processors.get(column)
            if process is not None:
                converted.append((position, process))
        out: list[Any] = []
        for row in rows:
            values = list(map(row.get, columns))
            for position, convert in converted:
                values[position] = convert(values[position])
            out.append(tuple(values) if compiled.positional else dict(zip(names, values, strict=True)))
        return out


def _bind_processor(column: Any, dialect: Dialect) -> Callable[[Any], Any] | None:
    """The column type's bind processor, with a faster path for SQLite's dates and UTC times.

    SQLite keeps dates and times as text; SQLAlchemy formats them with a ``%`` dict per value, a
    large share of a bulk write's CPU. ``isoformat`` gives the very same text (4-digit year,
    microseconds always) for plain ``date`` and aware ``datetime`` values; anything else (a naive
    time, a subclass) still goes through SQLAlchemy's own processor, errors included.
    """
    slow = column.type.dialect_impl(dialect).bind_processor(dialect)
    if dialect.name != "sqlite" or slow is None:
        return slow  # type: ignore[no-any-return]
    if isinstance(column.type, UtcDateTime):
        # Most values of a batch are the one "now" stamped on every row: converted once.
        last: list[Any] = [None, None]

        def utc_datetime(value: Any) -> Any:
            if value is last[0]:
                return last[1]
            if type(value) is datetime and value.tzinfo is not None:
                if value.tzinfo is UTC:  # already UTC (all the feeds' times): drop the "+00:00"
                    text = value.isoformat(" ", "microseconds")[:26]
                else:
                    text = value.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")
                last[0], last[1] = value, text
                return text
            return None if value is None else slow(value)
        return utc_datetime
    if type(column.type) is Date:
        def plain_date(value: Any) -> Any:
            if type(value) is date:
                return value.isoformat()
            return None if value is None else slow(value)
        return plain_date
    return slow  # type: ignore[no-any-return]


_STATEMENTS: dict[tuple[str, str, str], _Statements] = {}


def _statements(target: Table, dialect: Dialect, id_column: str) -> _Statements:
    key = (target.name, dialect.name, id_column)
    if key not in _STATEMENTS:
        _STATEMENTS[key] = _Statements(target, dialect, id_column)
    return _STATEMENTS[key]


def upsert_rows(
    session: Session,
    target: Table,
    key_columns: tuple[str, str],
    id_column: str,
    rows: Sequence[dict[str, Any]],
    *,
    want_ids: bool = True,
) -> dict[tuple[str, str], int]:
    """Insert new rows and update stored ones (whole rows, after merging); returns ids by key.

    A row that holds ``id_column`` was read from the store and is updated by id; the others are
    inserted. A concurrent writer inserting the same key makes the batch fail as a whole, and the
    pipeline then retries it unit by unit, when the row is found and updated instead.
    """
    if not rows:
        return {}
    defaults = _column_defaults(target)
    now = utc_now()
    required = [(name, default) for name, default in defaults.items()
                if default is not None and not target.c[name].nullable]
    stamped = "updated_at" in defaults
    new_rows: list[dict[str, Any]] = []
    stored_rows: list[dict[str, Any]] = []
    ids: dict[tuple[str, str], int] = {}
    first, second = key_columns
    for row in rows:
        # Rows are the pipeline's own merged dicts: filled in place, no copy per row.
        for name, default in required:
            if row.get(name) is None:
                row[name] = default
        if stamped:
            row["updated_at"] = now
        row_id = row.get(id_column)
        if row_id is None:
            new_rows.append(row)
        else:
            row["row_id"] = row_id
            stored_rows.append(row)
            ids[(row[first], row[second])] = row_id
    connection = session.connection()
    statements = _statements(target, connection.dialect, id_column)
    if new_rows:
        connection.exec_driver_sql(str(statements.insert), statements.params(statements.insert, new_rows))
    if want_ids and new_rows and statements.consecutive_ids:
        # SQLite: the ids just given, without reading them back by key (one SELECT per table and batch).
        last = connection.exec_driver_sql("SELECT last_insert_rowid()").scalar_one()
        first_id = last - len(new_rows) + 1
        for offset, row in enumerate(new_rows):
            ids[(row[first], row[second])] = first_id + offset
        new_rows = []
    if stored_rows:
        connection.exec_driver_sql(str(statements.update), statements.params(statements.update, stored_rows))
    if want_ids and new_rows:
        ids.update(_ids_of(session, target, key_columns, id_column,
                           [(row[key_columns[0]], row[key_columns[1]]) for row in new_rows]))
    return ids


def touch_rows(session: Session, target: Table, id_column: str, row_ids: Iterable[int]) -> None:
    """Set ``updated_at`` to now on rows by id (rows a batch names without changing anything else)."""
    ids = list(row_ids)
    if not ids:
        return
    connection = session.connection()
    key = ("touch", target.name, id_column, connection.dialect.name)
    if key not in _QUERIES:
        statement = target.update().where(target.c[id_column] == bindparam("v_row_id"))
        _QUERIES[key] = statement.values(updated_at=bindparam("v_updated_at")).compile(dialect=connection.dialect)
    compiled = _QUERIES[key]
    stamp = _bind_processor(target.c.updated_at, connection.dialect)
    now = utc_now() if stamp is None else stamp(utc_now())
    names = list(compiled.positiontup) if compiled.positional else list(compiled.binds)
    params: list[Any] = []
    for row_id in ids:
        values = {"v_row_id": row_id, "v_updated_at": now}
        params.append(tuple(values[name] for name in names) if compiled.positional else values)
    connection.exec_driver_sql(str(compiled), params)


def insert_rows(session: Session, target: Table, rows: Sequence[dict[str, Any]]) -> None:
    """Insert new rows (no key to merge on: outbox events, quarantine items) in one executemany."""
    if not rows:
        return
    defaults = _column_defaults(target)
    prepared = [{name: row.get(name, default) for name, default in defaults.items()} for row in rows]
    connection = session.connection()
    id_column = next(column.name for column in target.primary_key.columns)
    statements = _statements(target, connection.dialect, id_column)
    connection.exec_driver_sql(str(statements.insert), statements.params(statements.insert, prepared))


def _ids_of(
    session: Session, target: Table, key_columns: tuple[str, str], id_column: str, keys: list[tuple[str, str]]
) -> dict[tuple[str, str], int]:
    by_first: dict[str, list[str]] = defaultdict(list)
    for first, second in keys:
        by_first[first].append(second)
    cache_key = ("ids", target.name, key_columns, id_column)
    if cache_key not in _QUERIES:
        first_col, second_col = target.c[key_columns[0]], target.c[key_columns[1]]
        _QUERIES[cache_key] = select(second_col, target.c[id_column]).where(
            first_col == bindparam("k_first"), second_col.in_(bindparam("k_seconds", expanding=True))
        )
    query = _QUERIES[cache_key]
    found: dict[tuple[str, str], int] = {}
    for first, seconds in by_first.items():
        for part in chunked(seconds):
            for second, row_id in session.execute(query, {"k_first": first, "k_seconds": list(part)}):
                found[(first, second)] = row_id
    return found
