"""The Qt bindings themselves, where a bug of theirs would cost us data or a crash."""

from __future__ import annotations

import sys

from PySide6.QtCore import QCoreApplication, QObject, QThread, Signal, Slot
from pytestqt.qtbot import QtBot

CALLS = 2000


class _Emitter(QThread):
    sampled = Signal(object)

    def run(self) -> None:
        for i in range(CALLS):
            self.sampled.emit(i)


class _Receiver(QObject):
    def __init__(self) -> None:
        super().__init__()
        self.received = 0

    @Slot(object)
    def on_sample(self, _value: object) -> None:
        self.received += 1


def test_queued_slot_calls_leave_reference_counts_alone(qtbot: QtBot) -> None:
    # PySide6 6.12.0 released Py_True once per queued cross-thread slot call: the
    # interpreter aborted ("bool_dealloc") after some thousands of samples. The poll
    # thread makes such calls at every sample, so this is pinned and checked.
    receiver = _Receiver()
    emitter = _Emitter()
    emitter.sampled.connect(receiver.on_sample)
    before = sys.getrefcount(True)
    emitter.start()
    emitter.wait()
    qtbot.waitUntil(lambda: receiver.received == CALLS, timeout=5000)
    QCoreApplication.processEvents()
    assert sys.getrefcount(True) - before > -CALLS // 2
