"""The ``parameters`` table: one row per tag of a machine, kept in step with the config."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import psycopg

from ald_gui.domain.tags import Tag

_UPSERT = """
INSERT INTO parameters AS p (machine, key, component, name, unit, data_type, min, max,
                             writable, plotted, polled, description)
VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
ON CONFLICT (machine, key) DO UPDATE SET
    component = EXCLUDED.component, name = EXCLUDED.name, unit = EXCLUDED.unit,
    data_type = EXCLUDED.data_type, min = EXCLUDED.min, max = EXCLUDED.max,
    writable = EXCLUDED.writable, plotted = EXCLUDED.plotted, polled = EXCLUDED.polled,
    description = EXCLUDED.description, updated_at = now()
WHERE (p.component, p.name, p.unit, p.data_type, p.min, p.max, p.writable, p.plotted,
       p.polled, p.description)
      IS DISTINCT FROM
      (EXCLUDED.component, EXCLUDED.name, EXCLUDED.unit, EXCLUDED.data_type, EXCLUDED.min,
       EXCLUDED.max, EXCLUDED.writable, EXCLUDED.plotted, EXCLUDED.polled,
       EXCLUDED.description)
"""


def sync_parameters(
    conn: psycopg.Connection[Any], machine: str, tags: Iterable[Tag]
) -> dict[str, int]:
    """Insert or update the row of every tag of ``machine`` and return tag key -> id.

    Rows whose tag left the configuration stay (the history refers to them); an unchanged
    tag keeps its ``updated_at``. Runs in one transaction (a savepoint if the caller has
    one open). Raises ValueError for an empty machine name, psycopg errors otherwise.
    """
    if not machine:
        raise ValueError("machine name is empty: parameters belong to a named machine")
    rows = [
        (machine, t.key, t.component, t.name, t.unit, t.data_type.value, t.min, t.max,
         t.writable, t.plotted, t.polled, t.description)
        for t in tags
    ]  # fmt: skip
    with conn.transaction(), conn.cursor() as cur:
        if rows:
            cur.executemany(_UPSERT, rows)
        cur.execute(
            "SELECT key, id FROM parameters WHERE machine = %s AND key = ANY(%s)",
            (machine, [r[1] for r in rows]),
        )
        return {key: id_ for key, id_ in cur.fetchall()}
