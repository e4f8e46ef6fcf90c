"""The run history window (Runs ▸ Run history… in the console): the runs list above, the
chosen run's page below. A window of its own, so the live trends keep their room.

It owns its readers (one per screen, each a thread of its own, started at the first
question) and the writer of golden markings; ``stop`` ends them (the console calls it
when it closes).
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt, Slot
from PySide6.QtWidgets import QSplitter, QVBoxLayout, QWidget

from ald_gui.ui.run_page import RunPage
from ald_gui.ui.run_reader import RunReader
from ald_gui.ui.runs_list import RunsList

__all__ = ["RunsWindow"]


class RunsWindow(QWidget):
    def __init__(
        self,
        reader_dsn: Callable[[], str],
        writer_dsn: Callable[[], str],
        who: Callable[[], str],
        parent: QWidget | None = None,
    ) -> None:
        """``reader_dsn``: the reader role's conninfo; ``writer_dsn``: the console's
        writer login (golden markings); ``who``: the name a marking is made under."""
        super().__init__(parent, Qt.WindowType.Window)
        self.setWindowTitle("Run history")
        self.setObjectName("run-history")
        self._readers = [RunReader(reader_dsn, self) for _ in range(3)]
        self._writer = RunReader(writer_dsn, self)
        self.list = RunsList(self._readers[0])
        self.page = RunPage(self._readers[1], self._writer, self._readers[2], who)
        self.list.run_chosen.connect(self.page.show_run)
        self.page.golden_changed.connect(lambda _: self.list.search())
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.list)
        split.addWidget(self.page)
        split.setStretchFactor(1, 2)
        layout = QVBoxLayout(self)
        layout.addWidget(split)
        self.resize(1400, 900)

    @Slot()
    def open(self) -> None:
        """Show the window (raised if open) and read the first page of runs."""
        self.show()
        self.raise_()
        self.activateWindow()
        self.list.search()

    def stop(self) -> None:
        for reader in (*self._readers, self._writer):
            reader.stop()
