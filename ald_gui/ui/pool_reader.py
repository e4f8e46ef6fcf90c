"""Database questions off the GUI thread, on a thread pool of the window's own
(QThreadPool), through the reader role: the audit viewer's searches and its chain
check. Each question is a plain function of the reader's conninfo; it must not touch
widgets. Its answer comes back as ``answered(kind, result)`` (queued to the GUI thread),
or ``failed(kind, words)``.

The pool is private, not Qt's global one, so ``stop()`` can wait for what runs and let
its threads end with the window.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import psycopg
from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal, Slot

from ald_gui.store.credentials import CredentialsError

__all__ = ["PoolReader"]


class _Question(QRunnable):
    def __init__(self, reader: PoolReader, kind: str, work: Callable[[str], Any]) -> None:
        super().__init__()
        self._reader, self._kind, self._work = reader, kind, work

    def run(self) -> None:
        reader, kind = self._reader, self._kind
        try:
            result = self._work(reader.dsn())
        except (psycopg.Error, CredentialsError, OSError) as exc:
            reader.failed.emit(kind, " ".join(str(exc).split()))
        else:
            reader.answered.emit(kind, result)
        finally:
            reader.finished.emit(kind)


class PoolReader(QObject):
    """``answered(kind, result)``, ``failed(kind, words)``, then ``finished(kind)``."""

    answered = Signal(str, object)
    failed = Signal(str, str)
    finished = Signal(str)

    def __init__(self, dsn: Callable[[], str], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.dsn = dsn
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(2)  # a search and a chain check at once
        self._asking: set[str] = set()
        self.finished.connect(self._done)  # queued: in the GUI thread, after the answer

    @Slot(str)
    def _done(self, kind: str) -> None:
        self._asking.discard(kind)

    def asking(self, kind: str) -> bool:
        return kind in self._asking

    def ask(self, kind: str, work: Callable[[str], Any]) -> bool:
        """Run ``work(dsn)`` on the pool; False (nothing started) while a question of
        the same ``kind`` is under way."""
        if kind in self._asking:
            return False
        self._asking.add(kind)
        self._pool.start(_Question(self, kind, work))
        return True

    def stop(self, timeout_ms: int = 10000) -> None:
        """Wait for the questions under way (psycopg's timeouts bound them); the pool's
        threads end."""
        self._pool.waitForDone(timeout_ms)
