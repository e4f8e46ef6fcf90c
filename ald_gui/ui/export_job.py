"""One export (store.export) on a thread of its own, reporting back through signals.

The thread touches no widget: it reads through the reader's conninfo and writes the
file; its signals, emitted from that thread, reach slots of the GUI thread queued.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import psycopg
from PySide6.QtCore import QObject, Signal

from ald_gui.store.credentials import CredentialsError
from ald_gui.store.export import (
    ExportCancelled,
    ExportError,
    ExportRequest,
    Progress,
    export,
)
from ald_gui.store.export_rows import CHUNK_ROWS

__all__ = ["ExportJob"]


class ExportJob(QObject):
    """``progressed(Progress)`` after every window of rows, then one of
    ``finished(ExportResult)``, ``failed(str)`` (the reason, in words) or
    ``cancelled()``. ``dsn``: the reader's conninfo, or a function giving it (called on
    the worker thread: it may read files)."""

    progressed = Signal(object)
    finished = Signal(object)
    failed = Signal(str)
    cancelled = Signal()

    def __init__(
        self,
        dsn: str | Callable[[], str],
        request: ExportRequest,
        parent: QObject | None = None,
        chunk_rows: int = CHUNK_ROWS,
    ) -> None:
        super().__init__(parent)
        self.request = request
        self._dsn = dsn if callable(dsn) else (lambda: dsn)
        self._chunk_rows = chunk_rows
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        """Start the export (once)."""
        assert self._thread is None, "an ExportJob runs once"
        self._thread = threading.Thread(target=self._run, name="export", daemon=True)
        self._thread.start()

    def cancel(self) -> None:
        """Ask the export to stop before its next window of rows (returns at once)."""
        self._stop.set()

    def wait(self, timeout_s: float = 30.0) -> bool:
        """Wait for the thread to end; True if it did."""
        if self._thread is not None:
            self._thread.join(timeout_s)
        return not self.running

    def _run(self) -> None:
        try:
            result = export(
                self._dsn(), self.request, self.progressed.emit, self._stop.is_set,
                self._chunk_rows,
            )  # fmt: skip
        except ExportCancelled:
            self.cancelled.emit()
        except ExportError as exc:
            self.failed.emit(str(exc))
        except (psycopg.Error, CredentialsError, OSError) as exc:
            self.failed.emit(f"the export failed, nothing was written: {exc}")
        else:
            self.finished.emit(result)


def describe(progress: Progress) -> str:
    """ "12,000 of about 40,000 rows"."""
    return f"{progress.rows_done:,} of about {progress.rows_estimate:,} rows"
