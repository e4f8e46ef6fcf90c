"""Test-wide settings and guards.

Qt runs offscreen. Every test fails if it leaves a thread (Python or Qt) running:
a leaked poll loop or writer would make later tests flaky and hide shutdown bugs.
"""

from __future__ import annotations

import os
import threading

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

pytest_plugins = [
    "tests.fixtures.pg",
    "tests.fixtures.plc",
]


@pytest.fixture(autouse=True)
def _no_dangling_threads():
    before = set(threading.enumerate())
    yield
    # Daemon threads owned by session-scoped fixtures (the simulator's server loop)
    # started before the test and are in `before`.
    leaked = [
        t for t in threading.enumerate()
        if t not in before and t.is_alive() and not t.name.startswith(("asyncio_", "pytest_timeout"))
    ]
    for t in leaked:
        t.join(timeout=2.0)
    leaked = [t for t in leaked if t.is_alive()]
    assert not leaked, f"test left threads running: {[t.name for t in leaked]}"
