"""Each answer must be the answer to its request: a misbehaving peer over real TCP.

pymodbus decodes an answer by the function code it carries and silently skips frames
of another transaction, unit or protocol before timing out. The client checks every
answer against its request and names what was wrong, so an invented value is never
recorded and a gap says what happened rather than "did not answer".
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest
from pytestqt.qtbot import QtBot

from ald_gui.config.models import AppConfig, PlcSettings, PollSettings
from ald_gui.config.process import ProcessSettings
from ald_gui.domain.events import PlcLost
from ald_gui.domain.tags import DataType, RegisterKind, Tag
from ald_gui.engine.engine import Engine
from ald_gui.plc.client import PlcClient
from ald_gui.plc.errors import (
    IncompleteAnswer,
    PlcError,
    PlcGarbage,
    PlcTimeout,
    WrongByteCount,
    WrongFunctionCode,
    WrongProtocolId,
    WrongTransactionId,
    WrongUnitId,
)
from tests.acting import TESTER
from tests.fixtures.modbus_peer import ModbusPeer, read_values, reply
from tests.waiting import wait_until

TIMEOUT_S = 0.2


def _tag(name: str, kind: RegisterKind, address: int) -> Tag:
    data_type = DataType.BOOL if kind.is_bit else DataType.UINT16
    return Tag(component="Test", name=name, data_type=data_type, register_kind=kind,
               address=address, min=0, max=65535)  # fmt: skip


def _settings(peer: ModbusPeer) -> PlcSettings:
    return PlcSettings(
        port=peer.port,
        request_timeout_s=TIMEOUT_S,
        connect_timeout_s=TIMEOUT_S,
        reconnect_min_s=0.01,
        reconnect_max_s=0.02,
    )


@pytest.fixture
def registers(modbus_peer: ModbusPeer) -> Iterator[PlcClient]:
    """A client reading two holding registers (FC3) at 0 in one request."""
    tags = [_tag("a", RegisterKind.HOLDING, 0), _tag("b", RegisterKind.HOLDING, 1)]
    with PlcClient(_settings(modbus_peer), tags) as client:
        yield client


@pytest.fixture
def coils(modbus_peer: ModbusPeer) -> Iterator[PlcClient]:
    """A client reading three coils (FC1) at 0 in one request."""
    tags = [_tag(f"c{i}", RegisterKind.COIL, i) for i in range(3)]
    with PlcClient(_settings(modbus_peer), tags) as client:
        yield client


def test_a_correct_answer_is_read(registers: PlcClient, coils: PlcClient) -> None:
    assert registers.poll().values == {"test.a": 1, "test.b": 2}
    assert coils.poll().values == {"test.c0": True, "test.c1": False, "test.c2": True}


def _wrong(
    peer: ModbusPeer, client: PlcClient, answer: Callable[[bytes], bytes], error: type[PlcError]
) -> str:
    peer.answer = answer
    with pytest.raises(error) as raised:
        client.poll()
    assert not client.connected  # nothing left of that answer can pass for the next one
    return str(raised.value)


def test_input_registers_answering_a_holding_read_are_refused(
    modbus_peer: ModbusPeer, registers: PlcClient
) -> None:
    text = _wrong(modbus_peer, registers, lambda r: reply(r, fc=4), WrongFunctionCode)
    assert "answered function 3 with function 4" in text


def test_discrete_inputs_answering_a_coil_read_are_refused(
    modbus_peer: ModbusPeer, coils: PlcClient
) -> None:
    text = _wrong(modbus_peer, coils, lambda r: reply(r, fc=2), WrongFunctionCode)
    assert "answered function 1 with function 2" in text


def test_an_exception_for_another_function_is_refused(
    modbus_peer: ModbusPeer, registers: PlcClient
) -> None:
    def exception_of_fc4(request: bytes) -> bytes:  # "illegal data address", for FC4
        return request[:4] + b"\x00\x03" + request[6:7] + b"\x84\x02"

    text = _wrong(modbus_peer, registers, exception_of_fc4, WrongFunctionCode)
    assert "answered function 3 with function 132" in text


def test_an_answer_to_another_transaction_is_named(
    modbus_peer: ModbusPeer, registers: PlcClient
) -> None:
    def other(request: bytes) -> bytes:
        return reply(request, tid=int.from_bytes(request[:2], "big") + 7)

    text = _wrong(modbus_peer, registers, other, WrongTransactionId)
    assert "answered transaction" in text and "did not answer" not in text


def test_an_answer_with_transaction_id_zero_is_named(
    modbus_peer: ModbusPeer, registers: PlcClient
) -> None:
    _wrong(modbus_peer, registers, lambda r: reply(r, tid=0), WrongTransactionId)


def test_an_answer_from_another_unit_is_named(
    modbus_peer: ModbusPeer, registers: PlcClient
) -> None:
    text = _wrong(modbus_peer, registers, lambda r: reply(r, unit=9), WrongUnitId)
    assert "as unit 9 to a request for unit 1" in text


def test_a_wrong_protocol_id_is_named(modbus_peer: ModbusPeer, registers: PlcClient) -> None:
    text = _wrong(modbus_peer, registers, lambda r: reply(r, pid=1), WrongProtocolId)
    assert "protocol id 1, not 0" in text


def test_random_bytes_are_named(modbus_peer: ModbusPeer, registers: PlcClient) -> None:
    text = _wrong(
        modbus_peer, registers, lambda r: b"HTTP/1.1 400 Bad Request\r\n\r\n", WrongProtocolId
    )
    assert "not Modbus TCP" in text and "did not answer" not in text


def test_a_few_stray_bytes_are_named(modbus_peer: ModbusPeer, registers: PlcClient) -> None:
    text = _wrong(modbus_peer, registers, lambda r: b"\x17\x2a\x00", IncompleteAnswer)
    assert "sent 3 bytes, less than a Modbus TCP header" in text


def test_a_cut_off_frame_is_named(modbus_peer: ModbusPeer, registers: PlcClient) -> None:
    text = _wrong(modbus_peer, registers, lambda r: reply(r)[:-1], IncompleteAnswer)
    assert "sent 12 of the 13 bytes" in text


@pytest.mark.parametrize(
    ("answer", "says"),
    [
        (lambda r: reply(r, byte_count=6), "byte count of 6, not 4"),  # more than the frame
        (lambda r: reply(r, byte_count=2), "byte count of 2, not 4"),  # less than the frame
        (lambda r: reply(r, data=read_values(r) * 2, byte_count=4), "carrying 8 data bytes"),
    ],
    ids=["above-frame", "below-frame", "frame-longer"],
)
def test_a_bad_byte_count_is_named(
    modbus_peer: ModbusPeer, registers: PlcClient, answer: Callable[[bytes], bytes], says: str
) -> None:
    assert says in _wrong(modbus_peer, registers, answer, WrongByteCount)


def test_bytes_beyond_the_answer_are_refused(modbus_peer: ModbusPeer, registers: PlcClient) -> None:
    text = _wrong(modbus_peer, registers, lambda r: reply(r) + reply(r), PlcGarbage)
    assert "13 bytes more than one answer" in text


def test_silence_is_still_a_timeout_and_the_link_recovers(
    modbus_peer: ModbusPeer, registers: PlcClient
) -> None:
    _wrong(modbus_peer, registers, lambda r: b"", PlcTimeout)
    modbus_peer.answer = reply

    def polls() -> bool:
        try:
            return registers.poll().values == {"test.a": 1, "test.b": 2}
        except PlcError:
            return False

    wait_until(polls, 5.0, "the link to come back")


def test_the_gap_stored_names_the_protocol_error(
    modbus_peer: ModbusPeer,
    reference_config: AppConfig,
    migrated_pg_dsn: str,
    tmp_path: Path,
    qtbot: QtBot,
) -> None:
    modbus_peer.answer = lambda r: reply(r, unit=9)
    config = reference_config.model_copy(
        update={
            "plc": _settings(modbus_peer),
            "tags": [_tag("a", RegisterKind.HOLDING, 0)],
            "poll": PollSettings(interval_s=0.05),
            "process": ProcessSettings(),  # no valves, no watchdog: one tag
        }
    )
    engine = Engine(config, data_dir=tmp_path / "data", dsn=migrated_pg_dsn)
    engine.act_as(TESTER)
    engine.open()
    try:
        with qtbot.waitSignal(
            engine.occurred, timeout=5000, check_params_cb=lambda e: isinstance(e, PlcLost)
        ):
            pass
    finally:
        engine.shutdown()
    with psycopg.connect(migrated_pg_dsn) as conn:
        rows = conn.execute("SELECT reason FROM plc_gaps").fetchall()
        history = conn.execute("SELECT count(*) FROM parameter_value_history").fetchone()
    assert len(rows) == 1 and "as unit 9 to a request for unit 1" in rows[0][0], rows
    assert history == (0,)  # nothing from that peer was taken for a value
