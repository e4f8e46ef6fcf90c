"""Who may do what: roles, permissions, and the account a command is asked by.

Roles follow what ALD tools use (viewer, operator, engineer, maintenance, administrator);
each role is a fixed set of permissions, and the engine checks the permission a command
needs before it applies it, for the window and the control port alike. The window only
hides what the engine would refuse anyway.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from ald_gui.domain.machine import RunNotPossible


class Role(StrEnum):
    VIEWER = "viewer"
    OPERATOR = "operator"
    ENGINEER = "engineer"
    MAINTENANCE = "maintenance"
    ADMINISTRATOR = "administrator"
    # The console itself: the executor's steps, alarm actions, shutdown. Never an
    # account anyone logs in as.
    SYSTEM = "system"


class Permission(StrEnum):
    """One thing a person may be allowed to do; the value is how a refusal names it."""

    START_RUN = "start a run"
    STOP_RUN = "stop a run"
    ABORT_RUN = "abort a run"
    RUN_RELEASED_RECIPE = "run a released recipe"
    RUN_DRAFT_RECIPE = "run a draft recipe"
    WRITE_SETPOINTS = "write setpoints"
    TOGGLE_VALVES = "toggle valves"
    EDIT_RECIPE_DRAFTS = "edit recipe drafts"
    RELEASE_RECIPE = "release a recipe"
    ACKNOWLEDGE_ALARMS = "acknowledge alarms"
    SHELVE_ALARMS = "shelve alarms"
    REMOVE_ALARMS_FROM_SERVICE = "put alarms out of service"
    OVERRIDE_INTERLOCK = "override an interlock"
    MANAGE_USERS = "manage users"
    CHANGE_CONFIGURATION = "change the configuration"


_P = Permission
_OPERATOR = frozenset({
    _P.START_RUN, _P.STOP_RUN, _P.ABORT_RUN, _P.RUN_RELEASED_RECIPE,
    _P.WRITE_SETPOINTS, _P.TOGGLE_VALVES, _P.ACKNOWLEDGE_ALARMS,
})  # fmt: skip
_ENGINEER = _OPERATOR | {
    _P.RUN_DRAFT_RECIPE, _P.EDIT_RECIPE_DRAFTS, _P.RELEASE_RECIPE, _P.SHELVE_ALARMS,
}  # fmt: skip
_MAINTENANCE = _OPERATOR | {
    _P.RUN_DRAFT_RECIPE, _P.SHELVE_ALARMS, _P.REMOVE_ALARMS_FROM_SERVICE,
    _P.OVERRIDE_INTERLOCK,
}  # fmt: skip

ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    # A viewer watches: it may not even acknowledge an alarm.
    Role.VIEWER: frozenset(),
    Role.OPERATOR: _OPERATOR,
    Role.ENGINEER: frozenset(_ENGINEER),
    Role.MAINTENANCE: frozenset(_MAINTENANCE),
    Role.ADMINISTRATOR: frozenset(Permission),
    Role.SYSTEM: frozenset(Permission),
}


@dataclass(frozen=True, slots=True)
class Actor:
    """The account a command is asked by, as the engine knows it once the person logged
    in (or the control port's service account, or the console itself)."""

    account: str
    role: Role
    full_name: str = ""

    def may(self, permission: Permission) -> bool:
        return permission in ROLE_PERMISSIONS[self.role]

    def __str__(self) -> str:
        return f"{self.account} ({self.role})"


CONSOLE = Actor("console", Role.SYSTEM, "the console itself")
"""What the console does on its own: a run aborted at shutdown, a recipe's steps, an
alarm's action. Recorded as such in the audit trail."""


class PermissionDenied(RunNotPossible):
    """A command the asking account's role does not allow (or nobody logged in);
    names the missing permission. Raised by ``Engine.submit``, before anything is
    sent; the control port answers it with 403."""

    def __init__(self, actor: Actor | None, permission: Permission) -> None:
        if actor is None:
            text = f"nobody is logged in: log in to {permission}"
        else:
            text = f"{actor} lacks the permission to {permission}"
        super().__init__(text)
        self.actor = actor
        self.permission = permission
