"""The audit chain after a long random sequence of actions through a real engine, the
simulator over TCP and a real PostgreSQL that is killed (-9) for a stretch of it: every
entry the poll thread made is stored exactly once, in stream order, and the chain
verifies; what was made during the outage waited in the spool."""

from __future__ import annotations

import random
import threading
from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest
from pytestqt.qtbot import QtBot

from ald_gui.config.models import AppConfig, PollSettings
from ald_gui.domain.accounts import Actor, Role
from ald_gui.domain.audit import AuditEntry
from ald_gui.domain.commands import AbortRun, AcknowledgeAlarm, StartRun, StopRun, WriteTag
from ald_gui.domain.machine import RunNotPossible
from ald_gui.engine.engine import Engine
from ald_gui.store.audit_verify import verify_chains
from ald_gui.store.server import EmbeddedServer
from tests.fixtures.pg import scalar
from tests.recording import deliver_pending_signals, settle

PEOPLE = (
    Actor("ann", Role.OPERATOR, "Ann Smith"),
    Actor("jdoe", Role.ENGINEER, "Jane Doe"),
    Actor("max", Role.MAINTENANCE, "Max Mustermann"),
)
SETPOINT = "chamber_heater.temperature_set"
STEPS = 80
OUTAGE = range(25, 50)  # the steps taken while the database is down


class Trail:
    """Every audit entry the poll thread put into the stream, as it did."""

    def __init__(self, engine: Engine) -> None:
        self.entries: list[AuditEntry] = []
        self._lock = threading.Lock()
        assert engine.poller is not None
        engine.poller.stream_event.connect(self._seen)

    def _seen(self, item: object) -> None:
        if isinstance(item, AuditEntry):
            with self._lock:
                self.entries.append(item)

    def __len__(self) -> int:
        with self._lock:
            return len(self.entries)


def _act(engine: Engine, rng: random.Random, step: int) -> None:
    """One action of a person chosen at random; every one of them makes an entry."""
    by = rng.choice(PEOPLE)
    choice = rng.randrange(6)
    if choice == 0:
        engine.submit(WriteTag(SETPOINT, round(rng.uniform(0, 1300), 1)), by=by)  # some refused
    elif choice == 1:
        engine.submit(AcknowledgeAlarm(f"alarm {step}", "seen"), by=by)  # no such alarm
    elif choice == 2:
        engine.audit("note", f"step {step}", reason=rng.choice(["", "checked", "é ✓"]), by=by)
    else:
        command = rng.choice([StartRun(by.account, f"walk {step}"), StopRun("walk"),
                              AbortRun("walk abort")])  # fmt: skip
        try:
            engine.submit(command, by=by)
        except RunNotPossible:  # a start while a run is active, a stop while idle
            engine.audit("note", f"step {step}: {command} not possible", by=by)


@pytest.mark.parametrize("seed", [20261201])
def test_the_chain_holds_after_a_random_walk_across_a_database_outage(
    seed: int,
    sim_config: AppConfig,
    private_pg_server: Callable[[], EmbeddedServer],
    tmp_path: Path,
    qtbot: QtBot,
) -> None:
    rng = random.Random(seed)
    server = private_pg_server()  # the writer migrates its empty database itself
    config = sim_config.model_copy(update={"poll": PollSettings(interval_s=0.02)})
    engine = Engine(config, data_dir=tmp_path / "data", dsn=server.dsn)
    engine.open()
    try:
        trail = Trail(engine)
        settle(qtbot, lambda: _stored(server) >= 1, 15, "the configuration's entry")
        made_in_outage = 0
        for step in range(STEPS):
            if step == OUTAGE.start:
                server.kill()
            if step == OUTAGE.stop:
                server.start()  # same address: the writer finds it again by itself
            before = len(trail)
            _act(engine, rng, step)
            settle(qtbot, lambda n=before: len(trail) > n, 10, f"the entry of step {step}")
            if step in OUTAGE:
                made_in_outage += len(trail) - before
        assert made_in_outage >= len(OUTAGE)
        settle(qtbot, lambda: _stored(server) >= len(trail), 30, "the spool to drain")
    finally:
        assert engine.shutdown()
        deliver_pending_signals()
    entries = [e for e in trail.entries if e.action != "config loaded"]
    with psycopg.connect(server.dsn) as conn:
        [check] = verify_chains(conn)
        stored = conn.execute(
            "SELECT seq, account, action, object, after, reason FROM audit_entries"
            " ORDER BY position"
        ).fetchall()
    assert check.ok, str(check)
    # The configuration's entry first; then exactly the entries made, in stream order
    # (the run aborted at shutdown, if one was left running, last).
    assert [r[2] for r in stored].count("config loaded") == 1 and stored[0][2] == "config loaded"
    assert stored[1:] == [(e.seq, e.account, e.action, e.object, e.after, e.reason)
                          for e in entries]  # fmt: skip
    actions = {e.action for e in entries}
    assert {"write", "write refused", "run start", "alarm acknowledge refused", "note"} <= actions
    print(f"{len(stored)} entries, {made_in_outage} made during the outage")  # pytest -s


def _stored(server: EmbeddedServer) -> int:
    try:
        return scalar(server.dsn, "SELECT count(*) FROM audit_entries")
    except psycopg.Error:  # not migrated yet, or down
        return -1
