"""Values to and from 16-bit Modbus registers, in any word and byte order.

Pure functions: the client, the simulator and the tests share them, so the console
and its simulated PLC can only disagree about a layout if the configuration does.
"""

from __future__ import annotations

import math
import numbers
import struct
from collections.abc import Callable, Sequence

from ald_gui.domain.tags import ByteOrder, DataType, WordOrder

_FORMATS = {
    DataType.FLOAT32: ">f",
    DataType.INT32: ">i",
    DataType.INT16: ">h",
    DataType.UINT16: ">H",
}

_INT_RANGES = {
    DataType.INT32: (-(2**31), 2**31 - 1),
    DataType.INT16: (-(2**15), 2**15 - 1),
    DataType.UINT16: (0, 2**16 - 1),
}


class CodecError(ValueError):
    """A value that cannot be represented in the tag's data type, or registers
    that do not hold one."""


def _swap_bytes(word: int) -> int:
    return ((word & 0xFF) << 8) | (word >> 8)


def encode(
    value: float | int | bool,
    data_type: DataType,
    word_order: WordOrder = WordOrder.HIGH_FIRST,
    byte_order: ByteOrder = ByteOrder.BIG,
) -> list[int]:
    """Registers (0..65535) that hold ``value``; a bool is one bit: [0] or [1].

    Raises CodecError if the value does not fit the type (an int32 out of range, a
    fraction for an integer type, a finite float beyond float32's range).
    """
    if data_type is DataType.BOOL:
        return [1 if value else 0]
    # int() and float() would quietly accept the string "5": only numbers are values
    # (numbers.Real also admits numpy scalars).
    if not isinstance(value, numbers.Real):
        raise CodecError(f"{value!r} is not a number, as {data_type} needs")
    if data_type.is_integer:
        if not isinstance(value, numbers.Integral) and not float(value).is_integer():
            raise CodecError(f"{value!r} is not a whole number, as {data_type} needs")
        low, high = _INT_RANGES[data_type]
        if not low <= int(value) <= high:
            raise CodecError(f"{value!r} is outside the {data_type} range {low}..{high}")
        raw = struct.pack(_FORMATS[data_type], int(value))
    else:
        try:
            fvalue = float(value)
        except OverflowError:  # an int beyond even float64
            raise CodecError(f"{value} is beyond the float32 range") from None
        if math.isfinite(fvalue) and abs(fvalue) > 3.4028234663852886e38:
            raise CodecError(f"{value!r} is beyond the float32 range")
        raw = struct.pack(">f", fvalue)
    words = [int.from_bytes(raw[i : i + 2], "big") for i in range(0, len(raw), 2)]
    if word_order is WordOrder.LOW_FIRST:
        words.reverse()
    if byte_order is ByteOrder.LITTLE:
        words = [_swap_bytes(w) for w in words]
    return words


def decode(
    registers: list[int] | tuple[int, ...],
    data_type: DataType,
    word_order: WordOrder = WordOrder.HIGH_FIRST,
    byte_order: ByteOrder = ByteOrder.BIG,
) -> float | int | bool:
    """The value held by ``registers`` (exactly ``data_type.register_count`` of them)."""
    if len(registers) != data_type.register_count:
        raise CodecError(
            f"{data_type} needs {data_type.register_count} register(s), got {len(registers)}"
        )
    if any(not isinstance(r, numbers.Integral) or not 0 <= r <= 0xFFFF for r in registers):
        raise CodecError(f"registers {list(registers)} are not all 16-bit values (0..65535)")
    if data_type is DataType.BOOL:
        return bool(registers[0])
    words = [int(r) for r in registers]  # plain ints: numpy integers lack to_bytes()
    if byte_order is ByteOrder.LITTLE:
        words = [_swap_bytes(w) for w in words]
    if word_order is WordOrder.LOW_FIRST:
        words.reverse()
    raw = b"".join(w.to_bytes(2, "big") for w in words)
    value: float | int = struct.unpack(_FORMATS[data_type], raw)[0]
    return value


Decoder = Callable[[Sequence[int]], float | int | bool]


def decoder(
    data_type: DataType,
    word_order: WordOrder = WordOrder.HIGH_FIRST,
    byte_order: ByteOrder = ByteOrder.BIG,
) -> Decoder:
    """A function equal to ``decode`` for one layout, with the layout worked out once.

    For the poll loop: registers that come from the Modbus client are already checked
    16-bit values of the right count, so the per-call checks of ``decode`` are skipped.
    """
    if data_type is DataType.BOOL:
        return lambda regs: bool(regs[0])
    # struct packs each word big- or little-endian, which is the byte order inside it.
    word = ">H" if byte_order is ByteOrder.BIG else "<H"
    unpack = struct.Struct(_FORMATS[data_type]).unpack
    if data_type.register_count == 1:
        pack1 = struct.Struct(word).pack
        return lambda regs: unpack(pack1(regs[0]))[0]
    pack2 = struct.Struct(word[0] + "HH").pack
    if word_order is WordOrder.LOW_FIRST:
        return lambda regs: unpack(pack2(regs[1], regs[0]))[0]
    return lambda regs: unpack(pack2(regs[0], regs[1]))[0]
