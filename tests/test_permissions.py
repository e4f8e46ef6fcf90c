"""Permissions checked in the engine: every role against every command (refused before
anything is sent, naming the missing permission), nobody logged in refused, a run's
operator the logged-in account, the control port's service account answered 403."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from pytestqt.qtbot import QtBot

from ald_gui.config.models import AppConfig
from ald_gui.domain.accounts import Actor, PermissionDenied, Role
from ald_gui.domain.commands import (
    AbortRun,
    AcknowledgeAlarm,
    Command,
    PauseRun,
    RemoveFromService,
    ResumeRun,
    ReturnToService,
    ShelveAlarm,
    StartRun,
    StopRun,
    UnshelveAlarm,
    WriteTag,
)
from ald_gui.domain.events import WriteConfirmed, WriteFailed
from ald_gui.domain.machine import RunNotPossible
from ald_gui.domain.recipe import Purge, Recipe, Step
from ald_gui.domain.stream import RunStatus
from ald_gui.engine.control_access import read_token
from ald_gui.engine.engine import Engine
from ald_gui.store.accounts import LoginRefused
from ald_gui.store.recipe_library import RecipeLibrary
from tests.control_harness import Control, open_control
from tests.fixtures.pg import scalar
from tests.recipe_run import fast
from tests.recording import Recording, settle

V, OP, E, M, A = Role.VIEWER, Role.OPERATOR, Role.ENGINEER, Role.MAINTENANCE, Role.ADMINISTRATOR
RUNNERS = {OP, E, M, A}
PEOPLE = (V, OP, E, M, A)
ALARM = "chamber_heater.over_temperature"
RECIPE = Recipe(name="purge only", steps=(Step.of(Purge(ms=100)),))


def _draft_of(recipe: Recipe) -> Recipe:
    """The released version's number with other content: a draft, whatever it says."""
    return recipe.model_copy(update={"description": "changed after the release"})


# What each command needs, as the operator's table in the README says it.
TABLE: dict[str, tuple[Command, set[Role], str]] = {
    "start": (StartRun("alice"), RUNNERS, "start a run"),
    "start released": (StartRun("alice", recipe=RECIPE), RUNNERS, "start a run"),
    # A viewer is refused the run itself first; an operator the draft.
    "start draft": (StartRun("alice", recipe=_draft_of(RECIPE)), {E, M, A}, "run a draft recipe"),
    "stop": (StopRun("done"), RUNNERS, "stop a run"),
    "stop as aborted": (StopRun("bad", RunStatus.ABORTED), RUNNERS, "abort a run"),
    "pause": (PauseRun(), RUNNERS, "stop a run"),
    "resume": (ResumeRun(), RUNNERS, "start a run"),
    "abort": (AbortRun("leak"), RUNNERS, "abort a run"),
    "open a valve": (WriteTag("valve_1.valve_state", True), RUNNERS, "toggle valves"),
    "switch a heater": (WriteTag("chamber_heater.power_on", True), RUNNERS, "toggle valves"),
    "setpoint": (WriteTag("chamber_heater.temperature_set", 150.0), RUNNERS, "write setpoints"),
    "acknowledge": (AcknowledgeAlarm(ALARM), RUNNERS, "acknowledge alarms"),
    "shelve": (ShelveAlarm(ALARM, 60, "sensor swap"), {E, M, A}, "shelve alarms"),
    "unshelve": (UnshelveAlarm(ALARM), {E, M, A}, "shelve alarms"),
    "out of service": (RemoveFromService(ALARM, "repair"), {M, A}, "put alarms out of service"),
    "back in service": (ReturnToService(ALARM), {M, A}, "put alarms out of service"),
}


@pytest.fixture(scope="module")
def unopened(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    """An engine never opened, whose library released RECIPE: a command that passes the
    permission check is refused next for the engine not being open, nothing is sent."""
    from ald_gui.config.load import load_config

    data_dir = tmp_path_factory.mktemp("permissions") / "data"
    library = RecipeLibrary.of_data_dir(data_dir)
    library.release(RECIPE.name, library.save_new_version(RECIPE).version, "erik")
    yield Engine(load_config(), data_dir=data_dir)


@pytest.mark.parametrize("role", PEOPLE)
@pytest.mark.parametrize("name", TABLE)
def test_every_role_is_refused_what_its_permissions_do_not_allow(
    unopened: Engine, role: Role, name: str
) -> None:
    command, allowed, permission = TABLE[name]
    actor = Actor("someone", role)
    if role in allowed:
        with pytest.raises(RunNotPossible, match="the engine is not open") as passed:
            unopened.submit(command, by=actor)
        assert not isinstance(passed.value, PermissionDenied)
    else:
        with pytest.raises(PermissionDenied) as refused:
            unopened.submit(command, by=actor)
        if role is V and isinstance(command, StartRun):
            permission = "start a run"
        assert str(refused.value) == f"someone ({role}) lacks the permission to {permission}"
        assert refused.value.permission == permission


@pytest.mark.parametrize("name", TABLE)
def test_nobody_logged_in_may_nothing(unopened: Engine, name: str) -> None:
    unopened.log_out()
    with pytest.raises(PermissionDenied, match="nobody is logged in: log in to"):
        unopened.submit(TABLE[name][0])


def test_a_released_recipe_needs_only_the_released_permission(unopened: Engine) -> None:
    # The operator may run exactly the released content, not a draft of the same name.
    operator = Actor("olga", Role.OPERATOR)
    with pytest.raises(RunNotPossible, match="not open"):
        unopened.submit(StartRun("", recipe=RECIPE), by=operator)
    with pytest.raises(PermissionDenied, match="run a draft recipe"):
        unopened.submit(StartRun("", recipe=RECIPE.model_copy(update={"version": 2})), by=operator)


@pytest.fixture
def engine(sim_config: AppConfig, migrated_pg_dsn: str, tmp_path: Path) -> Iterator[Engine]:
    e = Engine(fast(sim_config), data_dir=tmp_path / "data", dsn=migrated_pg_dsn)
    e.open()
    yield e
    e.shutdown()


def test_a_logged_in_operator_runs_under_its_account_and_a_viewer_sends_nothing(
    engine: Engine, migrated_pg_dsn: str, qtbot: QtBot
) -> None:
    recording = Recording.of(engine)
    book = engine.accounts
    admin = book.create_first_administrator("ada", "Ada Admin", "correct horse battery").actor
    book.add(admin, "olga", "Olga Operator", "operator", "first password")
    book.add(admin, "vic", "Vic Viewer", "viewer", "first password")
    for user in ("olga", "vic"):
        book.change_password(user, "first password", f"{user}'s own password")

    assert engine.log_in("vic", "vic's own password") == Actor("vic", Role.VIEWER, "Vic Viewer")
    with pytest.raises(PermissionDenied, match=r"vic \(viewer\) lacks the permission to toggle"):
        engine.write_tag("valve_1.valve_state", True)

    with pytest.raises(LoginRefused, match="wrong user name or password"):
        engine.log_in("olga", "not her password")
    olga = engine.log_in("olga", "olga's own password")
    assert engine.session == olga
    confirmed = engine.write_tag("chamber_heater.temperature_set", 120.0)
    settle(
        qtbot,
        lambda: any(
            isinstance(e, WriteConfirmed) and e.request_id == confirmed for e in recording.events
        ),
        10,
        "the operator's write confirmed",
    )
    # The viewer's write was never sent: the only write outcome is the operator's.
    writes = [e for e in recording.events if isinstance(e, WriteConfirmed | WriteFailed)]
    assert [(w.tag, w.request_id) for w in writes] == [
        ("chamber_heater.temperature_set", confirmed)
    ]

    engine.start_run("Bob at the door", "first wafer")
    settle(qtbot, lambda: engine.run is not None, 10, "the run started")
    assert engine.run is not None and engine.run.operator == "olga"
    engine.log_out()
    with pytest.raises(PermissionDenied, match="nobody is logged in: log in to stop a run"):
        engine.stop_run("done")
    engine.act_as(olga)
    engine.stop_run("done")
    settle(qtbot, lambda: engine.run is None, 10, "the run ended")
    settle(
        qtbot,
        lambda: (
            scalar(
                migrated_pg_dsn,
                "SELECT count(*) FROM process_executions WHERE operator = 'olga'"
                " AND note = 'first wafer (operator: Bob at the door)' AND status = 'completed'",
            )
            == 1
        ),
        20,
        "the run recorded under olga's account with the typed name in its note",
    )
    engine.log_out()
    accounts = (
        "('administrator create', 'user create', 'password change', 'login', 'login failed',"
        " 'logout')"
    )
    query = f"SELECT count(*) FROM audit_entries WHERE action IN {accounts}"
    settle(qtbot, lambda: scalar(migrated_pg_dsn, query) == 10, 10, "the account entries")
    with psycopg.connect(migrated_pg_dsn) as conn:
        entries = conn.execute(
            "SELECT account, role, action, object FROM audit_entries"
            f" WHERE action IN {accounts} ORDER BY position"
        ).fetchall()
    assert entries == [
        ("ada", "administrator", "administrator create", "ada"),
        ("ada", "administrator", "user create", "olga"),
        ("ada", "administrator", "user create", "vic"),
        ("olga", "operator", "password change", "olga"),
        ("vic", "viewer", "password change", "vic"),
        ("vic", "viewer", "login", "vic"),
        ("console", "system", "login failed", "olga"),
        ("olga", "operator", "login", "olga"),
        ("olga", "operator", "logout", "olga"),  # the first log_out
        ("olga", "operator", "logout", "olga"),  # after act_as(olga) again
    ]


@pytest.fixture
def viewer_port(sim_config: AppConfig, migrated_pg_dsn: str, tmp_path: Path) -> Iterator[Control]:
    data_dir = tmp_path / "data"
    engine, recording, server = open_control(
        fast(sim_config), migrated_pg_dsn, data_dir, port_role=Role.VIEWER
    )
    try:
        yield Control(engine, server, recording, read_token(data_dir), data_dir)
    finally:
        server.stop()
        engine.shutdown()


def test_the_control_port_answers_403_for_a_viewer_service_account(
    viewer_port: Control, qtbot: QtBot
) -> None:
    answer = viewer_port.call(qtbot, "POST", "/runs/start?operator=alice")
    assert answer.status == 403
    assert answer.body == {
        "ok": False,
        "error": "control port (viewer) lacks the permission to start a run",
    }
    assert viewer_port.call(qtbot, "GET", "/status").status == 200
    assert viewer_port.engine.run is None and not viewer_port.recording.started
