"""Recipe runs over the HTTP run control, in process, with the real engine, the real
simulator over TCP and the real database: start a version of the library, pause,
resume, abort, each answered by the outcome of its own request."""

from __future__ import annotations

import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import quote_plus

import pytest
from pytestqt.qtbot import QtBot

from ald_gui.cli import main
from ald_gui.config.models import AppConfig
from ald_gui.domain.recipe import Loop, Pulse, Purge, Recipe, Step
from ald_gui.domain.recipe_progress import ExecutorState, RecipeProgress
from ald_gui.engine.control_access import read_token
from ald_gui.store.recipe_library import RecipeLibrary
from tests.control_harness import Control, open_control
from tests.fixtures.pg import scalar
from tests.recipe_run import fast
from tests.recording import settle

JSON = {"Content-Type": "application/json"}
NAME = "ALD fast"
IN_URL = quote_plus(NAME)


def _cycles(count: int, valve: str = "Valve 1") -> Recipe:
    cycle = (
        Step.of(Pulse(valve=valve, ms=20)),
        Step.of(Purge(ms=60)),
        Step.of(Pulse(valve="Valve 2", ms=20)),
        Step.of(Purge(ms=60)),
    )
    return Recipe(name=NAME, steps=(Step.of(Loop(count=count, steps=cycle)),))


@pytest.fixture
def control(sim_config: AppConfig, migrated_pg_dsn: str, tmp_path: Path) -> Iterator[Control]:
    data_dir = tmp_path / "data"
    engine, recording, server = open_control(fast(sim_config), migrated_pg_dsn, data_dir)
    try:
        yield Control(engine, server, recording, read_token(data_dir), data_dir)
    finally:
        server.stop()
        engine.shutdown()


def _library(control: Control) -> RecipeLibrary:
    return RecipeLibrary.of_data_dir(control.data_dir)


def _progress(control: Control, state: ExecutorState) -> list[RecipeProgress]:
    events = control.recording.events
    return [e for e in events if isinstance(e, RecipeProgress) and e.state is state]


def test_without_a_recipe_run_pause_and_resume_are_refused(control: Control, qtbot: QtBot) -> None:
    for path in ("/runs/pause", "/runs/resume"):
        answer = control.call(qtbot, "POST", path)
        assert answer.status == 409, answer.body
        assert "no recipe is running" in answer.body["error"]
    assert control.call(qtbot, "POST", "/runs/start?operator=alice").status == 200
    answer = control.call(qtbot, "POST", "/runs/pause")
    assert answer.status == 409 and "no recipe is running" in answer.body["error"]
    status = control.call(qtbot, "GET", "/status").body
    assert status["run"]["operator"] == "control port" and status["recipe"] is None
    answer = control.call(qtbot, "POST", "/runs/abort")
    assert answer.status == 422 and "an abort needs a reason" in answer.body["error"]
    body = json.dumps({"reason": "test over"}).encode()
    answer = control.call(qtbot, "POST", "/runs/abort", headers=JSON, body=body)
    assert answer.status == 200, answer.body
    assert answer.body["ended"]["status"] == "aborted"
    assert answer.body["ended"]["reason"].startswith("test over")
    answer = control.call(qtbot, "POST", "/runs/abort?reason=again")
    assert answer.status == 409 and "no run is active" in answer.body["error"]


def test_a_recipe_or_version_the_library_lacks_is_named_and_nothing_starts(
    control: Control, qtbot: QtBot
) -> None:
    library = _library(control)
    library.save_new_version(_cycles(3))  # a draft
    demo = library.recipes()[0].name
    cases = [
        (f"recipe={IN_URL}x", 404, f"no recipe '{NAME}x'"),
        (f"recipe={IN_URL}&version=4", 404, "has no version 4 (versions: 1)"),
        (f"recipe={IN_URL}&version=two", 400, "'two' is not a version number"),
        (f"recipe={IN_URL}&version=0", 400, "'0' is not a version number"),
        ("version=1", 400, "no recipe: add recipe=NAME"),
        (f"recipe={IN_URL}", 422, "no released version (drafts: 1): release one with "),
    ]
    for query, status, words in cases:
        answer = control.call(qtbot, "POST", f"/runs/start?operator=alice&{query}")
        assert (answer.status, answer.body["ok"]) == (status, False), (query, answer.body)
        assert words in answer.body["error"], (query, answer.body)
    assert demo in control.call(qtbot, "POST", "/runs/start?operator=a&recipe=x").body["error"]
    assert control.call(qtbot, "GET", "/status").body["run"] is None
    assert control.recording.run_items == []


def test_a_recipe_that_cannot_run_is_refused_by_the_engine_saying_why(
    control: Control, qtbot: QtBot
) -> None:
    _library(control).save_new_version(_cycles(3, valve="Valve 9"))
    body = json.dumps({"operator": "alice", "recipe": NAME, "version": "1"}).encode()
    answer = control.call(qtbot, "POST", "/runs/start", headers=JSON, body=body)
    assert answer.status == 409, answer.body
    assert f"recipe '{NAME}' cannot run" in answer.body["error"]
    assert "steps[0].loop.steps[0].pulse.valve" in answer.body["error"]
    assert "Valve 9" in answer.body["error"]
    assert control.engine.run is None


def test_a_released_recipe_runs_pauses_resumes_and_aborts_over_http(
    control: Control, qtbot: QtBot, migrated_pg_dsn: str
) -> None:
    library = _library(control)
    saved = library.save_new_version(_cycles(1000))  # far longer than the test
    library.release(NAME, saved.version, by="engineer")
    answer = control.call(qtbot, "POST", f"/runs/start?operator=alice&recipe={IN_URL}")
    assert answer.status == 200, answer.body
    run = answer.body["run"]
    assert (run["recipe"], run["recipe_version"], run["recipe_sha256"]) == (NAME, 1, saved.sha256)

    settle(qtbot, lambda: len(_progress(control, ExecutorState.RUNNING)) >= 3, 10, "3 steps")
    status = control.call(qtbot, "GET", "/status").body
    assert status["recipe"]["run_id"] == run["id"] and status["recipe"]["recipe"] == NAME
    assert status["recipe"]["state"] in ("running", "pausing", "paused")
    assert status["recipe"]["loops"][0]["count"] == 1000

    answer = control.call(qtbot, "POST", "/runs/pause")
    assert answer.status == 200, answer.body
    assert answer.body["recipe"]["state"] == "pausing"
    assert answer.body["recipe"]["message"] == "pauses at the end of this step"
    settle(qtbot, lambda: _progress(control, ExecutorState.PAUSED), 10, "the pause")
    assert control.call(qtbot, "GET", "/status").body["recipe"]["state"] == "paused"
    answer = control.call(qtbot, "POST", "/runs/pause")
    assert answer.status == 409 and "only a running recipe can be paused" in answer.body["error"]

    answer = control.call(qtbot, "POST", "/runs/resume")
    assert answer.status == 200, answer.body
    assert answer.body["recipe"]["state"] == "running"
    answer = control.call(qtbot, "POST", "/runs/resume")
    assert answer.status == 409 and "no recipe is paused" in answer.body["error"]

    body = json.dumps({"reason": "end of the test"}).encode()
    answer = control.call(qtbot, "POST", "/runs/abort", headers=JSON, body=body)
    assert answer.status == 200, answer.body
    ended = answer.body["ended"]
    assert (ended["run_id"], ended["status"]) == (run["id"], "aborted")
    assert ended["reason"].startswith("end of the test")
    status = control.call(qtbot, "GET", "/status").body
    assert status["run"] is None and status["recipe"]["state"] == "aborted"

    query = (
        "SELECT count(*) FROM process_executions WHERE status = 'aborted' AND recipe_sha256 = %s"
    )
    settle(qtbot, lambda: scalar(migrated_pg_dsn, query, saved.sha256) == 1, 10, "the run's row")
    steps = "SELECT count(*) FROM run_steps WHERE run_id = %s AND kind = 'pulse'"
    assert scalar(migrated_pg_dsn, steps, run["id"]) >= 2


FORM = {"Content-Type": "application/x-www-form-urlencoded"}
NEW_ROUTES = ["/runs/pause", "/runs/resume", "/runs/abort?reason=x", f"/runs/start?recipe={IN_URL}"]
# (what it stands for, method, token, headers, body, status, words in the error)
NOT_DELIBERATE = [
    ("no token", "POST", None, {}, None, 401, "no token"),
    ("a wrong token", "POST", "guessed", {}, None, 401, "wrong token"),
    ("a rebound DNS name", "POST", "own", {"Host": "attacker.example:8765"}, None, 403, "Host"),
    ("a web page's script", "POST", "own", {"Origin": "http://attacker.example"}, None, 403,
     "web pages"),
    ("a link followed", "GET", "own", {}, None, 405, "POST only"),
    ("a form with the token", "POST", "own", FORM, b"reason=x", 415, "x-www-form-urlencoded"),
]  # fmt: skip


def test_the_recipe_routes_keep_every_rule_of_the_control_port(
    control: Control, qtbot: QtBot
) -> None:
    library = _library(control)
    library.release(NAME, library.save_new_version(_cycles(1000)).version)
    assert control.call(qtbot, "POST", f"/runs/start?operator=alice&recipe={IN_URL}").status == 200
    settle(qtbot, lambda: _progress(control, ExecutorState.RUNNING), 10, "the recipe running")
    for path in NEW_ROUTES:
        for what, method, token, headers, body, status, words in NOT_DELIBERATE:
            answer = control.call(qtbot, method, path, token=token, headers=headers, body=body)
            assert (answer.status, answer.body["ok"]) == (status, False), (path, what)
            assert words in answer.body["error"], (path, what, answer.body)
    # None got through: the recipe runs on, never paused, never aborted.
    seen = len(control.recording.batches)
    settle(qtbot, lambda: control.recording.batches_after(seen) >= 2, 5.0, "two batches")
    assert not _progress(control, ExecutorState.PAUSING)
    assert not _progress(control, ExecutorState.ABORTED)
    assert control.recording.ended == [] and control.engine.run is not None
    answer = control.call(qtbot, "POST", "/runs/abort?reason=done")
    assert answer.status == 200 and answer.body["ended"]["status"] == "aborted"


def _run_cli(qtbot: QtBot, *argv: str) -> int:
    with ThreadPoolExecutor(1) as pool:
        future = pool.submit(main, ["run", *argv])
        qtbot.waitUntil(future.done, timeout=20000)
        return future.result()


def test_ald_gui_run_starts_pauses_resumes_and_aborts_a_recipe(
    control: Control, qtbot: QtBot, capsys: pytest.CaptureFixture[str]
) -> None:
    library = _library(control)
    library.save_new_version(_cycles(1000))
    draft = library.save_new_version(_cycles(500))
    library.release(NAME, 1)
    where = ["--port", str(control.server.port), "--data-dir", str(control.data_dir)]
    assert _run_cli(qtbot, "pause", *where) == 1
    assert "no recipe is running" in capsys.readouterr().err

    # A draft runs only when named by its version.
    args = ["start", "--operator", "alice", "--recipe", NAME, "--version", "2", *where]
    assert _run_cli(qtbot, *args) == 0
    run = control.engine.run
    assert run is not None and run.recipe_sha256 == draft.sha256
    assert f"run {run.id} started by control port with {NAME} v2" in capsys.readouterr().out
    settle(qtbot, lambda: _progress(control, ExecutorState.RUNNING), 10, "the recipe running")
    assert _run_cli(qtbot, "status", *where) == 0
    out = capsys.readouterr().out
    assert f"run {run.id} by control port active; recipe '{NAME}' " in out and "of 500" in out

    assert _run_cli(qtbot, "pause", *where) == 0
    assert f"recipe '{NAME}' pausing" in capsys.readouterr().out
    settle(qtbot, lambda: _progress(control, ExecutorState.PAUSED), 10, "the pause")
    assert _run_cli(qtbot, "resume", *where) == 0
    assert f"recipe '{NAME}' running" in capsys.readouterr().out

    assert _run_cli(qtbot, "abort", *where) == 1
    assert "an abort needs a reason" in capsys.readouterr().err
    assert _run_cli(qtbot, "abort", "--reason", "wrong wafer", *where) == 0
    assert f"run {run.id} ended: aborted (wrong wafer" in capsys.readouterr().out
    assert control.engine.run is None
