"""The idle watch: any keyboard or mouse input restarts it; without input it fires once."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLineEdit
from pytestqt.qtbot import QtBot

from ald_gui.ui.idle_watch import IdleWatch


def test_no_input_for_the_timeout_fires_once_and_input_restarts_it(qtbot: QtBot) -> None:
    field = QLineEdit()
    qtbot.addWidget(field)
    field.show()
    watch = IdleWatch(600)
    assert not watch.watching
    watch.start()
    qtbot.waitUntil(lambda: 0 <= watch.remaining_ms < 300, timeout=2000)
    qtbot.keyClick(field, Qt.Key.Key_A)  # the person is still there
    assert watch.remaining_ms > 300
    qtbot.mouseClick(field, Qt.MouseButton.LeftButton)
    with qtbot.waitSignal(watch.idled, timeout=2000):
        pass
    assert not watch.watching  # once: nothing more until the next login starts it


def test_a_stopped_watch_ignores_input(qtbot: QtBot) -> None:
    field = QLineEdit()
    qtbot.addWidget(field)
    watch = IdleWatch(50)
    watch.start()
    watch.stop()
    qtbot.keyClick(field, Qt.Key.Key_A)
    assert not watch.watching and watch.remaining_ms == -1
