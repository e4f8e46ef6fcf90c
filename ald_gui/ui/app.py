"""Starting the console: the application, the window, then the engine behind it.

The window shows at once ("STARTING…"); the engine opens right after, from the event
loop, so the operator sees something within a fraction of a second and the first
sample arrives within about two (the embedded database starts in well under one).
"""

from __future__ import annotations

import signal
import sys
from pathlib import Path

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QMessageBox

from ald_gui.config.models import AppConfig
from ald_gui.engine.engine import STARTUP_ERRORS, Engine
from ald_gui.ui.main_window import MainWindow


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

    def open_engine() -> None:
        nonlocal status
        try:
            engine.open()
        except STARTUP_ERRORS as exc:
            QMessageBox.critical(window, "The console cannot start", str(exc))
            engine.shutdown()
            status = 1
            app.quit()
            return
        window.engine_opened()

    QTimer.singleShot(0, open_engine)
    # Ctrl+C or SIGTERM (a logout, a service manager) must not leave a run open or
    # samples in memory. Python handles signals only between bytecodes: a short timer
    # keeps the interpreter ticking while Qt's loop waits.
    ticker = QTimer()
    ticker.timeout.connect(lambda: None)
    ticker.start(200)
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: app.quit())
    app.exec()
    ticker.stop()
    if engine.poller is not None:  # quit without the window's close: a signal
        engine.shutdown()
    return status
