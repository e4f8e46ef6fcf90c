"""The simulated PLC's memory: four Modbus tables holding the configured tags.

Values are stored exactly as the real PLC holds them: encoded with the shared codec in
the configured word and byte order, and for scaled tags as the raw signal (volts), so
a client that reads the simulator exercises the same decoding it needs for the plant.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from ald_gui.domain.tags import ByteOrder, DataType, RegisterKind, Tag, WordOrder
from ald_gui.plc import codec

Value = float | int | bool


class RegisterImage:
    """Each table spans address 0 up to the highest address a tag uses in it.

    Addresses inside that span but owned by no tag read as 0 (a PLC's unused memory),
    so a read planner may bridge gaps between tags; anything past the span is an
    illegal address. A table no tag uses has no addresses at all. Not thread-safe:
    the owner (ReactorModel) serialises access.
    """

    def __init__(self, tags: Iterable[Tag], word_order: WordOrder, byte_order: ByteOrder) -> None:
        self.word_order = word_order
        self.byte_order = byte_order
        sizes = dict.fromkeys(RegisterKind, 0)
        for tag in tags:
            for kind, end in _extents(tag):
                sizes[kind] = max(sizes[kind], end)
        self._tables = {kind: [0] * size for kind, size in sizes.items()}

    def size(self, kind: RegisterKind) -> int:
        """Number of addresses of a table (0..size-1 are readable)."""
        return len(self._tables[kind])

    def read(self, kind: RegisterKind, address: int, count: int) -> list[int] | None:
        """Registers (or 0/1 bits) ``address..address+count-1``; None if any is outside."""
        table = self._tables[kind]
        if address < 0 or count < 1 or address + count > len(table):
            return None
        return table[address : address + count]

    def write(self, kind: RegisterKind, address: int, values: Sequence[int]) -> bool:
        """Store raw registers (bits as 0/1); False, and nothing stored, if outside."""
        table = self._tables[kind]
        if address < 0 or not values or address + len(values) > len(table):
            return False
        table[address : address + len(values)] = values
        return True

    def store(self, tag: Tag, value: Value, *, at_write_target: bool = False) -> None:
        """Encode an engineering value into the tag's registers (its read address, or
        where writes to it go). Raises codec.CodecError if the value does not fit."""
        kind, address = tag.write_target if at_write_target else _read_location(tag)
        self._tables[kind][address : address + tag.data_type.register_count] = _encode(
            tag, value, self.word_order, self.byte_order
        )

    def load(self, tag: Tag, *, at_write_target: bool = False) -> Value:
        """The engineering value the tag's registers hold now."""
        kind, address = tag.write_target if at_write_target else _read_location(tag)
        words = self._tables[kind][address : address + tag.data_type.register_count]
        raw = codec.decode(words, tag.data_type, self.word_order, self.byte_order)
        if tag.scaling is None or isinstance(raw, bool):
            return raw
        return tag.scaling.to_engineering(raw)


def _read_location(tag: Tag) -> tuple[RegisterKind, int]:
    if tag.address is None:
        raise ValueError(f"tag {tag.key} has no address: it is not wired")
    return tag.register_kind, tag.address


def _extents(tag: Tag) -> list[tuple[RegisterKind, int]]:
    """(table, one past the last address) of where a tag is read and where it is written."""
    extents = [(tag.register_kind, tag.register_span[1] + 1)]
    if tag.writable:
        kind, address = tag.write_target
        extents.append((kind, address + tag.data_type.register_count))
    return extents


def _encode(tag: Tag, value: Value, word_order: WordOrder, byte_order: ByteOrder) -> list[int]:
    if tag.scaling is not None and not isinstance(value, bool):
        raw: Value = tag.scaling.to_raw(value)
        # The PLC's integer registers hold whole counts of the raw signal.
        if tag.data_type is not DataType.FLOAT32:
            raw = round(raw)
        value = raw
    return codec.encode(value, tag.data_type, word_order, byte_order)
