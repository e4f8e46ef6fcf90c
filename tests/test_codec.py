"""Properties and known vectors of the register codec (ald_gui.plc.codec)."""

from __future__ import annotations

import math
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ald_gui.domain.tags import ByteOrder, DataType, WordOrder
from ald_gui.plc import codec
from ald_gui.plc.codec import CodecError, decode, encode

ORDERS = [(w, b) for w in WordOrder for b in ByteOrder]
orders = st.sampled_from(ORDERS)
registers16 = st.integers(0, 0xFFFF)
INT_RANGES = {
    DataType.INT32: (-(2**31), 2**31 - 1),
    DataType.INT16: (-(2**15), 2**15 - 1),
    DataType.UINT16: (0, 2**16 - 1),
}
FLOAT32_MAX = 3.4028234663852886e38

quick = settings(max_examples=200, deadline=None)


def _as_float32(x: float) -> float:
    value: float = struct.unpack(">f", struct.pack(">f", x))[0]
    return value


# --- round trips ------------------------------------------------------------------


@quick
@given(st.floats(width=32, allow_nan=False), orders)
def test_float32_value_round_trip(value: float, order: tuple[WordOrder, ByteOrder]) -> None:
    registers = encode(value, DataType.FLOAT32, *order)
    assert len(registers) == 2
    assert all(0 <= r <= 0xFFFF for r in registers)
    decoded = decode(registers, DataType.FLOAT32, *order)
    assert decoded == value
    assert math.copysign(1.0, decoded) == math.copysign(1.0, value)  # keeps -0.0


@quick
@given(st.floats(allow_nan=False, min_value=-FLOAT32_MAX, max_value=FLOAT32_MAX), orders)
def test_float64_input_is_rounded_to_nearest_float32(
    value: float, order: tuple[WordOrder, ByteOrder]
) -> None:
    decoded = decode(encode(value, DataType.FLOAT32, *order), DataType.FLOAT32, *order)
    assert decoded == _as_float32(value)


@pytest.mark.parametrize("order", ORDERS)
@pytest.mark.parametrize("value", [math.inf, -math.inf])
def test_float32_infinities_round_trip(value: float, order: tuple[WordOrder, ByteOrder]) -> None:
    assert decode(encode(value, DataType.FLOAT32, *order), DataType.FLOAT32, *order) == value


@pytest.mark.parametrize("order", ORDERS)
def test_float32_nan_round_trips_as_nan(order: tuple[WordOrder, ByteOrder]) -> None:
    decoded = decode(encode(math.nan, DataType.FLOAT32, *order), DataType.FLOAT32, *order)
    assert isinstance(decoded, float)
    assert math.isnan(decoded)


@quick
@given(registers16, registers16, orders)
def test_float32_registers_round_trip(hi: int, lo: int, order: tuple[WordOrder, ByteOrder]) -> None:
    """Any register pair decodes; every non-NaN pattern re-encodes to the same bits.

    NaN payloads are not kept bit for bit (Python's float conversion may quiet a
    signalling NaN), but a NaN pattern decodes as NaN and re-encodes as a NaN.
    """
    decoded = decode([hi, lo], DataType.FLOAT32, *order)
    assert isinstance(decoded, float)
    again = encode(decoded, DataType.FLOAT32, *order)
    if math.isnan(decoded):
        assert math.isnan(decode(again, DataType.FLOAT32, *order))
    else:
        assert again == [hi, lo]


@quick
@given(st.data(), st.sampled_from(list(INT_RANGES)), orders)
def test_integer_round_trip_over_full_range(
    data: st.DataObject, data_type: DataType, order: tuple[WordOrder, ByteOrder]
) -> None:
    low, high = INT_RANGES[data_type]
    value = data.draw(st.one_of(st.sampled_from([low, high, 0]), st.integers(low, high)))
    registers = encode(value, data_type, *order)
    assert len(registers) == data_type.register_count
    assert all(0 <= r <= 0xFFFF for r in registers)
    decoded = decode(registers, data_type, *order)
    assert decoded == value
    assert type(decoded) is int


@quick
@given(st.lists(registers16, min_size=2, max_size=2), orders)
def test_int32_registers_round_trip(
    registers: list[int], order: tuple[WordOrder, ByteOrder]
) -> None:
    assert encode(decode(registers, DataType.INT32, *order), DataType.INT32, *order) == registers


@pytest.mark.parametrize("order", ORDERS)
@pytest.mark.parametrize("data_type", [DataType.INT16, DataType.UINT16])
def test_16_bit_types_ignore_word_order(
    data_type: DataType, order: tuple[WordOrder, ByteOrder]
) -> None:
    # One register has no word order; only the byte order applies.
    registers = encode(0x1234, data_type, *order)
    assert registers == ([0x3412] if order[1] is ByteOrder.LITTLE else [0x1234])


@pytest.mark.parametrize("order", ORDERS)
def test_bool_round_trip(order: tuple[WordOrder, ByteOrder]) -> None:
    assert encode(True, DataType.BOOL, *order) == [1]
    assert encode(False, DataType.BOOL, *order) == [0]
    assert decode([1], DataType.BOOL, *order) is True
    assert decode([0], DataType.BOOL, *order) is False


@quick
@given(st.integers(-(2**31), 2**31 - 1))
def test_whole_floats_are_accepted_for_integer_types(value: int) -> None:
    assert encode(float(value), DataType.INT32) == encode(value, DataType.INT32)


# --- known vectors ------------------------------------------------------------------

FLOAT_123_456 = {
    (WordOrder.HIGH_FIRST, ByteOrder.BIG): [0x42F6, 0xE979],  # ABCD
    (WordOrder.LOW_FIRST, ByteOrder.BIG): [0xE979, 0x42F6],  # CDAB: the reference PLC
    (WordOrder.HIGH_FIRST, ByteOrder.LITTLE): [0xF642, 0x79E9],  # BADC
    (WordOrder.LOW_FIRST, ByteOrder.LITTLE): [0x79E9, 0xF642],  # DCBA
}


@pytest.mark.parametrize(("order", "registers"), FLOAT_123_456.items())
def test_float32_123_456_vectors(order: tuple[WordOrder, ByteOrder], registers: list[int]) -> None:
    assert encode(123.456, DataType.FLOAT32, *order) == registers
    assert decode(registers, DataType.FLOAT32, *order) == pytest.approx(123.456, rel=1e-7)


INT32_VECTORS = [
    (-2, (WordOrder.HIGH_FIRST, ByteOrder.BIG), [0xFFFF, 0xFFFE]),
    (-2, (WordOrder.LOW_FIRST, ByteOrder.BIG), [0xFFFE, 0xFFFF]),
    (-2, (WordOrder.HIGH_FIRST, ByteOrder.LITTLE), [0xFFFF, 0xFEFF]),
    (-2, (WordOrder.LOW_FIRST, ByteOrder.LITTLE), [0xFEFF, 0xFFFF]),
    (0x12345678, (WordOrder.HIGH_FIRST, ByteOrder.BIG), [0x1234, 0x5678]),
    (0x12345678, (WordOrder.LOW_FIRST, ByteOrder.BIG), [0x5678, 0x1234]),
    (0x12345678, (WordOrder.HIGH_FIRST, ByteOrder.LITTLE), [0x3412, 0x7856]),
    (0x12345678, (WordOrder.LOW_FIRST, ByteOrder.LITTLE), [0x7856, 0x3412]),
]


@pytest.mark.parametrize(("value", "order", "registers"), INT32_VECTORS)
def test_int32_vectors(
    value: int, order: tuple[WordOrder, ByteOrder], registers: list[int]
) -> None:
    assert encode(value, DataType.INT32, *order) == registers
    assert decode(registers, DataType.INT32, *order) == value


def test_16_bit_vectors() -> None:
    assert encode(-1, DataType.INT16) == [0xFFFF]
    assert decode([0xFFFF], DataType.INT16) == -1
    assert decode([0xFFFF], DataType.UINT16) == 0xFFFF
    assert encode(-32768, DataType.INT16) == [0x8000]


def test_default_order_is_high_first_big_endian() -> None:
    assert encode(123.456, DataType.FLOAT32) == FLOAT_123_456[WordOrder.HIGH_FIRST, ByteOrder.BIG]


# --- errors ---------------------------------------------------------------------------


@quick
@given(st.sampled_from(list(INT_RANGES)), st.data())
def test_out_of_range_integers_are_refused(data_type: DataType, data: st.DataObject) -> None:
    low, high = INT_RANGES[data_type]
    value = data.draw(st.one_of(st.integers(max_value=low - 1), st.integers(min_value=high + 1)))
    with pytest.raises(CodecError, match=rf"outside the {data_type} range {low}\.\.{high}"):
        encode(value, data_type)


@quick
@given(
    st.sampled_from(list(INT_RANGES)),
    st.floats(allow_nan=False, allow_infinity=False).filter(lambda x: not x.is_integer()),
)
def test_fractions_are_refused_for_integer_types(data_type: DataType, value: float) -> None:
    with pytest.raises(CodecError, match=f"not a whole number, as {data_type} needs"):
        encode(value, data_type)


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
@pytest.mark.parametrize("data_type", list(INT_RANGES))
def test_nan_and_infinity_are_refused_for_integer_types(data_type: DataType, value: float) -> None:
    with pytest.raises(CodecError, match="not a whole number"):
        encode(value, data_type)


@pytest.mark.parametrize("value", [3.5e38, -1e300, 10**39, -(10**400)])
def test_finite_values_beyond_float32_are_refused(value: float) -> None:
    with pytest.raises(CodecError, match="beyond the float32 range"):
        encode(value, DataType.FLOAT32)


@pytest.mark.parametrize("data_type", [DataType.FLOAT32, DataType.INT16])
def test_non_numbers_are_refused(data_type: DataType) -> None:
    with pytest.raises(CodecError, match=f"'5' is not a number, as {data_type} needs"):
        encode("5", data_type)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("data_type", "registers"),
    [
        (DataType.FLOAT32, [1]),
        (DataType.FLOAT32, [1, 2, 3]),
        (DataType.INT32, []),
        (DataType.INT16, [1, 2]),
        (DataType.UINT16, []),
        (DataType.BOOL, [1, 0]),
    ],
)
def test_wrong_register_count_is_refused(data_type: DataType, registers: list[int]) -> None:
    needed = data_type.register_count
    with pytest.raises(
        CodecError, match=rf"{data_type} needs {needed} register\(s\), got {len(registers)}"
    ):
        decode(registers, data_type)


@quick
@given(
    st.sampled_from([t for t in DataType if t is not DataType.BOOL]),
    st.one_of(st.integers(max_value=-1), st.integers(min_value=0x10000)),
)
def test_registers_outside_16_bits_are_refused(data_type: DataType, bad: int) -> None:
    registers = [bad] + [0] * (data_type.register_count - 1)
    with pytest.raises(CodecError, match=r"not all 16-bit values \(0\.\.65535\)"):
        decode(registers, data_type)


def test_non_integer_registers_are_refused() -> None:
    with pytest.raises(CodecError, match="not all 16-bit values"):
        decode([1.5], DataType.UINT16)  # type: ignore[list-item]


@given(
    data_type=st.sampled_from(list(DataType)),
    word_order=st.sampled_from(list(WordOrder)),
    byte_order=st.sampled_from(list(ByteOrder)),
    words=st.lists(st.integers(0, 0xFFFF), min_size=2, max_size=2),
)
def test_fast_decoder_agrees_with_decode(
    data_type: DataType, word_order: WordOrder, byte_order: ByteOrder, words: list[int]
) -> None:
    regs = words[: data_type.register_count]
    if data_type is DataType.BOOL:
        regs = [regs[0] & 1]
    expected = codec.decode(regs, data_type, word_order, byte_order)
    got = codec.decoder(data_type, word_order, byte_order)(regs)
    if isinstance(expected, float) and math.isnan(expected):
        assert math.isnan(got)
    else:
        assert got == expected and type(got) is type(expected)
