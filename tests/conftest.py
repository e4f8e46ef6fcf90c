"""Test-wide settings and guards.

Qt runs offscreen. Every test fails if it leaves a thread running, Python's or Qt's:
a leaked poll loop or writer would make later tests flaky and hide shutdown bugs.
QThreads are invisible to ``threading.enumerate()``, so the operating system's list
of the process's threads is compared as well (Linux: /proc/self/task).
"""

from __future__ import annotations

import gc
import os
import threading
import time
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# Qt's GUI thread pool (image scaling and conversion, e.g. when a scroll bar is drawn)
# keeps its "Thread (pooled)" workers for 30 s: the guard below would take them for a
# leak. Without the pool Qt does that work in the calling thread.
os.environ.setdefault("QT_NO_GUI_THREADPOOL", "1")

pytest_plugins = [
    "tests.fixtures.pg",
    "tests.fixtures.plc",
    "tests.fixtures.modbus_peer",
]

_TASKS = Path("/proc/self/task")


def _os_threads() -> dict[int, str]:
    if not _TASKS.is_dir():
        return {}
    threads = {}
    for task in _TASKS.iterdir():
        try:
            threads[int(task.name)] = (task / "comm").read_text().strip()
        except OSError:  # ended while we looked
            continue
    return threads


def _python_threads() -> set[threading.Thread]:
    # A _DummyThread stands for a thread Python did not start (a QThread that ran
    # Python code); it never "ends" in Python's eyes, the OS list covers it.
    return {t for t in threading.enumerate() if not isinstance(t, threading._DummyThread)}


@pytest.fixture(autouse=True)
def _no_dangling_threads():
    before_py = _python_threads()
    before_os = _os_threads()
    yield
    # Qt objects a test dropped are freed now, while Qt is alive, rather than by the
    # interpreter's last collection, after the application object is gone.
    gc.collect()
    deadline = time.monotonic() + 2.0
    while True:
        leaked_py = [t for t in _python_threads() - before_py if t.is_alive()]
        leaked_os = {tid: name for tid, name in _os_threads().items() if tid not in before_os}
        if not (leaked_py or leaked_os) or time.monotonic() > deadline:
            break
        for t in leaked_py:
            t.join(timeout=0.05)
        if not leaked_py:
            threading.Event().wait(0.01)
    assert not leaked_py, f"test left Python threads running: {[t.name for t in leaked_py]}"
    assert not leaked_os, f"test left threads running: {sorted(leaked_os.values())}"
