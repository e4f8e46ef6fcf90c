"""Reading the alarm journal off the GUI thread: one question at a time, asked on a
thread of its own through the database's reader role, the answer delivered back as a
signal (queued to the GUI thread).

The work is a plain function of the reader's conninfo; it must not touch widgets.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import psycopg
from PySide6.QtCore import QObject, Signal

from ald_gui.engine.engine import Engine
from ald_gui.store.credentials import CredentialsError, resolve_reader_dsn
from ald_gui.store.roles import Group

__all__ = ["JournalReader", "reader_dsn"]


def reader_dsn(engine: Engine) -> str:
    """The reader role's conninfo for ``engine``'s database: the embedded server's
    reader login, the configured reader of an external server, or (a test's own
    server, given to the engine directly) the engine's conninfo. May read files."""
    if engine.server is not None:
        return engine.server.login_dsn(Group.READER)
    return resolve_reader_dsn(engine.config.database) or engine.dsn


class JournalReader(QObject):
    """``answered(result)`` with what the work returned; ``failed(text)`` naming why
    it could not (the database not reached, a query refused); ``busy(bool)``."""

    answered = Signal(object)
    failed = Signal(str)
    busy = Signal(bool)

    def __init__(self, dsn: Callable[[], str], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._dsn = dsn
        self._thread: threading.Thread | None = None

    @property
    def asking(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def ask(self, work: Callable[[str], Any]) -> bool:
        """Run ``work(dsn)`` on a thread; False (nothing started) while one runs."""
        if self.asking:
            return False
        self.busy.emit(True)
        self._thread = threading.Thread(
            target=self._run, args=(work,), name="alarm-journal", daemon=True
        )
        self._thread.start()
        return True

    def _run(self, work: Callable[[str], Any]) -> None:
        try:
            result = work(self._dsn())
        except (psycopg.Error, CredentialsError, OSError) as exc:
            self.failed.emit(f"the alarm journal could not be read: {exc}")
        else:
            self.answered.emit(result)
        finally:
            self.busy.emit(False)

    def stop(self, timeout_s: float = 10.0) -> None:
        """Wait for a question under way (psycopg's own timeouts bound it)."""
        if self._thread is not None:
            self._thread.join(timeout_s)
            self._thread = None
