"""A label that keeps the room of so many lines of its text, whatever the text.

Used where a text that changes must neither move the screen around it (a PLC loss
lays nothing out again) nor widen the window (a long message): the text is cut to
its room, ending in "…", and said whole in the tooltip.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QRect, QSize, Qt
from PySide6.QtGui import QFontMetrics, QResizeEvent
from PySide6.QtWidgets import QLabel, QSizePolicy


class Lines(QLabel):
    """``lines`` lines of its text tall at every state and as narrow as it is given
    (the state banner keeps room for its conditions line); ``text()`` is what is
    shown, ``full_text()`` what was set."""

    def __init__(self, lines: int, *, wrap: bool = False) -> None:
        super().__init__()
        self.lines = lines
        self._full = ""
        self.setWordWrap(wrap)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)

    def setText(self, text: str) -> None:
        if text != self._full:
            self._full = text
            self._fit()

    def full_text(self) -> str:
        """The text as given (what is shown may end in "…")."""
        return self._full

    def sizeHint(self) -> QSize:
        return QSize(self.minimumSizeHint().width(), self._height())

    def minimumSizeHint(self) -> QSize:
        # Any width: the text is cut to it (the tooltip has it whole).
        return QSize(self.fontMetrics().averageCharWidth() * 12, self._height())

    def hasHeightForWidth(self) -> bool:
        return False  # the same height at any width

    def _height(self) -> int:
        margins = self.contentsMargins()
        frame = self.height() - self.contentsRect().height() if self.width() > 0 else 0
        frame = max(frame, margins.top() + margins.bottom())
        return self.lines * self.fontMetrics().lineSpacing() + frame + 2

    def _fit(self) -> None:
        width = self.contentsRect().width()
        shown = self._full
        if width > 0:
            metrics = self.fontMetrics()
            if self.wordWrap():
                shown = _wrapped(metrics, shown, width, self.lines)
            else:
                rows = shown.split("\n")[: self.lines]
                shown = "\n".join(
                    metrics.elidedText(r, Qt.TextElideMode.ElideRight, width) for r in rows
                )
        super().setText(shown)
        self.setToolTip(self._full if shown != self._full else "")

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._fit()

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() in (QEvent.Type.FontChange, QEvent.Type.StyleChange):
            self.updateGeometry()  # a theme's font: another line height
            self._fit()


def _wrapped(metrics: QFontMetrics, text: str, width: int, lines: int) -> str:
    """``text`` cut (and ended with "…") so that, wrapped at ``width``, it takes at most
    ``lines`` lines."""
    room = QRect(0, 0, width, 10 * lines * metrics.lineSpacing())
    flags = int(Qt.TextFlag.TextWordWrap)
    height = lines * metrics.lineSpacing()
    if metrics.boundingRect(room, flags, text).height() <= height:
        return text
    low, high = 0, len(text)  # the longest prefix that fits, with its "…"
    while low < high:
        middle = (low + high + 1) // 2
        if metrics.boundingRect(room, flags, text[:middle].rstrip() + "…").height() <= height:
            low = middle
        else:
            high = middle - 1
    return text[:low].rstrip() + "…"
