"""Reading the run history off the GUI thread: questions asked on one thread of its own,
through the database's reader role, answers delivered back as signals (queued to the
GUI thread), each with the ticket ``ask`` gave.

Only the latest question counts: one asked while another waits replaces it (the view
moved on), and an answer to a question that is no longer the latest is dropped, so a
screen never shows what it stopped asking for. A question under way is not interrupted;
psycopg's timeouts bound it.

The work is a plain function of an open connection; it must not touch widgets.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import psycopg
from PySide6.QtCore import QObject, Signal, Slot

from ald_gui.store.credentials import CredentialsError

__all__ = ["RunReader", "Work"]

Work = Callable[[psycopg.Connection[Any]], object]
_CONNECT_TIMEOUT_S = 5


class RunReader(QObject):
    """``answered(ticket, result)``; ``failed(ticket, text)`` naming why it could not
    (the database not reached, a query refused) or, for a ValueError or LookupError the
    work raised (a question without an answer: no such run), its text; ``busy(bool)``."""

    answered = Signal(int, object)
    failed = Signal(int, str)
    busy = Signal(bool)
    _done = Signal(int, object, str)  # worker to GUI thread: ticket, result, failure

    def __init__(self, dsn: Callable[[], str], parent: QObject | None = None) -> None:
        """``dsn``: the reader's conninfo, asked on the reader's thread (may read files)."""
        super().__init__(parent)
        self._dsn = dsn
        self._lock = threading.Condition()
        self._waiting: tuple[int, Work] | None = None
        self._stopping = False
        self._ticket = 0
        self._thread: threading.Thread | None = None
        self._done.connect(self._deliver)

    @property
    def latest(self) -> int:
        """The ticket of the latest question asked."""
        return self._ticket

    def ask(self, work: Work) -> int:
        """Run ``work(connection)`` on the reader's thread, after the question under
        way; replaces a question still waiting. Returns its ticket."""
        with self._lock:
            self._ticket += 1
            self._waiting = (self._ticket, work)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="run-history", daemon=True)
                self._thread.start()
            self._lock.notify()
        self.busy.emit(True)
        return self._ticket

    def _run(self) -> None:
        conn: psycopg.Connection[Any] | None = None
        try:
            while True:
                with self._lock:
                    while self._waiting is None and not self._stopping:
                        self._lock.wait()
                    if self._stopping:
                        return
                    assert self._waiting is not None
                    ticket, work = self._waiting
                    self._waiting = None
                try:
                    if conn is None or conn.closed:
                        conn = psycopg.connect(
                            self._dsn(), connect_timeout=_CONNECT_TIMEOUT_S, autocommit=True
                        )
                    result = work(conn)
                except (ValueError, LookupError) as exc:  # no answer (no such run, no cycle 4)
                    self._done.emit(ticket, None, str(exc))
                except (psycopg.Error, CredentialsError, OSError) as exc:
                    if conn is not None and isinstance(exc, psycopg.OperationalError):
                        conn.close()  # reconnect for the next question
                    self._done.emit(ticket, None, f"the run history could not be read: {exc}")
                else:
                    self._done.emit(ticket, result, "")
        finally:
            if conn is not None:
                conn.close()

    @Slot(int, object, str)
    def _deliver(self, ticket: int, result: object, failure: str) -> None:
        with self._lock:
            idle = self._waiting is None
        if idle:
            self.busy.emit(False)
        if ticket != self._ticket:
            return  # the view has moved on
        if failure:
            self.failed.emit(ticket, failure)
        else:
            self.answered.emit(ticket, result)

    def stop(self, timeout_s: float = 10.0) -> None:
        """Drop any waiting question and end the thread after the one under way."""
        with self._lock:
            self._stopping = True
            self._waiting = None
            self._lock.notify()
            thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(timeout_s)
