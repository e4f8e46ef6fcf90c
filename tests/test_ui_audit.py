"""The audit viewer at the window: a setpoint written and a login found in the table,
the filters, and "Verify chain" naming a link broken by a superuser. Real engine,
simulator, PostgreSQL; the queries on the viewer's own thread pool."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from pytestqt.qtbot import QtBot

from ald_gui.config.models import AppConfig
from ald_gui.domain.events import WriteConfirmed
from ald_gui.ui.audit_viewer import AuditViewer
from ald_gui.ui.main_window import MainWindow
from tests.accounts_window import (
    ADMIN,
    ADMIN_PASSWORD,
    administrator,
    console_config,
    log_in,
    open_window,
)
from tests.fixtures.pg import scalar

SETPOINT = "chamber_heater.temperature_set"


@pytest.fixture
def window(
    sim_config: AppConfig, migrated_pg_dsn: str, tmp_path: Path, qtbot: QtBot
) -> Iterator[MainWindow]:
    w = open_window(
        console_config(sim_config), migrated_pg_dsn, tmp_path, qtbot, accounts=administrator
    )
    yield w
    w.close()


def _stored(dsn: str, action: str) -> int:
    return int(scalar(dsn, "SELECT count(*) FROM audit_entries WHERE action = %s", action))


def _searched(viewer: AuditViewer, qtbot: QtBot) -> list[list[str]]:
    viewer.search.click()
    qtbot.waitUntil(lambda: viewer.message.text().endswith("entries."), timeout=10000)
    return viewer.rows()


def _verified(viewer: AuditViewer, qtbot: QtBot) -> str:
    viewer.verify.click()
    qtbot.waitUntil(lambda: viewer.chain.text().startswith("Chain "), timeout=10000)
    return viewer.chain.text()


def test_the_viewer_lists_a_write_and_verify_names_a_tampered_entry(
    window: MainWindow, qtbot: QtBot, migrated_pg_dsn: str
) -> None:
    log_in(window, qtbot, ADMIN, ADMIN_PASSWORD)
    qtbot.waitUntil(lambda: window.trends.point_count() > 0, timeout=5000)
    with qtbot.waitSignal(
        window.engine.occurred,
        timeout=5000,
        check_params_cb=lambda e: isinstance(e, WriteConfirmed),
    ):
        assert window.parameters.request_write(SETPOINT, 180.0) is None
    qtbot.waitUntil(lambda: _stored(migrated_pg_dsn, "write") == 1, timeout=15000)

    viewer = window.accounts.menu.show_audit()
    rows = _searched(viewer, qtbot)
    [write] = [r for r in rows if r[3] == "write"]
    assert write[1:3] == [ADMIN, "administrator"] and write[4] == SETPOINT
    assert write[5].endswith("→ 180")
    viewer.action.setText("write")
    assert [r[3] for r in _searched(viewer, qtbot)] == ["write"]
    viewer.action.setText("")
    viewer.account.setText("nobody")
    assert _searched(viewer, qtbot) == []

    total = int(scalar(migrated_pg_dsn, "SELECT count(*) FROM audit_entries"))
    assert _verified(viewer, qtbot) == f"Chain intact ({total} entries)"
    with psycopg.connect(migrated_pg_dsn, autocommit=True) as conn:
        conn.execute("SET session_replication_role = replica")  # a superuser, triggers off
        conn.execute("UPDATE audit_entries SET after = '20' WHERE action = 'write'")
    words = _verified(viewer, qtbot)
    assert words.startswith(f"Chain BROKEN ({total} entries): first broken link at machine ")
    assert "the entry was changed" in words
