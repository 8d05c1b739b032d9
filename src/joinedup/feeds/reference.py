"""Reference CSVs (organisations, small areas) into ``organisation`` / ``small_area``, upserted."""

from __future__ import annotations

import csv
import io
import logging
from pathlib import Path
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from joinedup.feeds._store_rows import table

logger = logging.getLogger(__name__)

# Reference file name → (table, its key, the columns taken).
REFERENCE_FILES = {
    "organisations.csv": ("organisation", "org_code",
                          ("org_code", "name", "kind", "neighbourhood", "postcode", "parent_org_code")),
    "small_areas.csv": ("small_area", "lsoa_code", ("lsoa_code", "name", "imd_decile", "neighbourhood")),
}


def load_reference_file(session: Session, path: Path) -> int:
    """Upsert one reference CSV by its name; returns rows loaded (0 for a file that is not reference data)."""
    spec = REFERENCE_FILES.get(path.name)
    if spec is None:
        logger.info("reference file %s is not loaded by feeds", path.name)
        return 0
    table_name, key, columns = spec
    target = table(table_name)
    rows: list[dict[str, Any]] = []
    reader = csv.DictReader(io.StringIO(path.read_text(encoding="utf-8-sig")))
    for record in reader:
        row = {column: (record.get(column) or None) for column in columns}
        if not row[key]:
            continue
        if "imd_decile" in row:
            row["imd_decile"] = int(row["imd_decile"]) if row["imd_decile"] else 0
        rows.append(row)
    if not rows:
        return 0
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert(target) if dialect == "postgresql" else sqlite.insert(target)
    statement = insert.on_conflict_do_update(
        index_elements=[key], set_={column: insert.excluded[column] for column in columns if column != key}
    )
    session.execute(statement, rows)
    session.commit()
    return len(rows)
