"""Engine.audit and the poll thread's journal of the commands it applies, end to end:
the real simulator over TCP, the real database, the real threads."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from pytestqt.qtbot import QtBot

from ald_gui.config.models import AppConfig, PollSettings
from ald_gui.domain.accounts import Actor, Role
from ald_gui.domain.audit import Meaning, Signature
from ald_gui.domain.commands import AbortRun, ShelveAlarm, StopRun
from ald_gui.domain.machine import RunNotPossible
from ald_gui.domain.stream import RunStatus
from ald_gui.engine.engine import Engine
from tests.fixtures.pg import scalar

JANE = Actor("jdoe", Role.ENGINEER, "Jane Doe")
ABORT_NEEDS_A_REASON = (
    r"a reason is required to abort a run \(\[accounts\] reason_required_for includes 'abort'\)"
)


@pytest.fixture
def engine(sim_config: AppConfig, migrated_pg_dsn: str, tmp_path: Path) -> Iterator[Engine]:
    config = sim_config.model_copy(update={"poll": PollSettings(interval_s=0.02)})
    e = Engine(config, data_dir=tmp_path / "data", dsn=migrated_pg_dsn)
    e.open()
    yield e
    e.shutdown()


def trail(dsn: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(dsn) as conn:
        return conn.execute(
            "SELECT position, seq, account, role, action, object, before, after, reason,"
            " signatures, run_id FROM audit_entries ORDER BY position"
        ).fetchall()


def test_engine_audit_records_who_did_what_in_order_with_the_run(
    engine: Engine, qtbot: QtBot, migrated_pg_dsn: str
) -> None:
    engine.audit("login", "jdoe", by=JANE)
    engine.act_as(JANE)
    with qtbot.waitSignal(engine.run_changed, timeout=5000) as started:
        engine.start_run("jdoe")
    run_id = started.args[0].run.id
    approval = Signature("asmith", "Ann Smith", Meaning.APPROVED)
    engine.audit("recipe release", "Al2O3 v3", "draft", "released", "qualified", (approval,))
    engine.act_as(None)
    engine.audit("note", "nobody logged in")  # the console itself
    qtbot.waitUntil(
        lambda: scalar(migrated_pg_dsn, "SELECT count(*) FROM audit_entries "
                       "WHERE action = 'note'") == 1, timeout=10000,
    )  # fmt: skip
    rows = [r for r in trail(migrated_pg_dsn) if r[4] in ("login", "recipe release", "note")]
    assert [r[2:9] for r in rows] == [
        ("jdoe", "engineer", "login", "jdoe", "", "", ""),
        ("jdoe", "engineer", "recipe release", "Al2O3 v3", "draft", "released", "qualified"),
        ("console", "system", "note", "nobody logged in", "", "", ""),
    ]
    assert [r[10] for r in rows] == [None, run_id, run_id]  # stamped with the run in progress
    assert rows[1][9] == [{"account": "asmith", "full_name": "Ann Smith", "meaning": "approved"}]
    seqs = [r[1] for r in rows]
    assert seqs == sorted(seqs)


def test_engine_audit_before_the_engine_opens_is_refused_by_name(sim_config: AppConfig) -> None:
    with pytest.raises(RunNotPossible, match="'login' cannot be recorded"):
        Engine(sim_config).audit("login", "jdoe")


def test_a_reason_the_configuration_requires_is_refused_at_once_when_missing(
    engine: Engine, qtbot: QtBot, migrated_pg_dsn: str
) -> None:
    engine.act_as(JANE)
    with qtbot.waitSignal(engine.run_changed, timeout=5000):
        engine.start_run("jdoe")
    # The bundled configuration asks a reason for an abort and a shelve, not for a stop.
    for command in (AbortRun("  "), StopRun("", RunStatus.ABORTED)):
        with pytest.raises(RunNotPossible, match=ABORT_NEEDS_A_REASON):
            engine.submit(command)
    with pytest.raises(RunNotPossible, match="required to shelve an alarm"):
        engine.submit(ShelveAlarm("chamber over temperature", 60, ""))
    with qtbot.waitSignal(engine.run_changed, timeout=5000) as ended:
        engine.submit(StopRun(""))  # nothing was left pending by the refusals
    assert ended.args[0].status is RunStatus.COMPLETED
