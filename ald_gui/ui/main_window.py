"""The console window: the home screen (Overview and Trends) in the middle, the process
column (alarm banner, run, recipe) and the docks (parameters, recipes, alarms, event log)
in a column at the left, the key values across the top, the health strip along the bottom.

The window only paints and reacts. It is wired to the engine by signals; every PLC and
database operation happens in the engine's threads.
"""

from __future__ import annotations

import getpass
from contextlib import suppress
from pathlib import Path

from PySide6.QtCore import QByteArray, QSettings, Qt, Slot
from PySide6.QtGui import QAction, QCloseEvent
from PySide6.QtWidgets import (
    QApplication,
    QMainWindow,
    QTabWidget,
)

from ald_gui.domain.accounts import PermissionDenied
from ald_gui.domain.commands import AbortRun, Command, PauseRun, ResumeRun, StartRun, StopRun
from ald_gui.domain.health import PlcHealth
from ald_gui.domain.machine import RunNotPossible
from ald_gui.domain.recipe import Recipe
from ald_gui.domain.recipe_progress import RecipeProgress
from ald_gui.domain.stream import RunEnded, RunStatus, now_us
from ald_gui.engine.engine import Engine
from ald_gui.store.health import WriterHealth
from ald_gui.store.recipe_library import LibraryError, RecipeLibrary
from ald_gui.ui.alarm_screens import AlarmScreens
from ald_gui.ui.banner_words import BannerConditions
from ald_gui.ui.closing import CloseAsk, CloseChoice, ask_close
from ald_gui.ui.event_log import EventLog
from ald_gui.ui.event_text import Denied, WriteAsked
from ald_gui.ui.health import HealthStrip
from ald_gui.ui.journal_reader import JournalReader, reader_dsn
from ald_gui.ui.key_values import KeyValues
from ald_gui.ui.overview import ReactorOverview
from ald_gui.ui.parameters import ParameterTable
from ald_gui.ui.process_panel import Confirm, ProcessPanel, ask
from ald_gui.ui.recipe_page import RecipePage
from ald_gui.ui.recipe_run import AskReason, RecipeRunPanel, ask_abort_reason
from ald_gui.ui.runs_window import RunsWindow
from ald_gui.ui.shift_reading import read_last_shift
from ald_gui.ui.signature_dialog import AskSignature
from ald_gui.ui.theme import apply_theme, available_themes
from ald_gui.ui.trends import TrendView
from ald_gui.ui.window_accounts import WindowAccounts
from ald_gui.ui.window_layout import (
    LAYOUT_VERSION,
    LEFT,
    dock,
    fixed_dock,
    process_column,
    size_column,
    tabified,
)


class MainWindow(QMainWindow):
    def __init__(
        self,
        engine: Engine,
        *,
        settings: QSettings | None = None,
        confirm: Confirm = ask,
        close_ask: CloseAsk = ask_close,
        ask_reason: AskReason = ask_abort_reason,
        idle_ms: int | None = None,
        ask_signature: AskSignature | None = None,
    ) -> None:
        """``idle_ms``: the idle logout (default: the configuration's);
        ``ask_signature``: the signature dialog (a test's hand instead)."""
        super().__init__()
        self.setWindowTitle(f"ALD console — {engine.machine}")
        self.engine = engine
        self._settings = settings or QSettings("ald-gui", "console")
        self._close_ask = close_ask
        self._unattended_close = ""  # why the system closes the console (a signal)
        config = engine.config
        interval = config.poll.interval_s

        self.panel = ProcessPanel(confirm=confirm)
        self._shift_reader = JournalReader(lambda: reader_dsn(engine), self)
        self.conditions = BannerConditions()  # what the banner says besides the run
        self.trends = TrendView(config.tags, poll_interval_s=interval)
        self.trends.attach_history(engine.history, engine.machine)
        self.parameters = ParameterTable(config.tags, poll_interval_s=interval)
        self.health = HealthStrip()
        self.events = EventLog(tags=config.tags)
        self.events.alarm_names = {a.id: a.name or a.id for a in config.alarms}
        self.recipes = RecipePage(config, confirm=confirm)
        self.recipe_run = RecipeRunPanel(
            config.process, {t.key: t.unit for t in config.tags}, ask_reason=ask_reason
        )
        self.library: RecipeLibrary | None = None
        self.alarms = AlarmScreens(engine, self.panel.operator.text, parent=self)
        self.runs = RunsWindow(
            engine.history, engine.reader_dsn, lambda: engine.dsn, self._who,
            process=config.process, journal=engine.audit, parent=self,
        )  # fmt: skip
        self.accounts = WindowAccounts(self, engine, idle_ms=idle_ms, ask_signature=ask_signature)

        self.overview = (
            ReactorOverview(self.parameters.sheet, Path(config.overview.picture), confirm=confirm)
            if config.overview.picture
            else None
        )
        if self.overview is not None:  # the home screen, with the trends one click away
            self.screens = QTabWidget()
            self.screens.setDocumentMode(True)
            self.screens.addTab(self.overview, "Overview")
            self.screens.addTab(self.trends, "Trends")
            self.setCentralWidget(self.screens)
        else:
            self.setCentralWidget(self.trends)
        # The arrangement and why: window_layout.py.
        column = process_column(self.alarms.banner, self.panel, self.recipe_run)
        self.process = fixed_dock(self, column)  # where the eye is
        parameters = dock(self, "Parameters", self.parameters, LEFT)
        recipes = dock(self, "Recipes", self.recipes, LEFT, scrolled=True)
        events = dock(self, "Event log", self.events, LEFT, scrolled=True)
        alarms = dock(self, "Alarms", self.alarms.tabs, LEFT, scrolled=True)
        tabified(self, self.process, [parameters, recipes, alarms, events])
        self.docks = [parameters, recipes, events, alarms]
        # Pinned across the whole width, above everything: read from two metres.
        self.key_values = KeyValues(self.parameters.sheet, config.overview.key_values)
        if self.key_values.tiles:
            top = dock(self, "Key values", self.key_values, Qt.DockWidgetArea.TopDockWidgetArea)
            self.docks.insert(0, top)
        # First start: 1600 x 1000 (the size the key values' legibility is measured at);
        # later starts restore whatever the operator arranged.
        self.resize(1600, 1000)
        self.statusBar().addPermanentWidget(self.accounts.bar)
        self.statusBar().addPermanentWidget(self.health, 1)
        size_column(self, self.process, parameters)
        self._first_layout = self.saveState(LAYOUT_VERSION)  # what View ▸ Reset layout goes back to
        self._build_menu()
        self._wire()
        self._restore()

    # -- construction --------------------------------------------------------------

    def _build_menu(self) -> None:
        view = self.menuBar().addMenu("&View")
        # Every dock can be closed; here each one comes back (a tick shows it is open).
        for d in self.docks:
            view.addAction(d.toggleViewAction())
        reset = QAction("Reset layout", self)
        reset.setToolTip("Every dock back where it was at the first start")
        reset.triggered.connect(self.reset_layout)
        view.addAction(reset)
        view.addSeparator()
        for name in available_themes():
            action = QAction(f"{name.title()} theme", self)
            action.triggered.connect(lambda _=False, n=name: self.set_theme(n))
            view.addAction(action)
        self.alarms.add_menu(self.menuBar(), self)
        history = QAction("Run history…", self)
        history.setShortcut("Ctrl+H")
        history.triggered.connect(self.runs.open)
        self.menuBar().addMenu("&Runs").addAction(history)
        self.accounts.menu.add_to(self.menuBar())

    def _wire(self) -> None:
        e = self.engine
        e.sampled.connect(self.trends.add_batch)
        e.sampled.connect(self.parameters.update_values)
        for slot in (
            self.panel.show_run,
            self.recipe_run.show_run,
            self.trends.mark_run,
            self.events.add,
        ):
            e.run_changed.connect(slot)
        for slot in (
            self.panel.show_refusal,
            self.recipe_run.show_progress,
            self._mark_cycle,
            self.parameters.on_event,
            self.health.on_event,
            self.events.add,
        ):
            e.occurred.connect(slot)
        e.alarms_changed.connect(self.parameters.show_alarms)
        e.alarms_changed.connect(self.key_values.show_alarms)
        if self.overview is not None:
            e.alarms_changed.connect(self.overview.show_alarms)
            self.overview.write_requested.connect(self._write)
        e.alarms_changed.connect(self.events.on_alarm_board)
        e.plc_health.connect(self.health.on_plc_health)
        e.plc_health.connect(self._on_plc_health)
        e.writer_health.connect(self.health.on_writer_health)
        e.writer_health.connect(self._on_writer_health)
        e.run_changed.connect(self._on_run_changed)
        self.panel.start_requested.connect(self._start_run)
        self.panel.stop_requested.connect(self._stop_run)
        self.parameters.write_requested.connect(self._write)
        self.parameters.limit_crossed.connect(self.events.add)
        self.recipe_run.pause_requested.connect(lambda: self._submit(PauseRun()))
        self.recipe_run.resume_requested.connect(lambda: self._submit(ResumeRun()))
        signed = self.accounts.signed
        self.recipe_run.abort_requested.connect(
            lambda why: signed.submit(AbortRun(why), self._submit)
        )
        self.alarms.asked = lambda command: signed.submit(command, self.alarms.submit)
        self.recipes.release_requested.connect(self._release)
        self.recipes.saved.connect(lambda _: self._list_recipes())
        self.alarms.message.connect(lambda text: self.statusBar().showMessage(text, 8000))
        self.alarms.denied.connect(self.denied)
        self.accounts.gate(
            self.panel,
            self.recipe_run,
            self.parameters,
            self.recipes,
            self.alarms.list,
            self.alarms.banner,
            self.runs,
        )
        if self.overview is not None:
            self.accounts.gate(self.overview)

    # -- persistence ---------------------------------------------------------------

    def _restore(self) -> None:
        s = self._settings
        geometry = s.value("window/geometry")
        if isinstance(geometry, QByteArray):
            self.restoreGeometry(geometry)
        state = s.value("window/state")
        if isinstance(state, QByteArray):
            self.restoreState(state, LAYOUT_VERSION)  # an older arrangement's: refused
        trends = s.value("trends/state")
        if isinstance(trends, dict):
            self.trends.restore(trends)
        self.panel.operator.setText(str(s.value("operator/last", "")))
        self.set_theme(str(s.value("look/theme", "dark")))

    def _save(self) -> None:
        s = self._settings
        s.setValue("window/geometry", self.saveGeometry())
        s.setValue("window/state", self.saveState(LAYOUT_VERSION))
        s.setValue("trends/state", self.trends.state())
        s.setValue("operator/last", self.panel.operator.text())
        s.setValue("look/theme", self._theme)
        s.sync()

    def reset_layout(self) -> None:
        """Every dock shown and back where it was at the first start."""
        self.restoreState(self._first_layout, LAYOUT_VERSION)
        for d in [self.process, *self.docks]:
            d.show()
        if self.overview is not None:
            self.screens.setCurrentWidget(self.overview)

    def set_theme(self, name: str) -> None:
        if name not in available_themes():
            name = "dark"
        self._theme = name
        app = QApplication.instance()
        if isinstance(app, QApplication):
            apply_theme(app, name)

    def _who(self) -> str:
        """Whom a golden marking names: the logged-in account, else the operator field,
        else the login name of this computer's user (as ``ald-gui runs golden``)."""
        session = self.engine.session
        if session is not None:
            return session.account
        return self.panel.operator.text().strip() or getpass.getuser()

    # -- engine --------------------------------------------------------------------

    def engine_opened(self) -> None:
        self.panel.set_ready(True)
        self.accounts.login.at_start()  # the account book is open now
        self._read_last_shift()
        # After the engine opened its data directory, so the library folder is made
        # inside one whose permissions are settled.
        try:
            self.library = RecipeLibrary.of_data_dir(self.engine.data_dir)
        except (OSError, LibraryError) as exc:
            self.panel.message.setText(f"The recipe library cannot be used: {exc}")
            return
        self.recipes.set_library(self.library)
        self._list_recipes()

    @Slot(str, int)
    def _release(self, name: str, version: int) -> None:
        if self.library is not None and self.accounts.signed.release(self.library, name, version):
            self.recipes.refresh()
            self._list_recipes()

    def _read_last_shift(self) -> None:
        read_last_shift(self.events, self._shift_reader, self.engine.machine, self.statusBar())

    def _list_recipes(self) -> None:
        if self.library is not None:
            self.panel.recipe.refresh(self.library)
            if self.panel.recipe.problem:
                self.panel.message.setText(f"Recipes left out: {self.panel.recipe.problem}")

    @Slot(object)
    def _mark_cycle(self, event: object) -> None:
        if isinstance(event, RecipeProgress):
            self.trends.mark_cycle(event, self.recipe_run.step_words(event, lead=False))
            if self.conditions.on_progress(event):
                self.panel.show_conditions(self.conditions.now())

    @Slot(object)
    def _on_writer_health(self, health: WriterHealth) -> None:
        if self.conditions.on_writer_health(health):
            self.panel.show_conditions(self.conditions.now())

    @Slot(object)
    def _on_run_changed(self, item: object) -> None:
        if isinstance(item, RunEnded):
            self.conditions.recipe_ended()
            self.panel.show_conditions(self.conditions.now())

    @Slot(object)
    def _on_plc_health(self, health: PlcHealth) -> None:
        self.parameters.set_link_state(health.connected)
        if self.conditions.on_plc_health(health):
            self.panel.show_conditions(self.conditions.now())

    @Slot(str, str, object)
    def _start_run(self, operator: str, note: str, recipe: Recipe | None) -> None:
        self._submit(StartRun(operator, note, recipe=recipe))

    def _submit(self, command: Command) -> None:
        try:
            self.engine.submit(command)
        except PermissionDenied as exc:
            self.denied(exc)
            self.panel.refused(exc)
        except RunNotPossible as exc:
            self.panel.refused(exc)

    def denied(self, exc: PermissionDenied) -> None:
        """The engine refused a command for its permission: said in the event log."""
        self.events.add(Denied(now_us(), str(exc)))

    @Slot()
    def _stop_run(self) -> None:
        self._submit(StopRun())

    @Slot(str, object)
    def _write(self, key: str, value: object) -> None:
        assert isinstance(value, int | float | bool)
        row = self.parameters.sheet.by_key.get(key)
        before = row.value if row is not None else None
        try:
            request = self.engine.write_tag(key, value)
        except PermissionDenied as exc:
            self.denied(exc)
            self.statusBar().showMessage(f"Write not sent: {exc}", 5000)
            return
        except RunNotPossible as exc:  # the engine is not open yet
            self.statusBar().showMessage(f"Write not sent: {exc}", 5000)
            return
        who = self.engine.session.account if self.engine.session else ""
        self.events.expect_write(request, WriteAsked(before, who))

    # -- closing -------------------------------------------------------------------

    def close_unattended(self, reason: str) -> None:
        """Close without asking anyone (SIGTERM from a logout or a service manager:
        nobody may be at the screen): a run in progress ends as aborted, for ``reason``."""
        self._unattended_close = reason
        self.close()

    def closeEvent(self, event: QCloseEvent) -> None:
        run = self.engine.run
        if run is not None:
            if self._unattended_close:
                status, reason = RunStatus.ABORTED, self._unattended_close
            else:
                choice = self._close_ask(self, f"Run {str(run.id)[:8]} by {run.operator}")
                if choice is CloseChoice.CANCEL:
                    event.ignore()
                    return
                status = RunStatus.COMPLETED if choice is CloseChoice.END_RUN else RunStatus.ABORTED
                reason = "console closed by the operator"
            # A stop already on its way (or a run that just ended) needs no second one.
            with suppress(RunNotPossible):
                self.engine.stop_run(reason, status)
        self._save()
        self.alarms.stop()
        self.runs.stop()
        self.accounts.stop()
        self._shift_reader.stop()
        QApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
        try:
            # Blocks until every sample is in the spool and the threads have stopped.
            self.engine.shutdown()
        finally:
            QApplication.restoreOverrideCursor()
        event.accept()
