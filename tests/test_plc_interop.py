"""The PLC client against a second, independent Modbus TCP implementation (modbus_tk).

Values are placed in the PLC's registers as raw words computed by hand in the
reference PLC's word-swapped layout (CDAB), not with our codec, so a symmetric bug
in encode and decode cannot hide.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator

import modbus_tk.defines as cst
import pytest
from modbus_tk import modbus_tcp

from ald_gui.config.models import PlcSettings
from ald_gui.domain.tags import ByteOrder, DataType, RegisterKind, Scaling, Tag, WordOrder
from ald_gui.plc.client import PlcClient
from ald_gui.plc.errors import PlcExceptionResponse, WriteRefused
from tests.fixtures.plc import free_port
from tests.waiting import wait_until


def _accepts(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
    except OSError:
        return False
    return True


@pytest.fixture
def tk_plc() -> Iterator[tuple[modbus_tcp.TcpServer, int]]:
    port = free_port()
    server = modbus_tcp.TcpServer(port=port, address="127.0.0.1", timeout_in_sec=1)
    slave = server.add_slave(1)
    slave.add_block("hr", cst.HOLDING_REGISTERS, 2000, 16)
    slave.add_block("coils", cst.COILS, 0, 8)
    slave.add_block("di", cst.DISCRETE_INPUTS, 0, 8)
    server.start()
    wait_until(lambda: _accepts(port), 5.0, "modbus_tk to listen")
    yield server, port
    server.stop()


def _tag(name: str, data_type: DataType, kind: RegisterKind, address: int, **kw: object) -> Tag:
    return Tag.model_validate(
        {
            "component": "Test",
            "name": name,
            "data_type": data_type,
            "register_kind": kind,
            "address": address,
            "min": kw.pop("min", -1e9),
            "max": kw.pop("max", 1e9),
            **kw,
        }
    )


TAGS = (
    _tag("temperature", DataType.FLOAT32, RegisterKind.HOLDING, 2000, writable=True),
    _tag("counter", DataType.INT32, RegisterKind.HOLDING, 2002, writable=True),
    _tag("offset", DataType.INT16, RegisterKind.HOLDING, 2004),
    _tag("period", DataType.UINT16, RegisterKind.HOLDING, 2005),
    _tag(
        "flow",
        DataType.FLOAT32,
        RegisterKind.HOLDING,
        2006,
        writable=True,
        min=0,
        max=200,
        scaling=Scaling(raw_min=0, raw_max=10, eng_min=0, eng_max=200),
    ),
    _tag("valve", DataType.BOOL, RegisterKind.COIL, 3, writable=True, min=0, max=1),
    _tag("ready", DataType.BOOL, RegisterKind.DISCRETE_INPUT, 5, min=0, max=1),
)


def _settings(port: int) -> PlcSettings:
    return PlcSettings(port=port, word_order=WordOrder.LOW_FIRST, byte_order=ByteOrder.BIG)


def test_reads_word_swapped_values_exactly(tk_plc: tuple[modbus_tcp.TcpServer, int]) -> None:
    server, port = tk_plc
    slave = server.get_slave(1)
    slave.set_values(
        "hr",
        2000,
        [
            0xE979,
            0x42F6,  # 123.456 as float32 0x42F6E979, low word first
            0xFFFE,
            0xFFFF,  # int32 -2
            0xFF85,  # int16 -123
            0xFFFF,  # uint16 65535
            0x0000,
            0x40A0,  # 5.0 V (0x40A00000) -> 100 sccm
        ],
    )
    slave.set_values("coils", 3, [1])
    slave.set_values("di", 5, [1])
    with PlcClient(_settings(port), TAGS) as client:
        result = client.poll()
    v = result.values
    assert v["test.temperature"] == pytest.approx(123.456, rel=1e-7)
    assert v["test.counter"] == -2
    assert v["test.offset"] == -123
    assert v["test.period"] == 65535
    assert v["test.flow"] == pytest.approx(100.0)
    assert v["test.valve"] is True
    assert v["test.ready"] is True
    assert result.request_count == 3  # holding, coils, discrete inputs


def test_writes_land_in_the_word_swapped_layout(tk_plc: tuple[modbus_tcp.TcpServer, int]) -> None:
    server, port = tk_plc
    slave = server.get_slave(1)
    by_name = {t.name: t for t in TAGS}
    with PlcClient(_settings(port), TAGS) as client:
        assert client.write(by_name["counter"], 0x12345678) == 0x12345678
        assert client.write(by_name["flow"], 150.0) == pytest.approx(150.0)
        assert client.write(by_name["valve"], False) is False
    assert list(slave.get_values("hr", 2002, 2)) == [0x5678, 0x1234]
    assert list(slave.get_values("hr", 2006, 2)) == [0x0000, 0x40F0]  # 7.5 V
    assert list(slave.get_values("coils", 3, 1)) == [0]


def test_write_out_of_range_is_refused_before_any_io(
    tk_plc: tuple[modbus_tcp.TcpServer, int],
) -> None:
    server, port = tk_plc
    flow = next(t for t in TAGS if t.name == "flow")
    with PlcClient(_settings(port), TAGS) as client:
        with pytest.raises(WriteRefused, match=r"250 is outside test.flow's range 0..200"):
            client.write(flow, 250.0)
        assert not client.connected  # nothing was sent
    assert list(server.get_slave(1).get_values("hr", 2006, 2)) == [0, 0]


def test_unmapped_address_is_a_named_exception(tk_plc: tuple[modbus_tcp.TcpServer, int]) -> None:
    _, port = tk_plc
    stray = _tag("stray", DataType.UINT16, RegisterKind.HOLDING, 3000)
    with (
        PlcClient(_settings(port), (stray,)) as client,
        pytest.raises(PlcExceptionResponse, match="illegal data address") as info,
    ):
        client.poll()
    assert info.value.exception_code == 2
