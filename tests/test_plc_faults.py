"""The PLC link under faults, over real TCP: cut, stalled, refusing, answering errors.

What must hold: every failure is a named error within the configured timeouts, no
value is ever made up, and the link comes back by itself.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from pytestqt.qtbot import QtBot

from ald_gui.config.models import AppConfig
from ald_gui.domain.events import PlcBack, PlcLost
from ald_gui.engine.engine import Engine
from ald_gui.plc.client import PlcClient
from ald_gui.plc.errors import PlcError, PlcExceptionResponse, PlcTimeout, PlcUnreachable
from ald_gui.sim.server import Simulator
from tests.acting import TESTER
from tests.fixtures.plc import free_port, quick
from tests.waiting import wait_until


def _quick(config: AppConfig) -> AppConfig:
    return quick(config, interval_s=0.02)


@pytest.fixture
def client(sim_config: AppConfig) -> Iterator[PlcClient]:
    config = _quick(sim_config)
    with PlcClient(config.plc, config.tags) as c:
        yield c


def _polls_again(client: PlcClient) -> bool:
    try:
        client.poll()
    except PlcError:
        return False
    return True


def test_cut_link_is_a_named_error_then_reconnects(client: PlcClient, simulator: Simulator) -> None:
    client.poll()
    assert simulator.drop_connections() == 1
    with pytest.raises(PlcUnreachable):
        client.poll()
    wait_until(lambda: _polls_again(client), 5.0, "the link to come back")


def test_stalled_plc_times_out_and_late_answers_are_never_used(
    client: PlcClient, simulator: Simulator
) -> None:
    client.poll()
    simulator.stall()
    started = time.monotonic()
    with pytest.raises(PlcTimeout, match="did not answer"):
        client.poll()
    assert time.monotonic() - started < 1.0  # 0.2 s request timeout, not pymodbus's 12 s
    simulator.model.set_value("chamber_heater.temperature_set", 321.0)
    simulator.clear_faults()
    wait_until(lambda: _polls_again(client), 5.0, "the link to come back")
    assert client.poll().values["chamber_heater.temperature_set"] == pytest.approx(321.0)


def test_exception_answers_are_named(client: PlcClient, simulator: Simulator) -> None:
    simulator.answer_with_exception(4)
    with pytest.raises(PlcExceptionResponse, match=r"exception 4 \(server device failure\)"):
        client.poll()
    simulator.clear_faults()
    assert _polls_again(client)


def test_refused_connection_backs_off_without_blocking(
    simulator: Simulator, sim_config: AppConfig
) -> None:
    config = _quick(sim_config)
    simulator.refuse_connections()
    with PlcClient(config.plc, config.tags) as c:
        with pytest.raises(PlcUnreachable, match="unreachable"):
            c.poll()
        started = time.monotonic()
        with pytest.raises(PlcUnreachable, match="next attempt in"):
            c.poll()  # inside the backoff window: fails at once
        assert time.monotonic() - started < 0.05
        simulator.clear_faults()
        wait_until(lambda: _polls_again(c), 5.0, "the listener to come back")


def test_plc_read_command_reports_a_dead_plc_within_the_timeout(tmp_path: Path) -> None:
    config = tmp_path / "dead.toml"
    config.write_text(
        f"[plc]\nport = {free_port()}\nconnect_timeout_s = 0.5\n\n"
        '[[tags]]\ncomponent = "Heater"\nname = "temperature"\ndata_type = "float32"\n'
        'register_kind = "holding"\naddress = 0\nmin = 0\nmax = 100\n',
        encoding="utf-8",
    )
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "ald_gui", "plc", "read", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    assert "unreachable" in done.stderr and "Traceback" not in done.stderr
    assert time.monotonic() - started < 20  # interpreter start-up included


def test_engine_records_a_gap_and_invents_nothing(
    sim_config: AppConfig,
    simulator: Simulator,
    migrated_pg_dsn: str,
    tmp_path: Path,
    qtbot: QtBot,
) -> None:
    engine = Engine(_quick(sim_config), data_dir=tmp_path / "data", dsn=migrated_pg_dsn)
    engine.act_as(TESTER)
    engine.open()
    try:
        qtbot.waitSignal(engine.sampled, timeout=5000).wait()
        with qtbot.waitSignal(
            engine.occurred, timeout=5000, check_params_cb=lambda e: isinstance(e, PlcLost)
        ) as lost:
            simulator.stall()
        with qtbot.waitSignal(
            engine.occurred, timeout=10000, check_params_cb=lambda e: isinstance(e, PlcBack)
        ) as back:
            simulator.clear_faults()
        lost_at, back_at = lost.args[0].at_us, back.args[0].at_us
        assert back.args[0].down_s > 0
    finally:
        engine.shutdown()

    with psycopg.connect(migrated_pg_dsn) as conn:
        gaps = conn.execute("SELECT count(*) FROM plc_gaps").fetchone()
        inside = conn.execute(
            "SELECT count(*) FROM parameter_value_history WHERE sampled_at > "
            "to_timestamp(%s / 1e6) AND sampled_at < to_timestamp(%s / 1e6)",
            (lost_at, back_at),
        ).fetchone()
        total = conn.execute("SELECT count(*) FROM parameter_value_history").fetchone()
    assert gaps is not None and gaps[0] == 1  # one gap for one outage, however long
    assert inside is not None and inside[0] == 0  # no values invented during the outage
    assert total is not None and total[0] > 0
