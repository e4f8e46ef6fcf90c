"""The health strip: PLC, Database and Writer indicators, and their details view.

Each indicator says its state three ways — a colour (the ``health`` dynamic property,
styled by the theme's QSS), an icon shape (circle, triangle, octagon) and words
("PLC ok 1.8 ms", "Database LOST", "Spool 1,234 · oldest 12 s") — so it reads from
a step back and without colour vision. The rules live in ``health_watch``; this
module only shows them. Lost links show at once, on the event, not on the next
health report; a timer re-checks staleness twice a second.
"""

from __future__ import annotations

import html
import time

from PySide6.QtCore import QEvent, QSize, Qt, QTimer, Slot
from PySide6.QtGui import QCloseEvent, QIcon, QShowEvent
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from ald_gui.domain.health import PlcHealth
from ald_gui.store.health import WriterHealth
from ald_gui.ui.health_watch import (
    Clock,
    DatabaseWatch,
    Figures,
    PlcWatch,
    State,
    Verdict,
    Watch,
    WriterWatch,
)
from ald_gui.ui.theme import icon, named

__all__ = ["INDICATORS", "HealthDetails", "HealthStrip", "State"]

INDICATORS = ("plc", "database", "writer")
_TITLES = {"plc": "PLC", "database": "Database", "writer": "Writer"}
_RECHECK_MS = 500


_LABEL, _FIELD = QFormLayout.ItemRole.LabelRole, QFormLayout.ItemRole.FieldRole


def _cell(form: QFormLayout, row: int, role: QFormLayout.ItemRole) -> QLabel:
    item = form.itemAt(row, role)
    label = item.widget() if item is not None else None
    assert isinstance(label, QLabel)  # every cell of the forms here is a label
    return label


def _repolish(widget: QWidget) -> None:
    """Apply the QSS rules that depend on a dynamic property that just changed."""
    widget.style().unpolish(widget)
    widget.style().polish(widget)
    widget.update()


class HealthDetails(QDialog):
    """Every figure of the three indicators and their last errors, kept current
    while open. ``headline``, ``rows`` and ``last_error`` give what it shows."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("healthDetails")
        self.setWindowTitle("Console health")
        self._headlines: dict[str, QLabel] = {}
        self._forms: dict[str, QFormLayout] = {}
        self._errors: dict[str, QLabel] = {}
        columns = QHBoxLayout()
        columns.setSpacing(28)
        for name in INDICATORS:
            picture = QLabel()
            picture.setPixmap(icon(name).pixmap(28, 28))
            title = QHBoxLayout()
            title.addWidget(picture)
            title.addWidget(named(QLabel(f"<b>{_TITLES[name]}</b>"), "healthTitle"), 1)
            form = QFormLayout()
            form.setLabelAlignment(Qt.AlignmentFlag.AlignRight)
            error = named(QLabel(wordWrap=True), "figureValue")
            error.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            column = QVBoxLayout()
            column.addLayout(title)
            column.addWidget(headline := named(QLabel(), "healthHeadline"))
            column.addLayout(form)
            column.addWidget(named(QLabel("Last error"), "figureName"))
            column.addWidget(error)
            column.addStretch(1)
            holder = QWidget()
            holder.setLayout(column)
            holder.setFixedWidth(340)  # long errors wrap instead of widening the dialog
            columns.addWidget(holder)
            self._headlines[name], self._forms[name], self._errors[name] = headline, form, error
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.close)
        layout = QVBoxLayout(self)
        layout.addLayout(columns)
        layout.addWidget(buttons)

    def show_figures(self, name: str, verdict: Verdict, figures: Figures, error: str) -> None:
        headline = self._headlines[name]
        headline.setText(verdict.text)
        if headline.property("health") != verdict.state.value:
            headline.setProperty("health", verdict.state.value)
            _repolish(headline)
        form = self._forms[name]
        if [label for label, _ in figures] != [label for label, _ in self.rows(name)]:
            while form.rowCount():
                form.removeRow(0)
            for label, _ in figures:
                value = named(QLabel(), "figureValue")
                value.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
                form.addRow(named(QLabel(label), "figureName"), value)
        for row, (_, text) in enumerate(figures):
            _cell(form, row, _FIELD).setText(text)
        self._errors[name].setText(error or "none")

    def headline(self, name: str) -> str:
        return self._headlines[name].text()

    def rows(self, name: str) -> Figures:
        form, rows = self._forms[name], []
        for row in range(form.rowCount()):
            label, value = _cell(form, row, _LABEL), _cell(form, row, _FIELD)
            rows.append((label.text(), value.text()))
        return rows

    def last_error(self, name: str) -> str:
        return self._errors[name].text()


class HealthStrip(QWidget):
    """Slots ``on_plc_health(PlcHealth)``, ``on_writer_health(WriterHealth)`` and
    ``on_event(event)`` (any engine event; the ones about the PLC, the database and
    the writer change the indicators at once). ``state(name)`` and ``text(name)``
    give what indicator ``name`` ("plc", "database", "writer") shows; a click on one
    opens the details view. ``clock`` (monotonic seconds) is injectable for tests."""

    def __init__(
        self,
        parent: QWidget | None = None,
        *,
        clock: Clock = time.monotonic,
        stale_after_s: float = 3.0,
        slow_round_trip_s: float = 0.1,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("healthStrip")
        self._plc = PlcWatch(
            clock, stale_after_s=stale_after_s, slow_round_trip_s=slow_round_trip_s
        )
        self._database = DatabaseWatch(clock)
        self._writer = WriterWatch(clock)
        self._watches: dict[str, Watch] = {
            "plc": self._plc,
            "database": self._database,
            "writer": self._writer,
        }
        self._verdicts: dict[str, Verdict] = {}
        self._icons: dict[State, QIcon] = {}
        self._details: HealthDetails | None = None
        self._buttons: dict[str, QToolButton] = {}
        layout = QHBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.setSpacing(6)
        for name in INDICATORS:
            button = named(QToolButton(), "healthIndicator")
            button.setProperty("indicator", name)
            button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
            button.setIconSize(QSize(20, 20))
            button.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)
            button.setAccessibleName(f"{_TITLES[name]} health")
            button.clicked.connect(self.open_details)
            layout.addWidget(button)
            self._buttons[name] = button
        layout.addStretch(1)
        self._timer = QTimer(self)
        self._timer.setInterval(_RECHECK_MS)
        self._timer.timeout.connect(self.refresh)
        self._timer.start()
        self._fit()
        self.refresh()

    # -- what it shows ---------------------------------------------------------------

    def state(self, name: str) -> State:
        """The state of indicator ``name``: "ok", "warning" or "fault" (a StrEnum)."""
        return self._verdict(name).state

    def text(self, name: str) -> str:
        return self._verdict(name).text

    def indicator(self, name: str) -> QToolButton:
        self._verdict(name)  # names the valid indicators if ``name`` is not one
        return self._buttons[name]

    def _verdict(self, name: str) -> Verdict:
        if name not in self._verdicts:
            raise ValueError(f"no indicator {name!r}; the indicators are {', '.join(INDICATORS)}")
        return self._verdicts[name]

    @Slot()
    def open_details(self) -> HealthDetails:
        """Show the details view (created once, kept current while open)."""
        if self._details is None:
            self._details = HealthDetails(self)
        for each in INDICATORS:
            watch = self._watches[each]
            self._details.show_figures(
                each, self._verdicts[each], watch.figures(), watch.last_error()
            )
        self._details.show()
        self._details.raise_()
        self._details.activateWindow()
        return self._details

    # -- slots ---------------------------------------------------------------------------

    @Slot(object)
    def on_plc_health(self, health: PlcHealth) -> None:
        self._plc.report(health)
        self._show("plc")

    @Slot(object)
    def on_writer_health(self, health: WriterHealth) -> None:
        self._database.report(health)
        self._writer.report(health)
        self._show("database")
        self._show("writer")

    @Slot(object)
    def on_event(self, event: object) -> None:
        for name, watch in self._watches.items():
            if watch.on_event(event):
                self._show(name)

    @Slot()
    def refresh(self) -> None:
        """Re-apply the rules now (the timer calls this for the staleness rules)."""
        for name in INDICATORS:
            self._show(name)

    def _show(self, name: str) -> None:
        watch, button = self._watches[name], self._buttons[name]
        verdict, figures = watch.verdict(), watch.figures()
        previous = self._verdicts.get(name)
        self._verdicts[name] = verdict
        if previous is None or previous.state is not verdict.state:
            button.setProperty("health", verdict.state.value)
            button.setIcon(self._icon(verdict.state))
            _repolish(button)
        if previous != verdict:
            button.setText(f" {verdict.text}")  # a space between the icon and the words
        error = watch.last_error()
        button.setToolTip(_tooltip(_TITLES[name], verdict, [*figures, ("Last error", error)]))
        if self._details is not None and self._details.isVisible():
            self._details.show_figures(name, verdict, figures, error)

    def _icon(self, state: State) -> QIcon:
        if state not in self._icons:
            self._icons[state] = icon(state.value)
        return self._icons[state]

    # -- lifetime --------------------------------------------------------------------------

    def _fit(self) -> None:
        # Room for the usual words, so the strip does not jump as figures change.
        for button in self._buttons.values():
            words = button.fontMetrics().horizontalAdvance("Database ok 4.2 ms")
            button.setMinimumWidth(words + 2 * button.iconSize().width() + 8)

    def changeEvent(self, event: QEvent) -> None:
        if event.type() in (QEvent.Type.FontChange, QEvent.Type.StyleChange):
            self._fit()  # a theme sets the font after the strip was built
        super().changeEvent(event)

    def showEvent(self, event: QShowEvent) -> None:
        if not self._timer.isActive():
            self._timer.start()
        super().showEvent(event)

    def closeEvent(self, event: QCloseEvent) -> None:
        self._timer.stop()
        if self._details is not None:
            self._details.close()
        super().closeEvent(event)


def _short(text: str, limit: int = 100) -> str:
    """A tooltip line stays readable; the details view has the whole text."""
    if not text:
        return "none"
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _tooltip(title: str, verdict: Verdict, figures: Figures) -> str:
    rows = "".join(
        f"<tr><td>{html.escape(label)}</td><td><b>{html.escape(_short(value))}</b></td></tr>"
        for label, value in figures
    )
    return (
        f"<p><b>{html.escape(title)}: {html.escape(verdict.text)}</b></p>"
        f"<table cellspacing='2'>{rows}</table><p><i>Click for details</i></p>"
    )
