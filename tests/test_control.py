"""The HTTP run control of the headless service, in process, with the real engine."""

from __future__ import annotations

import itertools
import json
import socket
import stat
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from ald_gui.config.models import AppConfig
from ald_gui.domain.commands import StartRun, StopRun
from ald_gui.domain.events import RunRefused, WriteConfirmed, WriteFailed
from ald_gui.domain.stream import RunEnded, RunStarted
from ald_gui.engine.control_access import ControlTokenError, read_token, token_path
from tests.control_harness import Answer, Control, open_control
from tests.fixtures.pg import scalar
from tests.fixtures.plc import quick
from tests.recording import settle


@contextmanager
def _control(config: AppConfig, dsn: str, data_dir: Path, **server: Any) -> Iterator[Control]:
    """An engine polling fast, recording into ``dsn``, with its run control started
    (``server``: the ControlServer's keyword arguments); both stopped after."""
    engine, recording, control = open_control(quick(config, 0.05), dsn, data_dir, **server)
    try:
        yield Control(engine, control, recording, read_token(data_dir), data_dir)
    finally:
        control.stop()
        engine.shutdown()


@pytest.fixture
def control(sim_config: AppConfig, migrated_pg_dsn: str, tmp_path: Path) -> Iterator[Control]:
    with _control(sim_config, migrated_pg_dsn, tmp_path / "data") as control:
        yield control


def test_start_answers_with_the_run_and_stop_with_its_end(control: Control, qtbot: QtBot) -> None:
    answer = control.call(qtbot, "POST", "/runs/start?operator=alice&note=w17")
    assert answer.status == 200, answer.body
    # The run is the service account's; the name typed is kept in the note.
    run = answer.body["run"]
    assert (run["operator"], run["note"]) == ("control port", "w17 (operator: alice)")
    run_id = answer.body["run"]["id"]

    answer = control.call(qtbot, "POST", "/runs/start?operator=bob")
    assert answer.status == 409 and "active" in answer.body["error"]

    answer = control.call(qtbot, "GET", "/status")
    assert answer.status == 200 and answer.body["run"]["id"] == run_id

    # Parameters may come as a JSON body too.
    answer = control.call(
        qtbot,
        "POST",
        "/runs/stop",
        headers={"Content-Type": "application/json"},
        body=json.dumps({"reason": "done"}).encode(),
    )
    assert answer.status == 200, answer.body
    assert answer.body["ended"]["run_id"] == run_id and answer.body["ended"]["reason"] == "done"

    answer = control.call(qtbot, "POST", "/runs/stop")
    assert answer.status == 409 and "no run is active" in answer.body["error"]


def test_a_start_without_an_operator_runs_under_the_service_account(
    control: Control, qtbot: QtBot
) -> None:
    answer = control.call(qtbot, "POST", "/runs/start")
    assert answer.status == 200, answer.body
    assert (answer.body["run"]["operator"], answer.body["run"]["note"]) == ("control port", "")
    assert control.call(qtbot, "POST", "/runs/stop").status == 200
    assert control.call(qtbot, "POST", "/nowhere").status == 404


FORM = {"Content-Type": "application/x-www-form-urlencoded"}

# (what it stands for, method, path, token, headers, body, status, words in the error)
NOT_DELIBERATE = [
    ("a web page's form, no token", "POST", "/runs/start?operator=x", None, FORM,
     b"operator=x", 401, "no token"),
    ("a wrong token", "POST", "/runs/start?operator=x", "guessed", {}, None, 401, "wrong token"),
    ("a rebound DNS name", "POST", "/runs/start?operator=x", "own",
     {"Host": "attacker.example:8765"}, None, 403, "Host"),
    ("a rebound DNS name reading", "GET", "/status", "own", {"Host": "attacker.example"}, None,
     403, "Host"),
    ("a web page's script", "POST", "/runs/start?operator=x", "own",
     {"Origin": "http://attacker.example"}, None, 403, "web pages"),
    ("a link followed", "GET", "/runs/start?operator=x", "own", {}, None, 405, "POST only"),
    ("a form with the token", "POST", "/runs/start", "own", FORM, b"operator=x", 415,
     "x-www-form-urlencoded"),
    ("a text/plain body", "POST", "/runs/start", "own", {"Content-Type": "text/plain"},
     b'{"operator": "x"}', 415, "text/plain"),
    ("reading without a token", "GET", "/status", None, {}, None, 401, "no token"),
]  # fmt: skip


def test_requests_that_are_not_from_a_deliberate_client_are_refused_and_change_nothing(
    control: Control, qtbot: QtBot, migrated_pg_dsn: str
) -> None:
    for what, method, path, token, headers, body, status, words in NOT_DELIBERATE:
        answer = control.call(qtbot, method, path, token=token, headers=headers, body=body)
        assert (answer.status, answer.body["ok"]) == (status, False), (what, answer.body)
        assert words in answer.body["error"], (what, answer.body)
        if status == 401:
            assert answer.headers["WWW-Authenticate"].startswith("Bearer"), what
            assert str(token_path(control.data_dir)) in answer.body["error"], what
        if status == 405:
            assert answer.headers["Allow"] == "POST", what

    # A start that got through would be applied before the next poll: after two more
    # batches none has come, and the engine is idle.
    seen = len(control.recording.batches)
    settle(qtbot, lambda: control.recording.batches_after(seen) >= 2, 5.0, "two batches")
    assert control.recording.run_items == [] and control.engine.run is None
    # And the database holds only the one run started by a deliberate client: the
    # stream is ordered, so a run started by a refused request would be there first.
    ok = control.call(qtbot, "POST", "/runs/start?operator=alice")
    assert ok.status == 200, ok.body
    assert control.call(qtbot, "POST", "/runs/stop").status == 200
    query = "SELECT count(*) FROM process_executions WHERE ended_at IS NOT NULL"
    settle(qtbot, lambda: scalar(migrated_pg_dsn, query) >= 1, 10.0, "the run to be committed")
    assert scalar(migrated_pg_dsn, "SELECT count(*) FROM process_executions") == 1
    named = " AND operator = 'control port' AND note = 'operator: alice'"
    assert scalar(migrated_pg_dsn, query + named) == 1


def test_the_token_file_is_private_and_kept(control: Control, tmp_path: Path) -> None:
    path = token_path(control.data_dir)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert len(control.token) >= 40  # 32 random bytes, base64
    assert read_token(control.data_dir) == control.token  # the same at the next start

    other = tmp_path / "other"
    token_path(other).parent.mkdir(parents=True)
    token_path(other).write_text("readable\n")
    token_path(other).chmod(0o644)
    with pytest.raises(ControlTokenError, match=r"readable by other users \(mode 0644\).*remove"):
        read_token(other)
    missing = r"no run-control token .*is `ald-gui headless` running"
    with pytest.raises(ControlTokenError, match=missing):
        read_token(tmp_path / "nowhere")


def test_the_unix_socket_serves_with_the_token(
    sim_config: AppConfig, migrated_pg_dsn: str, tmp_path: Path, qtbot: QtBot
) -> None:
    socket_path = tmp_path / "control.sock"
    socket_path.write_bytes(b"")  # not a socket: refused, by name, not overwritten
    with pytest.raises(OSError, match=r"control\.sock: exists and is not a socket"):
        open_control(quick(sim_config, 0.05), migrated_pg_dsn, tmp_path / "d0", port=None,
              socket_path=socket_path)  # fmt: skip
    assert socket_path.read_bytes() == b""
    socket_path.unlink()

    data_dir = tmp_path / "data"
    engine, recording, server = open_control(
        quick(sim_config, 0.05), migrated_pg_dsn, data_dir, port=None, socket_path=socket_path
    )
    try:
        assert server.port is None
        assert stat.S_ISSOCK(socket_path.stat().st_mode)
        assert stat.S_IMODE(socket_path.stat().st_mode) == 0o600
        control = Control(engine, server, recording, read_token(data_dir), data_dir)
        assert control.call(qtbot, "GET", "/status", token=None).status == 401
        answer = control.call(qtbot, "POST", "/runs/start?operator=alice")
        assert answer.status == 200 and answer.body["run"]["note"] == "operator: alice", answer.body
        assert control.call(qtbot, "GET", "/status").body["run"]["id"] == answer.body["run"]["id"]
    finally:
        server.stop()
        engine.shutdown()
    assert not socket_path.exists()


def test_each_of_many_concurrent_clients_gets_the_answer_to_its_own_request(
    sim_config: AppConfig, migrated_pg_dsn: str, tmp_path: Path, qtbot: QtBot
) -> None:
    clients, rounds = 6, 10
    data_dir = tmp_path / "data"
    engine, recording, server = open_control(quick(sim_config, 0.02), migrated_pg_dsn, data_dir)
    control = Control(engine, server, recording, read_token(data_dir), data_dir)
    # An alarm action, nobody's request: it ends every other run as soon as it starts,
    # so a stop a client sends meanwhile reaches a poll thread that has no run and is
    # refused there; the alarm's own outcome must reach no client.
    assert engine.poller is not None
    poller = engine.poller
    runs_seen = itertools.count()

    def alarm(item: object) -> None:
        if isinstance(item, RunStarted) and next(runs_seen) % 2 == 0:
            poller.submit(StopRun("alarm"))

    engine.run_changed.connect(alarm)

    def client(k: int) -> list[tuple[str, Answer]]:
        answers = []
        for i in range(rounds):
            name = f"client{k}-{i}"
            path = f"/runs/start?operator={name}" if (k + i) % 2 else f"/runs/stop?reason={name}"
            answers.append((name, control.fetch("POST", path)))
        return answers

    try:
        with ThreadPoolExecutor(clients) as pool:
            futures = [pool.submit(client, k) for k in range(clients)]
            settle(qtbot, lambda: all(f.done() for f in futures), 60.0, "every client")
            answers = [a for f in futures for a in f.result()]
        engine.run_changed.disconnect(alarm)
    finally:
        server.stop()
        engine.shutdown()
    outcomes: dict[int, object] = {}
    for item in [*recording.run_items, *recording.events]:
        request_id = getattr(item, "request_id", None)
        if request_id is not None:
            assert request_id not in outcomes, f"two outcomes for request {request_id}"
            outcomes[request_id] = item

    by_kind = {"started": 0, "ended": 0, "refused later": 0, "refused at once": 0}
    ids = [a.body["request"] for _, a in answers if "request" in a.body]
    assert len(ids) == len(set(ids)), "two answers name the same request"
    for name, answer in answers:
        body = answer.body
        if answer.status == 409 and "request" not in body:
            by_kind["refused at once"] += 1  # refused on the engine's thread, never submitted
            continue
        outcome = outcomes[body["request"]]
        if answer.status == 200 and body["run"]:
            assert body["run"]["note"] == f"operator: {name}", (name, body)
            assert isinstance(outcome, RunStarted) and str(outcome.run.id) == body["run"]["id"]
            by_kind["started"] += 1
        elif answer.status == 200:
            assert body["ended"]["reason"] == name, (name, body)
            assert isinstance(outcome, RunEnded) and outcome.reason == name
            by_kind["ended"] += 1
        else:
            assert answer.status == 409, (name, body)
            assert isinstance(outcome, RunRefused) and outcome.reason == body["error"]
            by_kind["refused later"] += 1
    assert by_kind["started"] and by_kind["ended"], by_kind
    assert len(recording.started) == by_kind["started"]
    assert sum(i.reason == "alarm" for i in recording.ended) >= by_kind["started"] // 2


def test_a_refusal_by_the_poll_thread_goes_to_the_one_that_asked(
    control: Control, qtbot: QtBot
) -> None:
    started = control.call(qtbot, "POST", "/runs/start?operator=alice")
    assert started.status == 200, started.body
    assert control.engine.poller is not None
    poller = control.engine.poller
    fired = threading.Event()

    def alarm(*_: object) -> None:
        # Just after the stop below is handed to the engine's thread (and before the
        # engine submits it), an alarm action ends the run on the poll thread.
        if not fired.is_set():
            poller.submit(StopRun("alarm"))
            fired.set()

    control.server._bridge.call.connect(alarm, Qt.ConnectionType.DirectConnection)
    with ThreadPoolExecutor(1) as pool:
        future = pool.submit(control.fetch, "POST", "/runs/stop?reason=bob")
        # The engine's thread (this one) takes up the stop only after the alarm's.
        assert fired.wait(10)
        qtbot.waitUntil(future.done, timeout=15000)
        answer = future.result()
    # The alarm's end is not this request's answer: its stop found no run.
    assert answer.status == 409 and "no run is active" in answer.body["error"], answer.body
    settle(qtbot, lambda: control.recording.ended, 5.0, "the alarm's end")
    (ended,) = control.recording.ended
    assert ended.reason == "alarm" and ended.request_id is None
    refusals = [e for e in control.recording.events if isinstance(e, RunRefused)]
    assert [r.request_id for r in refusals] == [answer.body["request"]]


def test_a_request_the_busy_engine_did_not_take_up_in_time_is_not_carried_out(
    sim_config: AppConfig, migrated_pg_dsn: str, tmp_path: Path, qtbot: QtBot
) -> None:
    with _control(sim_config, migrated_pg_dsn, tmp_path / "data", answer_timeout_s=0.2) as control:
        # This thread is the engine's, and it does not run Qt's loop until the answer
        # has come: the engine is as busy as it can be.
        with ThreadPoolExecutor(1) as pool:
            answer = pool.submit(control.fetch, "POST", "/runs/start?operator=late").result(10)
        assert answer.status == 503 and "nothing was done" in answer.body["error"], answer.body
        # Now the engine's loop runs again: the request it missed stays undone.
        seen = len(control.recording.batches)
        settle(qtbot, lambda: control.recording.batches_after(seen) >= 2, 5.0, "two batches")
        assert control.recording.run_items == [] and control.engine.run is None
        assert control.call(qtbot, "POST", "/runs/start?operator=alice").status == 200


def test_outcomes_carry_the_id_of_the_command_they_answer(
    control: Control, qtbot: QtBot, simulator: object
) -> None:
    engine, recording = control.engine, control.recording
    assert engine.poller is not None

    def outcome_of(request_id: int) -> object:
        settle(
            qtbot,
            lambda: any(getattr(i, "request_id", None) == request_id for i in recording.events
                        + recording.run_items),
            5.0,
            f"the outcome of request {request_id}",
        )  # fmt: skip
        (item,) = [
            i for i in recording.events + recording.run_items
            if getattr(i, "request_id", None) == request_id
        ]  # fmt: skip
        return item

    asked = engine.submit(StartRun("alice"))
    # Asked of the poll thread behind the engine's back: refused there, and the
    # refusal answers request 1000, not the start.
    engine.poller.submit(StartRun("bob"), request_id=1000)
    started = outcome_of(asked)
    assert isinstance(started, RunStarted) and started.run.operator == "alice"
    refused = outcome_of(1000)
    assert isinstance(refused, RunRefused) and "alice" in refused.reason

    write = engine.write_tag("chamber_heater.temperature_set", 180.0)
    confirmed = outcome_of(write)
    assert isinstance(confirmed, WriteConfirmed) and confirmed.readback == pytest.approx(180.0)
    failed = outcome_of(engine.write_tag("chamber_heater.temperature_set", 5000.0))
    assert isinstance(failed, WriteFailed) and "outside" in failed.reason
    stop = engine.stop_run("done")
    ended = outcome_of(stop)
    assert isinstance(ended, RunEnded) and ended.run_id == started.run.id
    assert len({asked, write, stop, 1000}) == 4


def test_a_connection_that_sends_nothing_is_closed_and_others_are_served(
    sim_config: AppConfig, migrated_pg_dsn: str, tmp_path: Path, qtbot: QtBot
) -> None:
    """Every connection holds a thread of the console: an idle one is let go."""
    with _control(sim_config, migrated_pg_dsn, tmp_path / "data", idle_timeout_s=0.5) as control:
        assert control.server.port is not None
        with socket.create_connection(("127.0.0.1", control.server.port), timeout=10) as idle:
            idle.sendall(b"GET /status HTTP/1.1\r\n")  # and never the rest
            assert control.call(qtbot, "GET", "/status").status == 200
            started = time.monotonic()
            assert idle.recv(1024) == b"", "the console closes the idle connection"
            assert time.monotonic() - started < 5.0
