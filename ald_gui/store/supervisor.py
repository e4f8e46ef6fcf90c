"""Keeping the embedded database server up: started again when it dies.

A server killed from outside (``kill -9``, the out-of-memory killer) would otherwise
leave the console spooling until a person restarts it. The supervisor looks at the
postmaster from a thread of its own, never the caller's, and starts the server again
with capped exponential backoff; the writer's pool finds it at the same address and the
spool drains. It says so through ``on_event`` (``DatabaseServerDied`` once per outage,
``DatabaseServerRestarted`` when it is back).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from ald_gui.domain.backoff import Backoff
from ald_gui.domain.events import DatabaseServerDied, DatabaseServerRestarted
from ald_gui.domain.stream import now_us
from ald_gui.store.server import EmbeddedServer, ServerError

__all__ = ["ServerSupervisor"]

log = logging.getLogger(__name__)

ServerEvent = DatabaseServerDied | DatabaseServerRestarted


class ServerSupervisor:
    """Watches ``server`` (already started) until ``stop()``.

    While it runs, only its thread drives the server's life cycle (EmbeddedServer is not
    thread-safe): stop the supervisor before stopping the server. ``on_event`` is called
    from the supervisor's thread and must return quickly; an exception in it is logged.
    """

    def __init__(
        self,
        server: EmbeddedServer,
        on_event: Callable[[ServerEvent], None],
        *,
        check_interval_s: float = 0.5,
        backoff: Backoff | None = None,
    ) -> None:
        self._server = server
        self._on_event = on_event
        self._check_interval_s = check_interval_s
        self._backoff = backoff or Backoff(0.5, 15.0)
        self._stopping = threading.Event()
        self._thread = threading.Thread(
            target=self._watch, name="ald-database-supervisor", daemon=True
        )

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float | None = None) -> bool:
        """End the watch; a restart under way is finished first (bounded by the server's
        own start timeout). True if the thread ended within ``timeout``."""
        self._stopping.set()
        if self._thread.is_alive():
            self._thread.join(timeout)
        return not self._thread.is_alive()

    def _watch(self) -> None:
        while not self._stopping.wait(self._check_interval_s):
            if not self._server.is_running:
                self._restart()

    def _restart(self) -> None:
        died = time.monotonic()
        log.error("embedded database server %s stopped unexpectedly", self._server.data_dir)
        self._emit(DatabaseServerDied(now_us()))
        attempts = 0
        while not self._stopping.is_set():
            attempts += 1
            try:
                self._server.start()
            except ServerError as exc:
                delay = self._backoff.next_delay()
                log.warning("database server restart %d failed (again in %.1f s): %s",
                            attempts, delay, exc)  # fmt: skip
                self._stopping.wait(delay)
                continue
            self._backoff.reset()
            down_s = time.monotonic() - died
            log.warning("embedded database server restarted after %.1f s", down_s)
            self._emit(DatabaseServerRestarted(now_us(), down_s, attempts))
            return

    def _emit(self, event: ServerEvent) -> None:
        try:
            self._on_event(event)
        except Exception:
            log.exception("database supervisor: on_event callback failed")
