"""Tags: the named values of the machine and where the PLC keeps them.

A tag is plain data (pydantic, frozen). Its register layout is derived here once, so
the read planner, the codec, the client and the simulator all agree on it.
"""

from __future__ import annotations

import re
from enum import StrEnum
from functools import cached_property
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, model_validator


class DataType(StrEnum):
    FLOAT32 = "float32"
    INT32 = "int32"
    INT16 = "int16"
    UINT16 = "uint16"
    BOOL = "bool"

    @property
    def register_count(self) -> int:
        """16-bit registers (or bits, for BOOL) that one value occupies."""
        return 2 if self in (DataType.FLOAT32, DataType.INT32) else 1

    @property
    def is_integer(self) -> bool:
        return self in (DataType.INT32, DataType.INT16, DataType.UINT16)


class RegisterKind(StrEnum):
    """The Modbus table a tag is read from (which decides the function code)."""

    HOLDING = "holding"  # FC3
    INPUT = "input"  # FC4
    COIL = "coil"  # FC1
    DISCRETE_INPUT = "discrete_input"  # FC2

    @property
    def is_bit(self) -> bool:
        return self in (RegisterKind.COIL, RegisterKind.DISCRETE_INPUT)

    @property
    def max_read_count(self) -> int:
        """Protocol limit of one read request: 2000 bits or 125 registers."""
        return 2000 if self.is_bit else 125

    @property
    def is_writable_table(self) -> bool:
        return self in (RegisterKind.HOLDING, RegisterKind.COIL)


class WordOrder(StrEnum):
    """Order of the 16-bit words of a 32-bit value."""

    HIGH_FIRST = "high_first"  # ABCD when bytes are big-endian
    LOW_FIRST = "low_first"  # CDAB when bytes are big-endian (the reference PLC)


class ByteOrder(StrEnum):
    """Order of the two bytes inside each 16-bit register."""

    BIG = "big"
    LITTLE = "little"


class Scaling(BaseModel):
    """Linear map between the raw PLC value and the engineering value.

    The reference PLC reports flows and pressures as a 0-10 V signal; the operator
    sees sccm or Pa. Writes apply the inverse.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    raw_min: float
    raw_max: float
    eng_min: float
    eng_max: float

    @model_validator(mode="after")
    def _spans_not_empty(self) -> Self:
        if self.raw_min == self.raw_max:
            raise ValueError(f"raw_min and raw_max are both {self.raw_min}: the raw span is empty")
        if self.eng_min == self.eng_max:
            raise ValueError(f"eng_min and eng_max are both {self.eng_min}: the span is empty")
        return self

    def to_engineering(self, raw: float) -> float:
        return self.eng_min + (raw - self.raw_min) * (self.eng_max - self.eng_min) / (
            self.raw_max - self.raw_min
        )

    def to_raw(self, engineering: float) -> float:
        return self.raw_min + (engineering - self.eng_min) * (self.raw_max - self.raw_min) / (
            self.eng_max - self.eng_min
        )


_SLUG = re.compile(r"[^a-z0-9]+")


def tag_key(component: str, name: str) -> str:
    """The stable identifier of a tag: ``chamber_heater.temperature_read``."""
    return (
        f"{_SLUG.sub('_', component.lower()).strip('_')}.{_SLUG.sub('_', name.lower()).strip('_')}"
    )


class Tag(BaseModel):
    """One value of the machine, as the configuration describes it.

    A tag with no ``address`` exists on the machine but is not wired: it is kept
    (shown, stored in ``parameters``) and never polled or written.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    component: str = Field(min_length=1)
    name: str = Field(min_length=1)
    unit: str = ""
    description: str = ""
    data_type: DataType
    register_kind: RegisterKind
    address: int | None = Field(default=None, ge=0, le=65535)
    writable: bool = False
    write_address: int | None = Field(default=None, ge=0, le=65535)
    min: float
    max: float
    scaling: Scaling | None = None
    plotted: bool = False
    plc_name: str = ""

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.min > self.max:
            raise ValueError(f"min ({self.min:g}) is above max ({self.max:g})")
        if (self.data_type is DataType.BOOL) != self.register_kind.is_bit:
            if self.register_kind.is_bit:
                raise ValueError(
                    f"data type {self.data_type} does not fit register kind {self.register_kind}: "
                    "coils and discrete inputs hold single bits (use bool)"
                )
            raise ValueError(
                f"data type bool does not fit register kind {self.register_kind}: "
                "bool is read from a coil or a discrete input"
            )
        if (
            self.writable
            and not self.register_kind.is_writable_table
            and self.write_address is None
        ):
            raise ValueError(
                f"a writable tag read from {self.register_kind} registers needs a write_address: "
                "Modbus cannot write that table"
            )
        if self.scaling is not None and self.data_type is DataType.BOOL:
            raise ValueError("scaling does not apply to a bool tag")
        last = self.register_span[1] if self.address is not None else 0
        if last > 65535:
            raise ValueError(f"address {self.address} + {self.data_type} runs past register 65535")
        return self

    @cached_property
    def key(self) -> str:
        """``component.name`` as a slug; cached, since the poll loop uses it constantly."""
        return tag_key(self.component, self.name)

    @property
    def polled(self) -> bool:
        return self.address is not None

    @property
    def register_span(self) -> tuple[int, int]:
        """First and last address (inclusive) that reading this tag covers."""
        if self.address is None:
            raise ValueError(f"tag {self.key} has no address: it is not wired")
        return self.address, self.address + self.data_type.register_count - 1

    @property
    def write_target(self) -> tuple[RegisterKind, int]:
        """The table and address a write of this tag goes to."""
        if self.address is None:
            raise ValueError(f"tag {self.key} has no address: it is not wired")
        table = RegisterKind.COIL if self.register_kind.is_bit else RegisterKind.HOLDING
        return table, self.write_address if self.write_address is not None else self.address
