"""What each run-control request asks of the engine: its command, made from the
request's parameters (and, for a recipe run, from the recipe library), or why not.

No Qt and no HTTP plumbing here (control.py serves): a request's parameters in, a
Command or a Refusal out, so every route's rules are in one small table.

    POST /runs/start?operator=&note=[&recipe=NAME[&version=V]]
    POST /runs/stop?reason=
    POST /runs/pause | /runs/resume
    POST /runs/abort    {"reason": "..."}   (a reason is required)
    GET  /alarms        every alarm not normal (state, priority, guidance)
    POST /alarms/ack?id=ALARM[&note=&operator=]

A recipe run without ``version`` takes the recipe's latest *released* version (what
operators run); ``version`` names any version, a draft too, as the window's picker
offers it. The recipe is read on the HTTP thread, never on the engine's.
"""

from __future__ import annotations

from collections.abc import Mapping
from http import HTTPStatus
from pathlib import Path

from ald_gui.domain.commands import (
    AbortRun,
    AcknowledgeAlarm,
    Command,
    PauseRun,
    ResumeRun,
    StartRun,
    StopRun,
)
from ald_gui.domain.recipe import Recipe
from ald_gui.engine.control_access import Refusal
from ald_gui.store.recipe_library import LibraryError, RecipeLibrary, RecipeNotFound

ROUTES = {
    "/status": "GET",
    "/runs/start": "POST",
    "/runs/stop": "POST",
    "/runs/pause": "POST",
    "/runs/resume": "POST",
    "/runs/abort": "POST",
    "/alarms": "GET",
    "/alarms/ack": "POST",
}
ROUTE_LIST = (
    "GET /status, POST /runs/start, /runs/stop, /runs/pause, /runs/resume, /runs/abort, "
    "GET /alarms, POST /alarms/ack"
)


def command_for(path: str, params: Mapping[str, str], data_dir: Path) -> Command | Refusal:
    """The command a POST to ``path`` with ``params`` asks for (``data_dir``: the
    console's, whose recipe library a recipe run reads), or the answer refusing it."""
    match path:
        case "/runs/start":
            recipe = _recipe(params, data_dir)
            if isinstance(recipe, Refusal):
                return recipe
            return StartRun(params.get("operator", ""), params.get("note", ""), recipe)
        case "/runs/stop":
            return StopRun(params.get("reason", ""))
        case "/runs/pause":
            return PauseRun()
        case "/runs/resume":
            return ResumeRun()
        case "/runs/abort":
            reason = params.get("reason", "").strip()
            if not reason:
                return Refusal(
                    HTTPStatus.UNPROCESSABLE_ENTITY,
                    'an abort needs a reason for the record, e.g. {"reason": "leak at '
                    'the chamber door"}',
                )
            return AbortRun(reason)
        case "/alarms/ack":
            alarm = params.get("id", "").strip()
            if not alarm:
                return Refusal(
                    HTTPStatus.UNPROCESSABLE_ENTITY,
                    "say which alarm to acknowledge: /alarms/ack?id=ALARM (see GET /alarms)",
                )
            return AcknowledgeAlarm(alarm, params.get("note", ""), params.get("operator", ""))
    raise ValueError(f"no command for {path}")


def _recipe(params: Mapping[str, str], data_dir: Path) -> Recipe | Refusal | None:
    name = params.get("recipe", "")
    version_text = params.get("version", "").strip()
    if not name:
        if version_text:
            return Refusal(
                HTTPStatus.BAD_REQUEST, "version is given but no recipe: add recipe=NAME"
            )
        return None
    version = None
    if version_text:
        if not (version_text.isascii() and version_text.isdigit()) or int(version_text) < 1:
            return Refusal(
                HTTPStatus.BAD_REQUEST,
                f"version {version_text!r} is not a version number: a whole number from 1",
            )
        version = int(version_text)
    try:
        library = RecipeLibrary.of_data_dir(data_dir)
        if version is None:
            return library.load_released(name)
        return library.load(name, version)
    except RecipeNotFound as exc:
        return Refusal(HTTPStatus.NOT_FOUND, str(exc))
    except LibraryError as exc:  # no released version, a file that cannot be used
        return Refusal(HTTPStatus.UNPROCESSABLE_ENTITY, str(exc))
