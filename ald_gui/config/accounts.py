"""The ``[accounts]`` section: how people log in to this console.

Lockout after repeated failed logins, the idle logout, how the console starts (a login
dialog, or watching as a viewer until someone logs in), which actions need a reason for
the record, and the role of the control port's service account (its token is that
account's credential).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ald_gui.domain.accounts import Role

# What the audit trail can demand a reason for (the words the window and the control
# port use when they ask for one).
ReasonFor = Literal[
    "abort", "stop", "shelve", "out of service", "override", "write", "acknowledge", "release"
]


class AccountSettings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    # Wrong passwords in a row before the account is locked, and for how long.
    max_failed_logins: int = Field(default=5, ge=1, le=100)
    lockout_minutes: float = Field(default=15.0, gt=0, le=7 * 24 * 60)
    # A console nobody touched for this long logs its person out; 0: never.
    idle_logout_minutes: float = Field(default=30.0, ge=0, le=24 * 60)
    start_as: Literal["login", "viewer"] = "login"
    reason_required_for: tuple[ReasonFor, ...] = ("abort", "shelve", "out of service", "override")
    # A release is signed by the releasing account and, with this, by a second one.
    release_needs_second_person: bool = False
    control_port_role: Role = Role.OPERATOR

    @field_validator("control_port_role")
    @classmethod
    def _a_person_role(cls, role: Role) -> Role:
        if role is Role.SYSTEM:
            raise ValueError(
                "'system' is the console's own role, not one an account can have: use "
                "one of viewer, operator, engineer, maintenance, administrator"
            )
        return role
