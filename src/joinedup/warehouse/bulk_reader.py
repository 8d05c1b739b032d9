"""Read queries' rows with connectorx into Arrow IPC files; run as a script in a process of its own.

A process of its own, not a thread, for two reasons: connectorx carries its own copy of SQLite, and
two copies of SQLite in one process break each other's POSIX file locks (the store's connections
would then read stale pages or fail; see sqlite.org/howtocorrupt.html, 2.2.1); and separate
processes read several tables on separate cores. The job comes on stdin as JSON (``address`` and
``reads``, a list of ``sql`` and ``out`` file) so the store's address, which may hold a password,
never appears in a process list. This file imports nothing from joinedup, so starting it costs only
connectorx and pyarrow.
"""

from __future__ import annotations

import json
import sys

import connectorx
import pyarrow as pa


def main() -> None:
    job = json.load(sys.stdin)
    for read in job["reads"]:
        table = connectorx.read_sql(job["address"], read["sql"], return_type="arrow")
        with pa.OSFile(read["out"], "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
            writer.write_table(table)


if __name__ == "__main__":
    main()
