"""History questions answered off the GUI thread, newest first, stale ones cancelled.

One query thread with one connection of the reader role runs the questions it is asked,
one at a time. A question belongs to a *topic* (what a view is showing: "trends",
"run page", ...): a newer question on a topic supersedes the older one. Not yet started,
the older one is dropped; running, it is cancelled on the server (psycopg's
``cancel_safe``, sent from a second small thread so that neither the asker nor the query
thread waits for it), and its answer, if it comes anyway, is not delivered.

Answers come by the ``answered`` signal, emitted from the query thread: a receiver in
the GUI thread gets them queued, in its own thread. Nothing here touches a widget.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from PySide6.QtCore import QObject, Signal

from ald_gui.store.credentials import CredentialsError
from ald_gui.store.db import writer_conninfo

__all__ = ["HistoryAnswer", "HistoryQueries", "Question"]

log = logging.getLogger(__name__)

# A question is a function of the reader's connection (autocommit, statement timeout).
Question = Callable[[psycopg.Connection[Any]], object]

STATEMENT_TIMEOUT_MS = 60_000  # no history question holds the reader's connection longer


@dataclass(frozen=True)
class HistoryAnswer:
    """What a question returned (``result``), or why it could not be answered
    (``error``, for the operator: the database not reached, a query refused);
    ``cancelled`` when the query was cancelled (closing)."""

    topic: str
    ticket: int
    result: object = None
    error: str = ""
    cancelled: bool = False


class HistoryQueries(QObject):
    """Ask with ``ask(topic, question)``; answers by ``answered(HistoryAnswer)``.

    ``dsn`` gives the reader's conninfo; it is called on the query thread (it may read
    a password file) whenever a connection is needed. The threads start with the first
    question; ``close()`` stops them (call it before the application ends).
    """

    answered = Signal(object)

    def __init__(self, dsn: Callable[[], str], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._dsn = dsn
        self._lock = threading.Condition()
        self._waiting: dict[str, tuple[int, Question]] = {}  # topic -> newest question
        self._newest: dict[str, int] = {}  # topic -> newest ticket asked
        self._running: tuple[str, int] | None = None
        self._tickets = 0
        self._closed = False
        self._conn: psycopg.Connection[Any] | None = None
        self._thread: threading.Thread | None = None
        self._cancels: queue.SimpleQueue[tuple[str, int] | None] = queue.SimpleQueue()
        self._canceller: threading.Thread | None = None

    def ask(self, topic: str, question: Question) -> int:
        """Queue ``question`` for ``topic`` and return its ticket (the answer carries
        it). Supersedes the topic's older question (dropped, or cancelled if running).
        Never blocks on the database. Raises RuntimeError once closed."""
        with self._lock:
            if self._closed:
                raise RuntimeError("history queries are closed: no more questions")
            self._tickets += 1
            ticket = self._tickets
            self._newest[topic] = ticket
            self._waiting.pop(topic, None)  # re-inserted last: topics take turns
            self._waiting[topic] = (ticket, question)
            if self._running is not None and self._running[0] == topic:
                self._cancels.put(self._running)
            self._start_threads()
            self._lock.notify()
        return ticket

    def is_current(self, topic: str, ticket: int) -> bool:
        """Whether ``ticket`` is still the newest question of ``topic``."""
        with self._lock:
            return self._newest.get(topic) == ticket

    @property
    def busy(self) -> bool:
        """A question is running or waiting."""
        with self._lock:
            return self._running is not None or bool(self._waiting)

    def close(self, timeout_s: float = 5.0) -> None:
        """Drop the waiting questions, cancel the running one, stop both threads and
        close the connection. Blocks up to about ``timeout_s``; safe to call twice."""
        with self._lock:
            self._closed = True
            self._waiting.clear()
            if self._running is not None:
                self._cancels.put(self._running)
            self._lock.notify()
        if self._thread is not None:
            self._thread.join(timeout_s)
        if self._canceller is not None:
            self._cancels.put(None)
            self._canceller.join(timeout_s)
        self._thread = self._canceller = None

    # -- the threads ------------------------------------------------------------------

    def _start_threads(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._serve, name="history-queries")
            self._thread.start()
            self._canceller = threading.Thread(target=self._cancel_loop, name="history-cancel")
            self._canceller.start()

    def _serve(self) -> None:
        try:
            while (job := self._next()) is not None:
                topic, ticket, question = job
                answer = self._answer(topic, ticket, question)
                if answer.cancelled and self.is_current(topic, ticket):
                    # A cancel meant for the question before hit this one: ask again.
                    answer = self._answer(topic, ticket, question)
                with self._lock:
                    self._running = None
                    current = self._newest.get(topic) == ticket and not self._closed
                if current:
                    self.answered.emit(answer)
        finally:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def _next(self) -> tuple[str, int, Question] | None:
        with self._lock:
            while not self._waiting and not self._closed:
                self._lock.wait()
            if self._closed:
                return None
            topic = next(iter(self._waiting))
            ticket, question = self._waiting.pop(topic)
            self._running = (topic, ticket)
            return topic, ticket, question

    def _answer(self, topic: str, ticket: int, question: Question) -> HistoryAnswer:
        try:
            conn = self._connection()
            return HistoryAnswer(topic, ticket, result=question(conn))
        except psycopg.errors.QueryCanceled as exc:
            return HistoryAnswer(
                topic, ticket, error=f"history query cancelled: {exc}", cancelled=True
            )
        except (psycopg.Error, CredentialsError, OSError) as exc:
            if self._conn is not None and self._conn.closed:
                self._conn = None  # reconnect at the next question
            log.warning("history query failed: %s", exc)
            return HistoryAnswer(topic, ticket, error=f"history could not be read: {exc}")
        except Exception as exc:  # a question's own refusal (an unknown tag) or a bug:
            # the asker hears of it, and the thread stays up for the next question.
            log.exception("history question failed")
            return HistoryAnswer(topic, ticket, error=f"history could not be read: {exc}")

    def _connection(self) -> psycopg.Connection[Any]:
        if self._conn is None or self._conn.closed:
            dsn = self._dsn()
            if not dsn:
                raise psycopg.OperationalError("the database is not open yet")
            given = conninfo_to_dict(dsn)
            info = writer_conninfo(make_conninfo("", application_name="ald-gui history", **given))
            conn = psycopg.connect(info, autocommit=True)
            conn.execute(f"SET statement_timeout = {STATEMENT_TIMEOUT_MS}")
            with self._lock:
                self._conn = conn
        return self._conn

    def _cancel_loop(self) -> None:
        while (job := self._cancels.get()) is not None:
            with self._lock:
                conn = self._conn if self._running == job else None
            if conn is None:
                continue  # it ended meanwhile
            try:
                conn.cancel_safe(timeout=5.0)
            except (psycopg.Error, OSError) as exc:  # the query ended meanwhile, or the link
                log.info("history query not cancelled: %s", exc)
