"""Storage faults worth naming: the store ran out of room to write.

A database error that says the disk (or the file-size limit) is full is not about the data being
written: quarantining the message or retrying it alone would only fail again, and would leave
messages parked that a re-run after freeing space should simply take in. Callers that write in
bulk turn such an error into ``StoreFull`` and stop, with the transaction rolled back.

Recognised, by the driver's error code (never its text, which can carry SQL literals):

- SQLite ``SQLITE_FULL`` ("database or disk is full": no space left, or ``PRAGMA max_page_count``
  reached) and ``SQLITE_IOERR_WRITE`` (the operating system refused a write: ``EFBIG`` past the
  process's file-size limit, or an I/O error on the disk);
- PostgreSQL SQLSTATE ``53100`` (``disk_full``).
"""

from __future__ import annotations

from joinedup.errors import EngineError

SQLITE_OUT_OF_SPACE = frozenset({"SQLITE_FULL", "SQLITE_IOERR_WRITE"})
POSTGRESQL_DISK_FULL = "53100"


class StoreFull(EngineError):
    """The store could not write for lack of space; what was being written was rolled back."""


def out_of_space_code(error: BaseException) -> str | None:
    """The driver's code when ``error`` (a SQLAlchemy or driver error) means "no room to write"; else None."""
    driver_error = getattr(error, "orig", None) or error
    sqlite_name = getattr(driver_error, "sqlite_errorname", None)
    if sqlite_name in SQLITE_OUT_OF_SPACE:
        return str(sqlite_name)
    sqlstate = getattr(driver_error, "sqlstate", None) or getattr(driver_error, "pgcode", None)
    if sqlstate == POSTGRESQL_DISK_FULL:
        return f"SQLSTATE {sqlstate} disk_full"
    return None


def store_full(error: BaseException, *, doing: str) -> StoreFull:
    """A ``StoreFull`` for ``error`` that says what was being done and what to do next."""
    code = out_of_space_code(error) or type(error).__name__
    return StoreFull(
        f"the store ran out of space while {doing} ({code}: the disk, or the store's size or file-size limit, "
        "is full). What was being written was rolled back; nothing of it was kept. Free space (or raise the "
        "limit), then run the same command again: work committed before is kept and not repeated."
    )


__all__ = ["POSTGRESQL_DISK_FULL", "SQLITE_OUT_OF_SPACE", "StoreFull", "out_of_space_code", "store_full"]
