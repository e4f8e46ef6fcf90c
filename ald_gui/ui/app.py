"""Starting the console: the application, the window, then the engine behind it.

The window shows at once ("STARTING…") while the database starts on a worker thread;
then the writer and the poll thread start, and the first sample is on screen within
about two seconds of launch (initdb included, on a fresh machine).
"""

from __future__ import annotations

import signal
import sys
import threading
from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtWidgets import QApplication, QMessageBox

from ald_gui.config.models import AppConfig
from ald_gui.engine.engine import STARTUP_ERRORS, Engine
from ald_gui.ui.main_window import MainWindow


class _DatabaseOpener(QObject):
    """Runs ``engine.open_database()`` on a worker thread; ``finished(error or None)``
    arrives queued in the GUI thread."""

    finished = Signal(object)

    def __init__(self, engine: Engine) -> None:
        super().__init__()
        self._engine = engine
        self._thread = threading.Thread(target=self._run, name="open-database", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def join(self) -> None:
        self._thread.join()

    def _run(self) -> None:
        try:
            self._engine.open_database()
        except Exception as exc:  # handed to the GUI thread, which tells the operator
            self.finished.emit(exc)
        else:
            self.finished.emit(None)


def run_console(config: AppConfig, data_dir: Path | None = None) -> int:
    """Show the console for ``config`` until the operator closes it; the exit status."""
    app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)
    app.setApplicationName("ald-gui")
    app.setOrganizationName("ald-gui")
    engine = Engine(config, data_dir=data_dir)
    window = MainWindow(engine)
    window.show()
    status = 0

    # The database starts on a thread of its own (initdb the first time, crash
    # recovery after a kill: seconds), so the window paints and reacts meanwhile.
    opener = _DatabaseOpener(engine)

    def database_opened(error: object) -> None:
        nonlocal status
        opener.join()
        if engine.is_shut_down:  # the window was closed while the database started
            return
        if error is None:
            try:
                engine.start_recording()
            except STARTUP_ERRORS as exc:
                error = exc
        if error is not None:
            QMessageBox.critical(window, "The console cannot start", str(error))
            engine.shutdown()
            status = 1
            app.quit()
            return
        window.engine_opened()

    opener.finished.connect(database_opened)
    opener.start()
    # Ctrl+C or SIGTERM (a logout, a service manager) must not leave a run open or
    # samples in memory. Python handles signals only between bytecodes: a short timer
    # keeps the interpreter ticking while Qt's loop waits.
    ticker = QTimer()
    ticker.timeout.connect(lambda: None)
    ticker.start(200)

    def stop_by_signal(number: int, _frame: object) -> None:
        # Nobody may be at the screen to answer the close dialog: end the run as
        # aborted, as headless does, and quit once the window has shut down. Deferred
        # to the event loop, since the handler may run inside any slot.
        reason = f"console stopped by {signal.Signals(number).name}"

        def close_and_quit() -> None:
            window.close_unattended(reason)
            app.quit()

        QTimer.singleShot(0, close_and_quit)

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, stop_by_signal)
    app.exec()
    ticker.stop()
    # Quit by a signal rather than the window's close (which shut down already):
    # stop whatever was started, the database too if it was still starting.
    opener.join()
    engine.shutdown()
    return status
