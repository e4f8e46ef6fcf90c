"""The HTTP run control of the headless service, in process, with the real engine."""

from __future__ import annotations

import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.error import HTTPError
from urllib.request import Request, urlopen

import pytest
from pytestqt.qtbot import QtBot

from ald_gui.config.models import AppConfig
from ald_gui.engine.control import ControlServer
from ald_gui.engine.engine import Engine
from tests.fixtures.plc import quick


@pytest.fixture
def control(sim_config: AppConfig, migrated_pg_dsn: str, tmp_path: Path) -> Iterator[str]:
    engine = Engine(quick(sim_config, 0.05), data_dir=tmp_path / "data", dsn=migrated_pg_dsn)
    engine.open()
    server = ControlServer(engine)
    server.start()
    yield f"http://127.0.0.1:{server.port}"
    server.stop()
    engine.shutdown()


def _call(qtbot: QtBot, method: str, url: str) -> tuple[int, dict[str, Any]]:
    """The request runs on a thread while this one spins Qt's loop: the engine answers
    through queued signals, as it does in the service."""

    def fetch() -> tuple[int, dict[str, Any]]:
        try:
            with urlopen(Request(url, method=method), timeout=10) as answer:
                return answer.status, json.loads(answer.read())
        except HTTPError as err:
            return err.code, json.loads(err.read())

    with ThreadPoolExecutor(1) as pool:
        future = pool.submit(fetch)
        qtbot.waitUntil(future.done, timeout=15000)
        return future.result()


def test_start_answers_with_the_run_and_stop_with_its_end(control: str, qtbot: QtBot) -> None:
    status, body = _call(qtbot, "POST", f"{control}/runs/start?operator=alice&note=w17")
    assert status == 200 and body["run"]["operator"] == "alice" and body["run"]["note"] == "w17"
    run_id = body["run"]["id"]

    status, body = _call(qtbot, "POST", f"{control}/runs/start?operator=bob")
    assert status == 409 and "active" in body["error"]

    status, body = _call(qtbot, "GET", f"{control}/status")
    assert status == 200 and body["run"]["id"] == run_id

    status, body = _call(qtbot, "POST", f"{control}/runs/stop?reason=done")
    assert status == 200 and body["ended"]["run_id"] == run_id and body["ended"]["reason"] == "done"

    status, body = _call(qtbot, "POST", f"{control}/runs/stop")
    assert status == 409 and "no run is active" in body["error"]


def test_a_start_without_an_operator_is_refused(control: str, qtbot: QtBot) -> None:
    status, body = _call(qtbot, "POST", f"{control}/runs/start")
    assert status == 409 and "operator" in body["error"]
    status, _ = _call(qtbot, "POST", f"{control}/nowhere")
    assert status == 404
