"""The run history window (Runs ▸ Run history… in the console): the runs list above, the
chosen run's page below. A window of its own, so the live trends keep their room.

Its screens ask the console's history query thread (reader role), each under a topic
of its own; golden markings go through a query thread of the window's own on the
console's writer login, which ``stop`` ends (the console calls it when it closes).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Qt, Slot
from PySide6.QtWidgets import QSplitter, QVBoxLayout, QWidget

from ald_gui.config.process import ProcessSettings
from ald_gui.domain.accounts import Actor
from ald_gui.domain.machine import RunNotPossible
from ald_gui.engine.history_queries import HistoryQueries
from ald_gui.store.golden_runs import GoldenMark
from ald_gui.ui.run_page import ChooseReport, RunPage, choose_report
from ald_gui.ui.run_questions import RunQuestions
from ald_gui.ui.runs_list import RunsList

__all__ = ["Journal", "RunsWindow"]

Journal = Callable[[str, str, str, str], None]  # action, object, before, after


class RunsWindow(QWidget):
    def __init__(
        self,
        queries: HistoryQueries,
        reader_dsn: Callable[[], str],
        writer_dsn: Callable[[], str],
        who: Callable[[], str],
        *,
        process: ProcessSettings | None = None,
        folder: Path | None = None,
        choose: ChooseReport = choose_report,
        journal: Journal | None = None,
        parent: QWidget | None = None,
    ) -> None:
        """``queries``: the reader's query thread (``Engine.history``); ``reader_dsn``:
        its conninfo (exports and reports, on threads of their own); ``writer_dsn``: the
        console's writer login (golden markings); ``who``: whom a marking names;
        ``process``, ``folder``, ``choose``: as RunPage takes them; ``journal``: records
        an audit trail entry (``Engine.audit``), here of each golden marking."""
        super().__init__(parent, Qt.WindowType.Window)
        self.setWindowTitle("Run history")
        self.setObjectName("run-history")
        self._marker = HistoryQueries(writer_dsn, self)
        self.list = RunsList(RunQuestions(queries, "runs list", self))
        self.page = RunPage(
            RunQuestions(queries, "run page", self),
            RunQuestions(self._marker, "golden marking", self),
            RunQuestions(queries, "overlay", self),
            who,
            reader_dsn,
            process=process,
            folder=folder,
            choose=choose,
        )
        self.list.run_chosen.connect(self.page.show_run)
        self._journal = journal
        self.page.golden_marked.connect(self._marked)
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.list)
        split.addWidget(self.page)
        split.setStretchFactor(1, 3)
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

    @Slot(object, object)
    def _marked(self, mark: GoldenMark, before: uuid.UUID | None) -> None:
        """A golden marking stored: journalled (the recipe, the golden run before and
        after it, "" for none), and the list read again."""
        self.list.search()
        if self._journal is None:
            return
        try:
            self._journal(
                "golden run", f"{mark.recipe} on {mark.machine}",
                "" if before is None else str(before),
                "" if mark.run_id is None else str(mark.run_id),
            )  # fmt: skip
        except RunNotPossible as exc:  # the engine is not open: nothing can record it
            self.page.message.setText(f"The marking is stored but not journalled: {exc}")

    def set_actor(self, actor: Actor | None) -> None:
        """Who is at the window (permission_gate): greys what they may not do."""
        self.page.set_actor(actor)

    def stop(self) -> None:
        """Close, ending the marking thread (the reader's belongs to the engine), an
        export and a report under way."""
        self.close()
        self.page.stop()
        self._marker.close()
