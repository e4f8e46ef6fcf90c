"""The console's default arrangement: the home screen (the Overview and the Trends) gets
the largest part of the window.

At 1600 x 1000, under the key values pinned across the top:

- one column at the left, ``COLUMN_PX`` wide: the process column (alarm banner, run box,
  recipe box) at the top, as tall as it needs, and under it the Parameters, Recipes,
  Alarms and Event log docks, tabified, in the height the process column leaves;
- the home screen (the central widget) in all the rest, about 1000 x 800 px.

The process column is there while the run box needs only a third of the column's height,
so the docks share its column instead of taking a third of the width beside it (a column
of its own beside a 30 % dock column would leave the home screen about 670 px wide).

A layout saved by an older arrangement carries an older ``LAYOUT_VERSION``; Qt refuses to
restore it and the default stands.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import QDockWidget, QMainWindow, QScrollArea, QVBoxLayout, QWidget

# saveState's version: bumped whenever the default arrangement changes, so a state saved
# by an older one is refused (restoreState returns False) instead of half-applied.
LAYOUT_VERSION = 2
# The banner's words on one line, the run box and a running recipe's box unclipped.
COLUMN_PX = 590
LEFT = Qt.DockWidgetArea.LeftDockWidgetArea


class _Column(QWidget):
    """Never squeezed below the height its contents need at its width: the dock areas
    ignore height-for-width (wrapped words), so the column's minimum says it, again
    whenever it or a widget in it is resized, shown or hidden (the recipe box with a
    run); the docks under it give way instead."""

    def __init__(self, widgets: tuple[QWidget, ...]) -> None:
        super().__init__()
        self._layout = QVBoxLayout(self)
        for widget in widgets:
            self._layout.addWidget(widget)
            widget.installEventFilter(self)
        self._layout.addStretch(1)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() in (QEvent.Type.Show, QEvent.Type.Hide, QEvent.Type.Resize):
            self._hold()
        return False

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._hold()

    def _hold(self) -> None:
        self.setMinimumHeight(self._layout.totalHeightForWidth(self.width()))


def process_column(*widgets: QWidget) -> QWidget:
    """The widgets one under the other at their natural heights, the spare height below."""
    return _Column(widgets)


def dock(
    window: QMainWindow,
    title: str,
    widget: QWidget,
    area: Qt.DockWidgetArea,
    *,
    scrolled: bool = False,
) -> QDockWidget:
    """``widget`` in a dock named after ``title`` (the name saveState keys it by).
    ``scrolled``: in a scroll area, so the dock fits the column even where the widget's
    minimum is wider (the alarm screens want 920 px, the recipe editor 710 x 490); the
    widget fills the dock where there is room and scrolls only where there is not."""
    d = QDockWidget(title, window)
    d.setObjectName(f"dock-{title.lower().replace(' ', '-')}")
    if scrolled:
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        scroll.setWidget(widget)
        widget = scroll
    d.setWidget(widget)
    window.addDockWidget(area, d)
    return d


def fixed_dock(window: QMainWindow, column: QWidget) -> QDockWidget:
    """The process column as a dock without a title bar that cannot be closed, moved or
    floated: the alarm banner stays where the eye is, and the other docks can share its
    column."""
    d = dock(window, "Process", column, LEFT)
    d.setFeatures(QDockWidget.DockWidgetFeature.NoDockWidgetFeatures)
    d.setTitleBarWidget(QWidget())
    return d


def tabified(window: QMainWindow, below: QDockWidget, docks: list[QDockWidget]) -> None:
    """``docks`` tabified in one stack under ``below``, the first one raised."""
    first = docks[0]
    window.splitDockWidget(below, first, Qt.Orientation.Vertical)
    for d in docks[1:]:
        window.tabifyDockWidget(first, d)
    first.raise_()


def size_column(window: QMainWindow, process: QDockWidget, first: QDockWidget) -> None:
    """The left column ``COLUMN_PX`` wide, the process column as tall as it needs and the
    docks under it in the rest. Lays the window out first: before the first show the
    dock areas have no sizes yet, and resizeDocks would change nothing."""
    layout = window.layout()
    assert layout is not None  # a QMainWindow always has its own
    layout.setGeometry(window.rect())
    window.resizeDocks([process], [COLUMN_PX], Qt.Orientation.Horizontal)
    layout.setGeometry(window.rect())
    column = process.widget()  # wrapped words are taller in a narrower column
    need = max(column.sizeHint().height(), column.heightForWidth(column.width()))
    need += process.height() - column.height()  # the dock's frame
    window.resizeDocks([process, first], [need, window.height()], Qt.Orientation.Vertical)
