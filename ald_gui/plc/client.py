"""The PLC link: executes a read plan, writes single tags, reconnects with backoff.

Built on pymodbus's synchronous TCP client, which is not thread-safe: a PlcClient
belongs to the thread that created it. Every call returns within the configured
timeouts; a failed read raises a named PlcError and never yields a made-up value.
"""

from __future__ import annotations

import math
import socket
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from pymodbus.client import ModbusTcpClient
from pymodbus.exceptions import ConnectionException, ModbusException, ModbusIOException

from ald_gui.config.models import PlcSettings
from ald_gui.domain.backoff import Backoff
from ald_gui.domain.stream import now_us
from ald_gui.domain.tags import DataType, RegisterKind, Tag
from ald_gui.plc import codec
from ald_gui.plc.answer import check_answer
from ald_gui.plc.errors import (
    PlcExceptionResponse,
    PlcGarbage,
    PlcTimeout,
    PlcUnreachable,
    WriteNotConfirmed,
    WriteRefused,
)
from ald_gui.plc.plan import ReadPlan, ReadRequest, plan_reads
from ald_gui.plc.writes import check_value

Value = float | int | bool

_FUNCTION_CODES = {
    RegisterKind.COIL: 1,
    RegisterKind.DISCRETE_INPUT: 2,
    RegisterKind.HOLDING: 3,
    RegisterKind.INPUT: 4,
}


class _RecordingClient(ModbusTcpClient):
    """pymodbus's synchronous TCP client, keeping the bytes of the last exchange:
    the request frame sent and everything received since, so each answer can be
    checked against its request (see plc/answer.py)."""

    def __init__(self, host: str, *, port: int, timeout: float, retries: int) -> None:
        super().__init__(host, port=port, timeout=timeout, retries=retries)
        self.sent = b""
        self.received = bytearray()

    def send(self, request: bytes, addr: tuple[Any, ...] | None = None) -> int:
        self.sent = bytes(request)
        self.received.clear()
        sent: int = super().send(request, addr)
        return sent

    def recv(self, size: int | None) -> bytes:
        data = super().recv(size)
        self.received += data
        return data


@dataclass(frozen=True, slots=True)
class PollResult:
    """One complete poll: every planned tag's engineering value at ``sampled_at_us``."""

    sampled_at_us: int
    values: dict[str, Value]
    request_count: int
    round_trip_s: float


class PlcClient:
    """A connection to one PLC for the polled ``tags`` of a configuration.

    ``poll()`` reads everything in the fewest requests, stamped by ``stamp_us`` (the
    stream clock, in the poll thread; the wall clock by default); ``write()`` sets one tag and
    confirms it by reading it back. Neither blocks longer than the connect timeout
    plus one request timeout per request; while the link is down, calls fail at once
    until the backoff delay has passed, so a dead PLC costs the poll loop nothing.
    """

    def __init__(
        self,
        settings: PlcSettings,
        tags: Sequence[Tag],
        *,
        clock: Callable[[], float] = time.monotonic,
        stamp_us: Callable[[], int] = now_us,
    ) -> None:
        self.settings = settings
        self.tags = {t.key: t for t in tags}
        self.plan: ReadPlan = plan_reads((t for t in tags if t.polled), settings.max_gap)
        # Where each tag sits in its request's answer and how to decode it, worked out
        # once rather than on every poll.
        self._slices = [
            (
                request,
                [
                    (
                        t.key,
                        request.offset(t),
                        t.data_type.register_count,
                        self._decoder(t),
                        t.scaling,
                    )
                    for t in request.tags
                ],
            )
            for request in self.plan.requests
        ]
        self._clock = clock
        self._stamp_us = stamp_us
        self._backoff = Backoff(settings.reconnect_min_s, settings.reconnect_max_s)
        self._retry_at = 0.0
        self._last_error = ""
        # retries=0: a retry is the next poll, on a fresh connection (see _fail).
        self._modbus = _RecordingClient(
            settings.host, port=settings.port, timeout=settings.connect_timeout_s, retries=0
        )
        self._reads: dict[RegisterKind, Callable[..., Any]] = {
            RegisterKind.HOLDING: self._modbus.read_holding_registers,
            RegisterKind.INPUT: self._modbus.read_input_registers,
            RegisterKind.COIL: self._modbus.read_coils,
            RegisterKind.DISCRETE_INPUT: self._modbus.read_discrete_inputs,
        }

    # -- connection ---------------------------------------------------------------

    @property
    def connected(self) -> bool:
        return self._modbus.connected

    def connect(self) -> None:
        """Connect now if the backoff allows; raises PlcUnreachable otherwise."""
        if self._modbus.connected:
            return
        now = self._clock()
        if now < self._retry_at:
            raise PlcUnreachable(
                f"PLC {self._where} unreachable ({self._last_error}); "
                f"next attempt in {self._retry_at - now:.1f} s"
            )
        self._modbus.comm_params.timeout_connect = self.settings.connect_timeout_s
        if not self._modbus.connect() or self._modbus.socket is None:  # type: ignore[no-untyped-call]
            self._fail(f"no connection within {self.settings.connect_timeout_s:g} s or refused")
            raise PlcUnreachable(f"PLC {self._where} unreachable: {self._last_error}")
        # Nagle's algorithm would hold back our small requests for tens of ms.
        self._modbus.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        # pymodbus uses the same number for connecting and for waiting on an answer.
        self._modbus.comm_params.timeout_connect = self.settings.request_timeout_s
        self._backoff.reset()

    def close(self) -> None:
        self._modbus.close()  # type: ignore[no-untyped-call]

    def __enter__(self) -> PlcClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def _where(self) -> str:
        return f"{self.settings.host}:{self.settings.port}"

    def _fail(self, reason: str) -> None:
        # Closing after any failure discards a late answer still on its way, so it
        # can never be taken for the answer to the next request.
        self._modbus.close()  # type: ignore[no-untyped-call]
        self._last_error = reason
        self._retry_at = self._clock() + self._backoff.next_delay()

    # -- reading -------------------------------------------------------------------

    def poll(self) -> PollResult:
        """Read every planned tag. Raises a PlcError subclass; never returns partial data."""
        self.connect()
        start = time.perf_counter()
        sampled_at = self._stamp_us()
        values: dict[str, Value] = {}
        for request, placed in self._slices:
            data = self._read(request)
            for key, offset, count, decode, scaling in placed:
                value = decode(data[offset : offset + count])
                values[key] = scaling.to_engineering(value) if scaling else value
        return PollResult(
            sampled_at_us=sampled_at,
            values=values,
            request_count=self.plan.request_count,
            round_trip_s=time.perf_counter() - start,
        )

    def read_tag(self, tag: Tag) -> Value:
        """Read one tag on its own (used to confirm a write)."""
        self.connect()
        first, last = tag.register_span
        request = ReadRequest(tag.register_kind, first, last - first + 1, (tag,))
        return self._to_engineering(tag, self._read(request))

    def _read(self, request: ReadRequest) -> list[int]:
        kind, start, count = request.kind, request.start, request.count
        unit = self.settings.unit_id
        response = self._execute(
            lambda: self._reads[kind](start, count=count, device_id=unit),
            _FUNCTION_CODES[kind],
            start,
        )
        if kind.is_bit:
            bits = getattr(response, "bits", None)
            # Bits come padded to whole bytes.
            if bits is None or len(bits) < count:
                self._fail("short answer")
                raise PlcGarbage(
                    f"PLC answered {0 if bits is None else len(bits)} bits for a read of "
                    f"{count} {kind} at {start}"
                )
            return [1 if b else 0 for b in bits[:count]]
        registers = getattr(response, "registers", None)
        if registers is None or len(registers) != count:
            self._fail("wrong answer length")
            raise PlcGarbage(
                f"PLC answered {0 if registers is None else len(registers)} registers for a "
                f"read of {count} {kind} registers at {start}"
            )
        return list(registers)

    def _execute(self, call: Callable[[], Any], function_code: int, address: int) -> Any:
        """Run one exchange; its answer is checked against its request, whatever
        pymodbus made of it (it skips frames it does not expect, then times out)."""
        try:
            response = call()
        except ModbusIOException as exc:
            self._check_answer()
            self._fail("no answer")
            raise PlcTimeout(
                f"PLC {self._where} did not answer function {function_code} at {address} "
                f"within {self.settings.request_timeout_s:g} s"
            ) from exc
        except ConnectionException as exc:
            self._fail("connection lost")
            raise PlcUnreachable(f"PLC {self._where}: connection lost") from exc
        except ModbusException as exc:
            self._check_answer()
            self._fail(f"protocol error: {exc}")
            raise PlcGarbage(f"PLC {self._where}: unreadable answer: {exc}") from exc
        except OSError as exc:
            self._fail(str(exc))
            raise PlcUnreachable(f"PLC {self._where}: {exc}") from exc
        self._check_answer()
        if response.isError():
            # The PLC is alive and answering: keep the connection.
            raise PlcExceptionResponse(function_code, address, response.exception_code)
        return response

    def _check_answer(self) -> None:
        try:
            check_answer(
                self._modbus.sent,
                bytes(self._modbus.received),
                self._where,
                self.settings.request_timeout_s,
            )
        except PlcGarbage as exc:
            self._fail(str(exc))
            raise

    def _decoder(self, tag: Tag) -> codec.Decoder:
        return codec.decoder(tag.data_type, self.settings.word_order, self.settings.byte_order)

    def _to_engineering(self, tag: Tag, raw: Sequence[int]) -> Value:
        value = self._decoder(tag)(raw)
        if tag.scaling is not None:
            return tag.scaling.to_engineering(float(value))
        return value

    # -- writing -------------------------------------------------------------------

    def check_write(self, tag: Tag, value: Value) -> list[int]:
        """The raw registers (or bit) for writing ``value`` to ``tag``.

        Raises WriteRefused, naming the tag and the reason, if the tag is not writable
        or not wired, or the value is not of its type or outside min..max.
        """
        check_value(tag, value)
        if tag.data_type is DataType.BOOL:
            return [1 if value else 0]
        raw: float | int = tag.scaling.to_raw(value) if tag.scaling else value
        if tag.data_type.is_integer:
            raw = round(raw)
        try:
            return codec.encode(
                raw, tag.data_type, self.settings.word_order, self.settings.byte_order
            )
        except codec.CodecError as exc:
            raise WriteRefused(f"{tag.key}: {exc}") from exc

    def write(self, tag: Tag, value: Value) -> Value:
        """Write ``value`` to ``tag``, read it back and return the read-back value.

        Raises WriteRefused before any I/O for a bad request, a PlcError if the link
        fails, WriteNotConfirmed if the PLC holds a different value afterwards.
        """
        words = self.check_write(tag, value)
        self.connect()
        table, address = tag.write_target
        unit = self.settings.unit_id
        if table is RegisterKind.COIL:
            self._execute(
                lambda: self._modbus.write_coil(address, bool(words[0]), device_id=unit),
                5,
                address,
            )
        else:
            self._execute(
                lambda: self._modbus.write_registers(address, words, device_id=unit),
                16,
                address,
            )
        readback = self.read_tag(tag)
        if not _same(tag, readback, value):
            raise WriteNotConfirmed(f"{tag.key}: wrote {value!r}, PLC holds {readback!r}")
        return readback

    def write_echoed(self, tag: Tag, value: Value) -> None:
        """Write ``value`` to ``tag`` in one request, taking the PLC's answer as its
        acknowledgement: no read-back, so a valve opens or closes in one round trip
        (the caller confirms it later: by a read after the pulse, or the next poll).

        Raises WriteRefused before any I/O for a bad request, a PlcError if the link
        fails, WriteNotConfirmed if the answer echoes another address, count or state.
        """
        words = self.check_write(tag, value)
        self.connect()
        table, address = tag.write_target
        unit = self.settings.unit_id
        if table is RegisterKind.COIL:
            on = bool(words[0])
            answer = self._execute(
                lambda: self._modbus.write_coil(address, on, device_id=unit), 5, address
            )
            echoed = (answer.address, bool(answer.bits[0]) if answer.bits else None)
            expected: tuple[int, object] = (address, on)
        else:
            answer = self._execute(
                lambda: self._modbus.write_registers(address, words, device_id=unit), 16, address
            )
            echoed, expected = (answer.address, answer.count), (address, len(words))
        if echoed != expected:
            raise WriteNotConfirmed(
                f"{tag.key}: wrote {value!r} at {address}, the PLC's answer echoes {echoed}"
            )


def _same(tag: Tag, readback: Value, wanted: Value) -> bool:
    if tag.data_type is DataType.BOOL:
        return bool(readback) == bool(wanted)
    if tag.data_type is DataType.FLOAT32:
        # float32 keeps about 7 significant digits; scaling adds a rounding step.
        return math.isclose(
            float(readback),
            float(wanted),
            rel_tol=1e-6,
            abs_tol=1e-6 * max(1.0, abs(tag.max - tag.min)),
        )
    return int(readback) == int(wanted)
