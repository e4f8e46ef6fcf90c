"""Two tools, one central server: two real consoles (``ald-gui headless`` processes, each
with its own simulator, data directory, machine name and database login) recording runs
into one Debian PostgreSQL 15 database that a DBA set up with ``ald-gui db init``, as the
README's *Pointing two consoles at one server* tells a new user to. Each holds its own
lease; doctor is clean for each machine; a third console started with a machine name
that is taken is refused, naming the console that holds it, and records nothing; both
machines' runs show in ``ald-gui runs list`` and in the window's runs list (the runs
browser), and its machine filter narrows them to one machine's.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
import tomli_w
from psycopg import sql
from psycopg.conninfo import make_conninfo
from pytestqt.qtbot import QtBot

from ald_gui.cli.db_cmd import ADMIN_PASSWORD_ENV
from ald_gui.config.load import load_config
from ald_gui.engine.history_queries import HistoryQueries
from ald_gui.sim.server import Simulator
from ald_gui.ui.run_questions import RunQuestions
from ald_gui.ui.runs_list import RunsList
from tests.console_process import Console, write_config
from tests.fixtures.debian_pg import DebianCluster
from tests.fixtures.pg import scalar
from tests.fixtures.plc import frozen_clock
from tests.recording import Audit, spool_contents
from tests.waiting import wait_until

TAGS = len(load_config().polled_tags)
READER_ENV = "ALD_GUI_DB_READER_PASSWORD"


@pytest.fixture
def fab_db(debian_server: DebianCluster) -> Iterator[str]:
    """An empty database of its own on the Debian server: what ``createdb`` gives a DBA."""
    name = f"fab_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(debian_server.admin_dsn(), autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield name
    finally:
        with psycopg.connect(debian_server.admin_dsn(), autocommit=True) as admin:
            admin.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))


def _ald(*args: str | Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("PG", "ALD_GUI_DB"))}
    return subprocess.run(
        [sys.executable, "-m", "ald_gui", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**clean, **env},
    )


def _tool_config(path: Path, plc_port: int, dsn: str, machine: str, reader: str) -> Path:
    """The reference reactor at ``plc_port``, recording as ``machine`` into ``dsn`` (no
    password in it) with its own password variable, doctor reading as ``reader``."""
    write_config(path, plc_port=plc_port, dsn=dsn, interval_s=0.1)
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    data["database"].update(
        machine=machine, password_env=_password_env(machine), reader_user=reader
    )
    path.write_text(tomli_w.dumps(data), encoding="utf-8")
    return path


def _password_env(machine: str) -> str:
    return f"{machine.upper().replace('-', '_')}_DB_PASSWORD"


def _run_rows(dsn: str, run_id: str) -> int:
    return scalar(dsn, "SELECT count(*) FROM process_data_points WHERE run_id = %s", run_id)


@pytest.mark.timeout(600)  # five processes started, two db inits, two doctors: minutes when loaded
def test_two_consoles_record_on_one_server_each_under_its_own_lease(
    debian_server: DebianCluster,
    fab_db: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    qtbot: QtBot,
) -> None:
    suffix = uuid.uuid4().hex[:6]  # logins are cluster-wide; the session's server is shared
    machines = ("etch-ald-1", "etch-ald-2")
    logins = {m: f"console_{m.replace('-', '_')}_{suffix}" for m in machines}
    reader = f"viewer_{suffix}"
    passwords = {m: f"pw-{uuid.uuid4()}" for m in machines}
    reader_password = f"pw-{uuid.uuid4()}"
    server = make_conninfo(host="127.0.0.1", port=debian_server.port, dbname=fab_db)
    admin = make_conninfo(server, user="postgres")
    superuser = make_conninfo(admin, password=debian_server.password)

    with (
        Simulator(load_config(), clock=frozen_clock) as sim_1,
        Simulator(load_config(), clock=frozen_clock) as sim_2,
    ):
        configs = {
            m: _tool_config(
                tmp_path / f"{m}.toml", sim.port, make_conninfo(server, user=logins[m]), m, reader
            )
            for m, sim in zip(machines, (sim_1, sim_2), strict=True)
        }
        # The DBA: one db init per console, each with that console's configuration (its
        # password variable), the reader with the first.
        for i, m in enumerate(machines):
            env_name = _password_env(m)
            init = ["db", "init", "--admin-dsn", admin, "--writer", logins[m]]
            init += ["--reader", reader] if i == 0 else []
            done = _ald(
                *init, "--config", configs[m],
                env={ADMIN_PASSWORD_ENV: debian_server.password, env_name: passwords[m],
                     READER_ENV: reader_password},
            )  # fmt: skip
            assert done.returncode == 0, done.stdout + done.stderr
            assert f"login {logins[m]} is a member of ald_writer" in done.stdout
            monkeypatch.setenv(env_name, passwords[m])
        monkeypatch.setenv(READER_ENV, reader_password)

        data = {m: tmp_path / f"data-{m}" for m in machines}
        with (
            Console(configs[machines[0]], data[machines[0]], tmp_path) as one,
            Console(configs[machines[1]], data[machines[1]], tmp_path) as two,
        ):
            runs = {
                m: c.ready().start_run(f"op-{m}", "fab")
                for m, c in zip(machines, (one, two), strict=True)
            }
            for run_id in runs.values():
                wait_until(lambda r=run_id: _run_rows(superuser, r) >= 5 * TAGS, 20, "run rows")
            with psycopg.connect(superuser) as conn:
                leases = conn.execute(
                    "SELECT machine, pid, data_dir, console FROM machine_leases"
                    " WHERE expires_at > now() ORDER BY machine"
                ).fetchall()
            assert [row[:3] for row in leases] == [
                (machines[0], one.process.pid, str(data[machines[0]])),
                (machines[1], two.process.pid, str(data[machines[1]])),
            ]
            assert leases[0][3] != leases[1][3]  # two console ids, two leases

            # A third console configured as the first tool (a copied configuration) on
            # a data directory of its own: refused by name, nothing recorded.
            with Console(configs[machines[0]], tmp_path / "data-copy", tmp_path) as third:
                status = third.finished()
                refusal = third.stderr()
            assert status == 1, refusal
            assert f"machine {machines[0]} is recorded by another console" in refusal
            assert f"process {one.process.pid}" in refusal and "Traceback" not in refusal
            assert spool_contents(tmp_path / "data-copy") == (0, [])

            for c in (one, two):
                status_code, body = c.request("POST", "/runs/stop?reason=lot%20done")
                assert status_code == 200 and body["ok"], body
            for m, c in zip(machines, (one, two), strict=True):
                wait_until(lambda c=c: c.spool_depth() == 0, 20, f"{m}'s spool to drain")
                assert c.terminate() == 0, c.stderr()

    for m in machines:
        audit = Audit.read(superuser, m)
        assert audit.violations == []
        assert set(audit.history_per_instant.values()) == {TAGS}
        assert [r.status for r in audit.runs.values()] == ["completed"]
        doctor = _ald(
            "doctor", "--json", "--data", "--config", configs[m], "--data-dir", data[m],
            env={READER_ENV: reader_password},
        )  # fmt: skip
        assert doctor.returncode == 0, doctor.stdout + doctor.stderr
        assert f"of {m}" in doctor.stdout and f"user={reader}" in doctor.stdout
    # Either tool's engineer sees both machines' runs, and each machine's alone.
    env = {READER_ENV: reader_password, _password_env(machines[0]): passwords[machines[0]]}
    listed = _ald("runs", "list", "--json", "--config", configs[machines[0]], env=env)
    assert listed.returncode == 0, listed.stdout + listed.stderr
    assert {(r["machine"], r["id"]) for r in json.loads(listed.stdout)["runs"]} == {
        (m, runs[m]) for m in machines
    }
    only = _ald("runs", "list", "--json", "--machine", machines[1],
                "--config", configs[machines[0]], env=env)  # fmt: skip
    assert [r["id"] for r in json.loads(only.stdout)["runs"]] == [runs[machines[1]]]
    _runs_browser_shows_both(qtbot, make_conninfo(server, user=reader, password=reader_password),
                             {m: uuid.UUID(r) for m, r in runs.items()})  # fmt: skip


def _runs_browser_shows_both(qtbot: QtBot, reader: str, runs: dict[str, uuid.UUID]) -> None:
    """The window's runs list, reading as the reader, shows every machine's run and,
    with its machine filter set, one machine's."""
    queries = HistoryQueries(lambda: reader)
    listing = RunsList(RunQuestions(queries, "runs list"))
    qtbot.addWidget(listing)
    try:
        listing.search()
        qtbot.waitUntil(lambda: {(r.machine, r.id) for r in listing.runs} == set(runs.items()))
        second = sorted(runs)[1]
        listing.machine.setCurrentIndex(listing.machine.findData(second))
        listing.search()
        qtbot.waitUntil(lambda: [r.id for r in listing.runs] == [runs[second]])
        assert listing.message.text() == "Runs 1–1 of 1"
    finally:
        queries.close()
