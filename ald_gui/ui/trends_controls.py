"""The trends' toolbar: time window, live/paused, log pressure, and the curve chooser.

It only shows state and reports the operator's choices as signals; the TrendView
decides. The ``show_*`` methods never emit.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QCheckBox, QComboBox, QHBoxLayout, QLabel, QMenu, QToolButton, QWidget

from ald_gui.ui.trends_curves import Group

__all__ = ["WINDOWS", "TrendControls", "duration_text"]

WINDOWS: tuple[tuple[float, str], ...] = (
    (60, "1 min"),
    (300, "5 min"),
    (900, "15 min"),
    (1800, "30 min"),
    (3600, "1 h"),
    (7200, "2 h"),
    (4 * 3600, "4 h"),
    (8 * 3600, "8 h"),
)


class TrendControls(QWidget):
    window_chosen = Signal(float)  # seconds
    live_chosen = Signal(bool)  # True: follow live, False: pause
    log_chosen = Signal(bool)
    curve_chosen = Signal(str, bool)  # tag key, visible

    def __init__(self, groups: Sequence[Group], *, has_pressure: bool) -> None:
        super().__init__()
        self.window_box = QComboBox()
        self.window_box.setToolTip("Time window shown")
        for seconds, text in WINDOWS:
            self.window_box.addItem(text, float(seconds))
        self.window_box.activated.connect(
            lambda i: self.window_chosen.emit(float(self.window_box.itemData(i)))
        )
        self.live_button = QToolButton()
        self.live_button.setCheckable(True)
        self.live_button.setToolTip("Follow live data; drag or wheel on a plot to look back")
        self.live_button.clicked.connect(lambda checked: self.live_chosen.emit(checked))
        self.log_box = QCheckBox("Log pressure")
        self.log_box.setEnabled(has_pressure)
        self.log_box.toggled.connect(lambda on: self.log_chosen.emit(on))
        self.curves_button = QToolButton()
        self.curves_button.setText("Curves")
        self.curves_button.setToolTip("Choose the curves shown, plot by plot")
        self.curves_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        menu = QMenu(self.curves_button)
        self.actions_by_key: dict[str, QAction] = {}
        for group in groups:
            sub = menu.addMenu(group.title)
            for curve in group.curves:
                action = sub.addAction(curve.label)
                action.setCheckable(True)
                action.toggled.connect(lambda on, key=curve.key: self.curve_chosen.emit(key, on))
                self.actions_by_key[curve.key] = action
        self.curves_button.setMenu(menu)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(QLabel("Window"))
        for w in (self.window_box, self.live_button, self.log_box, self.curves_button):
            row.addWidget(w)
        row.addStretch(1)

    def show_live(self, live: bool) -> None:
        self.live_button.setChecked(live)
        self.live_button.setText("● Live" if live else "❚❚ Paused — back to live")

    def show_window(self, seconds: float) -> None:
        index = self.window_box.findData(seconds)
        if index < 0:  # a window set by code or restored: offer it from now on
            index = sum(
                1 for i in range(self.window_box.count()) if self.window_box.itemData(i) < seconds
            )
            self.window_box.insertItem(index, duration_text(seconds), seconds)
        self.window_box.setCurrentIndex(index)

    def show_log(self, on: bool) -> None:
        self.log_box.blockSignals(True)
        self.log_box.setChecked(on)
        self.log_box.blockSignals(False)

    def show_visible(self, visible: set[str]) -> None:
        for key, action in self.actions_by_key.items():
            action.blockSignals(True)
            action.setChecked(key in visible)
            action.blockSignals(False)


def duration_text(seconds: float) -> str:
    if seconds % 3600 == 0:
        return f"{seconds / 3600:g} h"
    if seconds % 60 == 0:
        return f"{seconds / 60:g} min"
    return f"{seconds:g} s"
