"""Which permissions each command needs: the one table ``Engine.submit`` checks.

    StartRun                    start a run
      with a released recipe    + run a released recipe
      with a draft recipe       + run a draft recipe (a version without a release, or
                                  whose content is not the released content)
    StopRun                     stop a run (abort a run when it ends the run aborted)
    PauseRun                    stop a run (it holds the recipe)
    ResumeRun                   start a run (it carries the recipe on)
    AbortRun                    abort a run
    WriteTag on a valve         toggle valves (a valve of [process], or any on/off tag)
    WriteTag on anything else   write setpoints
    AcknowledgeAlarm            acknowledge alarms
    ShelveAlarm, UnshelveAlarm  shelve alarms
    RemoveFromService,
      ReturnToService           put alarms out of service

No Qt. ``as_asked_by`` puts the asking account into the command it asked.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from ald_gui.config.models import AppConfig
from ald_gui.domain.accounts import Actor, Permission, PermissionDenied
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
from ald_gui.domain.recipe import Recipe
from ald_gui.domain.stream import RunStatus
from ald_gui.domain.tags import DataType
from ald_gui.store.recipe_library import LibraryError, RecipeLibrary

P = Permission

Released = Callable[[Recipe], bool]
"""Whether the library holds a release of exactly this recipe (name, version, content)."""


def valve_tags(config: AppConfig) -> frozenset[str]:
    """The tags whose writes open or close something: the valves of [process] and every
    on/off (bool) tag."""
    bits = {t.key for t in config.tags if t.data_type is DataType.BOOL}
    return frozenset(bits | {v.tag for v in config.process.valves})


def needed(command: Command, valves: frozenset[str], released: Released) -> tuple[Permission, ...]:
    """The permissions ``command`` needs, all of them, in the order a refusal names
    the first missing one."""
    match command:
        case StartRun(recipe=None):
            return (P.START_RUN,)
        case StartRun(recipe=Recipe() as recipe):
            kind = P.RUN_RELEASED_RECIPE if released(recipe) else P.RUN_DRAFT_RECIPE
            return (P.START_RUN, kind)
        case StopRun(status=RunStatus.ABORTED):
            return (P.ABORT_RUN,)
        case StopRun():
            return (P.STOP_RUN,)
        case PauseRun():
            return (P.STOP_RUN,)
        case ResumeRun():
            return (P.START_RUN,)
        case AbortRun():
            return (P.ABORT_RUN,)
        case WriteTag(key=key):
            return (P.TOGGLE_VALVES if key in valves else P.WRITE_SETPOINTS,)
        case AcknowledgeAlarm():
            return (P.ACKNOWLEDGE_ALARMS,)
        case ShelveAlarm() | UnshelveAlarm():
            return (P.SHELVE_ALARMS,)
        case RemoveFromService() | ReturnToService():
            return (P.REMOVE_ALARMS_FROM_SERVICE,)
    raise TypeError(f"no permission is defined for {command!r}")


def check(
    actor: Actor | None, command: Command, valves: frozenset[str], released: Released
) -> None:
    """Raise PermissionDenied naming the first permission ``actor`` lacks for
    ``command`` (None: nobody is logged in, which may nothing)."""
    for permission in needed(command, valves, released):
        if actor is None or not actor.may(permission):
            raise PermissionDenied(actor, permission)


def releases_in(folder: Path) -> Released:
    """Whether the recipe library in ``folder`` holds a release of exactly a recipe; a
    library never made (no recipes yet) releases nothing, and an unreadable release
    marker releases nothing either. Reads a small file: quick, no database."""

    def released(recipe: Recipe) -> bool:
        if not folder.is_dir():
            return False
        try:
            release = RecipeLibrary(folder).release_of(recipe.name, recipe.version)
        except LibraryError:
            return False
        return release is not None and release.sha256 == recipe.sha256

    return released


def as_asked_by(command: Command, actor: Actor) -> Command:
    """``command`` with its operator the asking account (issue 13: runs and the alarm
    journal name accounts, not free text); a free-text operator that names someone else
    (the control port's ``operator``) goes into the run's or the acknowledgement's note,
    so nothing typed is lost."""
    match command:
        case StartRun(operator=given, note=note) | AcknowledgeAlarm(operator=given, note=note):
            return replace(command, operator=actor.account, note=_noted(note, given, actor))
        case ShelveAlarm() | UnshelveAlarm() | RemoveFromService() | ReturnToService():
            return replace(command, operator=actor.account)
    return command


def _noted(note: str, given: str, actor: Actor) -> str:
    given = given.strip()
    if not given or given == actor.account:
        return note
    return f"{note} (operator: {given})" if note.strip() else f"operator: {given}"
