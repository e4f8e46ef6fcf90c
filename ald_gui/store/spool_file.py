"""The spool's file format: its tables, its version, and how a connection is set up.

Shared by the owner (:class:`~ald_gui.store.spool.Spool`), which creates and upgrades
the file, and the readers (:class:`~ald_gui.store.spool_view.SpoolView`), which never
write to it.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from ald_gui.store.spool_items import Keys
from ald_gui.store.spool_owner import SpoolError

__all__ = ["TABLES", "prepare", "read_key_sets"]

SCHEMA_VERSION = 1
TABLES = frozenset({"spool", "key_set", "dead_letter"})
_SCHEMA = """
CREATE TABLE IF NOT EXISTS spool (
    pos      INTEGER PRIMARY KEY AUTOINCREMENT,  -- stream order, never reused
    kind     INTEGER NOT NULL,
    at_us    INTEGER NOT NULL,                   -- when the item happened
    n_values INTEGER NOT NULL,                   -- samples it carries (0 for events)
    body     BLOB    NOT NULL,
    txid     BLOB,                               -- set once the item is in a group
    cap      INTEGER                             -- group size limit while isolating
);
CREATE INDEX IF NOT EXISTS spool_txid ON spool (txid) WHERE txid IS NOT NULL;
CREATE TABLE IF NOT EXISTS key_set (
    id   INTEGER PRIMARY KEY,
    keys TEXT NOT NULL UNIQUE                    -- JSON list of tag keys, in batch order
);
CREATE TABLE IF NOT EXISTS dead_letter (
    pos               INTEGER PRIMARY KEY,
    kind              INTEGER NOT NULL,
    at_us             INTEGER NOT NULL,
    n_values          INTEGER NOT NULL,
    body              BLOB    NOT NULL,
    txid              BLOB    NOT NULL,
    reason            TEXT    NOT NULL,
    quarantined_at_us INTEGER NOT NULL
);
"""


def prepare(db: sqlite3.Connection, path: Path) -> None:
    """Put the owner's connection ``db`` (autocommit) to the spool at ``path`` in WAL
    mode with synchronous=FULL, and create or check its tables in one transaction.
    Raises SpoolError if the file is not a database, refuses WAL, or has a newer format.
    """
    try:
        if db.execute("PRAGMA journal_mode=WAL").fetchone()[0] != "wal":
            raise SpoolError(f"spool {path}: SQLite refused WAL mode")
        db.execute("PRAGMA synchronous=FULL")
        db.execute("BEGIN IMMEDIATE")
    except sqlite3.DatabaseError as exc:  # not a database, unreadable
        raise SpoolError(f"cannot open spool {path}: {exc}") from exc
    try:
        version = db.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise SpoolError(
                f"spool {path} has format {version}, newer than this program's "
                f"{SCHEMA_VERSION}: upgrade the program or move the file away"
            )
        for statement in _SCHEMA.split(";"):
            if statement.strip():
                db.execute(statement)
        db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise


def read_key_sets(db: sqlite3.Connection) -> dict[int, Keys]:
    """Every batch key list of the spool, by id."""
    return {
        key_id: tuple(json.loads(text))
        for key_id, text in db.execute("SELECT id, keys FROM key_set")
    }
