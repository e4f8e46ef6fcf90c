"""The configuration file's shape, validated by pydantic.

One TOML file holds the PLC connection, the poll schedule, the database and the tags.
Every model forbids unknown keys, so a misspelt key is an error, not a silent default.
"""

from __future__ import annotations

import re
from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ald_gui.config.accounts import AccountSettings
from ald_gui.config.alarms import AlarmSettings, check_alarms
from ald_gui.config.overview import OverviewSettings, check_key_values
from ald_gui.config.partitions import PartitionSettings
from ald_gui.config.process import ProcessSettings, check_process
from ald_gui.domain.tags import ByteOrder, Tag, WordOrder


class _Section(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class PlcSettings(_Section):
    """How to reach the PLC. Timeouts are short on purpose: a dead PLC must show
    up as a gap within one poll, not block the schedule for pymodbus's default 12 s."""

    host: str = "127.0.0.1"
    port: int = Field(default=5020, ge=1, le=65535)
    unit_id: int = Field(default=1, ge=0, le=255)
    connect_timeout_s: float = Field(default=1.0, gt=0, le=30)
    request_timeout_s: float = Field(default=0.5, gt=0, le=30)
    word_order: WordOrder = WordOrder.LOW_FIRST
    byte_order: ByteOrder = ByteOrder.BIG
    max_gap: int = Field(
        default=16,
        ge=0,
        le=124,
        description="Largest run of unrequested addresses a single read may span; "
        "0 for PLCs that reject reads of unmapped addresses.",
    )
    reconnect_min_s: float = Field(default=0.2, gt=0)
    reconnect_max_s: float = Field(default=5.0, gt=0)

    @model_validator(mode="after")
    def _backoff_ordered(self) -> Self:
        if self.reconnect_min_s > self.reconnect_max_s:
            raise ValueError(
                f"reconnect_min_s ({self.reconnect_min_s}) is above "
                f"reconnect_max_s ({self.reconnect_max_s})"
            )
        return self


class PollSettings(_Section):
    interval_s: float = Field(default=0.5, ge=0.01, le=60)


# libpq's sslmode values; "" leaves libpq's default (prefer).
SslMode = Literal["", "disable", "allow", "prefer", "require", "verify-ca", "verify-full"]

_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class DatabaseSettings(_Section):
    """Where samples go. No DSN means the embedded server in the user data directory.

    For an external server, ``dsn`` names the console's login, a member of the group role
    ``ald_writer``; ``reader_user`` names the login doctor and exports read with, a member
    of ``ald_reader`` (empty: they read as the writer's login). The passwords never live
    in this file: they come from the environment variables named here (empty: no
    password, e.g. peer or certificate authentication) or from the OS keyring.
    """

    dsn: str = ""
    password_env: str = "ALD_GUI_DB_PASSWORD"
    reader_user: str = ""
    reader_password_env: str = "ALD_GUI_DB_READER_PASSWORD"
    keyring_service: str = ""
    sslmode: SslMode = ""
    sslrootcert: str = ""
    machine: str = "ald-1"
    # How long the machine's lease outlives its console's last renewal (renewed every
    # third of it): a console out of reach this long may be replaced by another.
    lease_timeout_s: float = Field(default=30.0, ge=1, le=3600)

    @field_validator("password_env", "reader_password_env")
    @classmethod
    def _env_name(cls, value: str) -> str:
        if value and not _ENV_NAME.match(value):
            raise ValueError(
                f"{value!r} is not an environment variable name (letters, digits and _, "
                "not starting with a digit); empty for a login without a password"
            )
        return value

    @model_validator(mode="after")
    def _reader_needs_a_server(self) -> Self:
        if self.reader_user and not self.dsn:
            raise ValueError(
                f"reader_user ({self.reader_user!r}) is set but dsn is empty: the embedded "
                "server has its own reader login; set dsn to the external server, or drop "
                "reader_user"
            )
        return self


class AppConfig(_Section):
    schema_version: int = 1
    plc: PlcSettings = PlcSettings()
    poll: PollSettings = PollSettings()
    database: DatabaseSettings = DatabaseSettings()
    partitions: PartitionSettings = PartitionSettings()
    tags: tuple[Tag, ...] = ()
    process: ProcessSettings = ProcessSettings()
    alarms: tuple[AlarmSettings, ...] = ()
    overview: OverviewSettings = OverviewSettings()
    accounts: AccountSettings = AccountSettings()

    @model_validator(mode="after")
    def _process_refers_to_tags(self) -> Self:
        tags = {t.key: t for t in self.tags}
        problems = (
            check_process(self.process, tags)
            + check_alarms(self.alarms, tags)
            + check_key_values(self.overview, tags)
        )
        if problems:
            raise ValueError("; ".join(problems))
        return self

    @model_validator(mode="after")
    def _tags_distinct(self) -> Self:
        seen_keys: dict[str, int] = {}
        # Each Modbus table is its own address space: holding 2000 and input 2000
        # are different registers.
        owners: dict[tuple[str, int], int] = {}
        for i, tag in enumerate(self.tags):
            if tag.key in seen_keys:
                raise ValueError(
                    f"tags[{i}] ({tag.component} / {tag.name}) repeats tags[{seen_keys[tag.key]}]"
                )
            seen_keys[tag.key] = i
            if tag.address is None:
                continue
            table = tag.register_kind.value
            first, last = tag.register_span
            for address in range(first, last + 1):
                other = owners.get((table, address))
                if other is not None:
                    o = self.tags[other]
                    raise ValueError(
                        f"tags[{i}] ({tag.key}) and tags[{other}] ({o.key}) both use "
                        f"{table} register {address}"
                    )
                owners[(table, address)] = i
        return self

    @property
    def polled_tags(self) -> tuple[Tag, ...]:
        return tuple(t for t in self.tags if t.polled)

    def tag(self, key: str) -> Tag:
        for t in self.tags:
            if t.key == key:
                return t
        raise KeyError(f"no tag {key!r} in the configuration")
