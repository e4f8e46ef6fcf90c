"""A plot's Y range: automatic (fitted to what the time window shows, the default) or
fixed from lo to hi in the plot's unit.

One range per plot, not per curve: the curves of a plot share its value axis. Set from
the plot's context menu ("Y range: automatic", "Y range: fixed…"), kept with the
trends' saved state (TrendView.state). On a log axis a fixed range is shown as its
logarithm; one reaching 0 or below cannot be, and the plot fits itself while log mode
is on.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping

from PySide6.QtGui import QAction
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QDoubleSpinBox, QFormLayout, QWidget

from ald_gui.ui.trends_plots import GroupPlot, PlotStack

__all__ = ["YRangeDialog", "YRanges", "checked_range"]

LIMIT = 1e12  # the largest magnitude the dialog takes


def checked_range(lo: float, hi: float) -> tuple[float, float]:
    """``(lo, hi)`` as floats; ValueError naming them unless both are finite and lo < hi."""
    a, b = float(lo), float(hi)
    if not (math.isfinite(a) and math.isfinite(b) and a < b):
        raise ValueError(f"a Y range needs finite lo < hi, got {lo!r} .. {hi!r}")
    return a, b


class YRangeDialog(QDialog):
    """Asks for a plot's fixed range, from and to in its unit, starting at ``lo``, ``hi``."""

    def __init__(self, title: str, unit: str, lo: float, hi: float, parent: QWidget) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Y range of {title}")
        self.low = self._box(lo, unit)
        self.high = self._box(hi, unit)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.buttons.accepted.connect(self._accept_if_ordered)
        self.buttons.rejected.connect(self.reject)
        form = QFormLayout(self)
        form.addRow("From", self.low)
        form.addRow("To", self.high)
        form.addRow(self.buttons)

    @staticmethod
    def _box(value: float, unit: str) -> QDoubleSpinBox:
        box = QDoubleSpinBox()
        box.setRange(-LIMIT, LIMIT)
        box.setDecimals(4)
        box.setSuffix(f" {unit}" if unit else "")
        box.setValue(value)
        return box

    def chosen(self) -> tuple[float, float]:
        return self.low.value(), self.high.value()

    def _accept_if_ordered(self) -> None:
        # An empty or upside-down range is not offered: OK waits for From < To.
        if self.low.value() < self.high.value():
            self.accept()


class YRanges:
    """The fixed Y ranges of a stack's number plots (group id -> (lo, hi)), their context
    menu entries, and applying them. ``is_log(group_id)`` says whether a plot's axis is
    logarithmic now."""

    def __init__(self, stack: PlotStack, is_log: Callable[[str], bool]) -> None:
        self._is_log = is_log
        self.fixed: dict[str, tuple[float, float]] = {}
        self.plots = {gp.group.id: gp for gp in stack.plots if not gp.group.is_state}
        self.dialog: YRangeDialog | None = None  # the open one, if any
        self._auto_actions: dict[str, QAction] = {}
        for gid, gp in self.plots.items():
            menu = gp.vb.menu
            menu.addSeparator()
            auto = menu.addAction("Y range: automatic")
            auto.setCheckable(True)
            auto.setChecked(True)
            auto.triggered.connect(lambda _=False, g=gid: self.set(g, None))
            menu.addAction("Y range: fixed…").triggered.connect(lambda _=False, g=gid: self.ask(g))
            self._auto_actions[gid] = auto

    def set(self, group_id: str, rng: tuple[float, float] | None) -> None:
        """Fix a plot's range to ``rng`` (lo, hi in its unit), or let it fit itself (None).
        KeyError naming the plot if it has no such range (unknown, or the states' lanes);
        ValueError if the range is empty or not finite."""
        if group_id not in self.plots:
            raise KeyError(f"no number plot {group_id!r}: one of {sorted(self.plots)}")
        if rng is None:
            self.fixed.pop(group_id, None)
        else:
            self.fixed[group_id] = checked_range(*rng)
        self._auto_actions[group_id].setChecked(rng is None)
        self.apply(group_id)

    def set_all(self, ranges: Mapping[str, tuple[float, float]]) -> None:
        """Exactly these plots fixed (unknown ids skipped), every other one automatic."""
        for gid in self.plots:
            self.set(gid, ranges.get(gid))

    def is_fixed(self, group_id: str) -> bool:
        return group_id in self.fixed

    def apply(self, group_id: str) -> None:
        """Show a plot's range as it is set (after a change of log mode, too)."""
        gp = self.plots[group_id]
        rng = self.fixed.get(group_id)
        log = self._is_log(group_id)
        if rng is None or (log and rng[0] <= 0):
            gp.plot.enableAutoRange(y=True)
            return
        lo, hi = (math.log10(rng[0]), math.log10(rng[1])) if log else rng
        gp.plot.disableAutoRange(axis="y")
        gp.vb.setYRange(lo, hi, padding=0)

    def ask(self, group_id: str) -> YRangeDialog:
        """Open (not modal to the application) the dialog fixing a plot's range, starting
        at what it shows now; OK applies it."""
        gp: GroupPlot = self.plots[group_id]
        lo, hi = gp.vb.viewRange()[1]
        if self._is_log(group_id):
            lo, hi = 10.0**lo, 10.0**hi
        unit = group_id if group_id != gp.group.title else ""
        dialog = YRangeDialog(gp.group.title, unit, lo, hi, gp.vb.getViewWidget())
        dialog.accepted.connect(lambda: self.set(group_id, dialog.chosen()))
        dialog.finished.connect(lambda: self._closed(dialog))
        self.dialog = dialog
        dialog.open()
        return dialog

    def _closed(self, dialog: YRangeDialog) -> None:
        # The dialog that closed, not whichever is the newest.
        dialog.deleteLater()
        if self.dialog is dialog:
            self.dialog = None
