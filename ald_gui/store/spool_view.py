"""A read-only look at a spool file, whether or not a console is recording into it.

The owner (:class:`~ald_gui.store.spool.Spool`) keeps the file in WAL mode and marks
its ownership with a lock of its own, not SQLite's exclusive mode, so readers such as
``ald-gui doctor`` and ``ald-gui spool list`` can open it at the same time: each query
is one read transaction, which never blocks the owner's writes and sees only committed
items.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from types import TracebackType
from typing import Self

from ald_gui.store.dead_letters import DeadLetter, read_dead_letters
from ald_gui.store.spool_file import TABLES, read_key_sets
from ald_gui.store.spool_owner import SpoolError

__all__ = ["SpoolView"]


class SpoolView:
    """Read the figures and the dead letters of the spool at ``path``. Never writes.

    Raises SpoolError if the file is missing or not a spool this program can read.
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise SpoolError(f"no spool at {self.path}")
        try:
            self._db = sqlite3.connect(
                f"{self.path.resolve().as_uri()}?mode=ro", uri=True, isolation_level=None,
                timeout=2.0,
            )  # fmt: skip
            tables = {r[0] for r in self._db.execute("SELECT name FROM sqlite_master")}
        except sqlite3.Error as exc:
            raise SpoolError(f"cannot read spool {self.path}: {exc}") from exc
        if not tables >= TABLES:
            self._db.close()
            raise SpoolError(f"{self.path} is not a spool (tables {sorted(tables)})")

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def depth(self) -> int:
        """Items journaled and not yet committed or set aside."""
        return int(self._db.execute("SELECT count(*) FROM spool").fetchone()[0])

    def oldest_unsent_us(self) -> int | None:
        row = self._db.execute("SELECT at_us FROM spool ORDER BY pos LIMIT 1").fetchone()
        return None if row is None else int(row[0])

    def dead_letter_count(self) -> int:
        return int(self._db.execute("SELECT count(*) FROM dead_letter").fetchone()[0])

    def dead_letters(self) -> list[DeadLetter]:
        """Every dead letter, oldest first (an undecodable one with ``item`` None)."""
        self._db.execute("BEGIN")  # key lists and letters from one snapshot
        try:
            return read_dead_letters(self._db, read_key_sets(self._db).__getitem__)
        finally:
            self._db.execute("COMMIT")
