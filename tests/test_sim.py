"""The reactor simulator over real Modbus TCP, read and written with pymodbus's own
synchronous client: register image, physics (on simulated time) and injected faults."""

from __future__ import annotations

import gc
import io
import re
import socket
import sys
import threading
import time
from collections.abc import Iterator

import pytest
from pymodbus.client import ModbusTcpClient
from pymodbus.exceptions import ConnectionException, ModbusIOException
from pymodbus.pdu import ModbusPDU

from ald_gui.config.models import AppConfig, PlcSettings
from ald_gui.domain.tags import ByteOrder, DataType, RegisterKind, Scaling, Tag, WordOrder
from ald_gui.plc import codec
from ald_gui.sim.faults import Faults
from ald_gui.sim.model import ReactorModel
from ald_gui.sim.server import Simulator, SimulatorError, run_simulator
from tests.fixtures.plc import frozen_clock

UNIT = 1
TIMEOUT_S = 0.3


def connect(port: int, timeout_s: float = TIMEOUT_S) -> ModbusTcpClient:
    client = ModbusTcpClient("127.0.0.1", port=port, timeout=timeout_s, retries=0)
    assert client.connect()
    return client


@pytest.fixture
def client(simulator: Simulator) -> Iterator[ModbusTcpClient]:
    c = connect(simulator.port)
    yield c
    c.close()


def read_raw(client: ModbusTcpClient, kind: RegisterKind, address: int, count: int) -> ModbusPDU:
    read = {
        RegisterKind.HOLDING: client.read_holding_registers,
        RegisterKind.INPUT: client.read_input_registers,
        RegisterKind.COIL: client.read_coils,
        RegisterKind.DISCRETE_INPUT: client.read_discrete_inputs,
    }[kind]
    return read(address, count=count, device_id=UNIT)


def raw_value(client: ModbusTcpClient, config: AppConfig, key: str) -> float | int | bool:
    """The tag's value as the PLC holds it (volts for a scaled tag)."""
    tag = config.tag(key)
    assert tag.address is not None
    rr = read_raw(client, tag.register_kind, tag.address, tag.data_type.register_count)
    assert not rr.isError(), rr
    if tag.register_kind.is_bit:
        return bool(rr.bits[0])
    return codec.decode(
        list(rr.registers), tag.data_type, config.plc.word_order, config.plc.byte_order
    )


def read_tag(client: ModbusTcpClient, config: AppConfig, key: str) -> float | int | bool:
    """The tag's engineering value, decoded and scaled the way a console must."""
    raw = raw_value(client, config, key)
    scaling = config.tag(key).scaling
    return raw if scaling is None or isinstance(raw, bool) else scaling.to_engineering(raw)


def write_tag(client: ModbusTcpClient, config: AppConfig, key: str, value: float | bool) -> None:
    tag = config.tag(key)
    table, address = tag.write_target
    if table is RegisterKind.COIL:
        rr = client.write_coil(address, bool(value), device_id=UNIT)
    else:
        raw = value if tag.scaling is None else tag.scaling.to_raw(value)
        words = codec.encode(raw, tag.data_type, config.plc.word_order, config.plc.byte_order)
        rr = client.write_registers(address, words, device_id=UNIT)
    assert not rr.isError(), rr


# -- the register image --------------------------------------------------------------


def test_every_polled_tag_reads_back_what_the_model_holds(
    simulator: Simulator, client: ModbusTcpClient, sim_config: AppConfig
) -> None:
    for tag in sim_config.polled_tags:
        value = read_tag(client, sim_config, tag.key)
        assert value == pytest.approx(simulator.model.value(tag.key), rel=1e-6), tag.key
        assert tag.min <= value <= tag.max, f"{tag.key} = {value} outside its range"
    # A freshly powered reactor: cold, vented, no flow, nitrogen not ready.
    assert read_tag(client, sim_config, "chamber_heater.temperature_read") == 25.0
    assert read_tag(client, sim_config, "chamber_heater.pid_output") == 0
    assert read_tag(client, sim_config, "pressure_gauge_1.pressure_read") == 100_000.0
    assert read_tag(client, sim_config, "mfc_1.flow_read") == 0.0
    assert read_tag(client, sim_config, "nitrogen_generator.purity_read") is False
    assert read_tag(client, sim_config, "mfc_1.scale_max") == 200.0


def test_registers_are_word_swapped_and_scaled_tags_hold_volts(
    client: ModbusTcpClient, sim_config: AppConfig
) -> None:
    tag = sim_config.tag("pressure_gauge_1.pressure_read")
    assert tag.address is not None
    rr = read_raw(client, RegisterKind.HOLDING, tag.address, 2)
    # 10.0 V (full scale: the vented chamber) is 0x41200000; low word first.
    assert rr.registers == [0x0000, 0x4120]
    write_tag(client, sim_config, "mfc_1.flow_set", 100.0)
    assert raw_value(client, sim_config, "mfc_1.flow_set") == pytest.approx(5.0)


def test_gaps_read_as_zero_and_reads_past_the_image_are_illegal(
    client: ModbusTcpClient, sim_config: AppConfig
) -> None:
    highest = max(t.register_span[1] for t in sim_config.polled_tags if not t.register_kind.is_bit)
    assert not read_raw(client, RegisterKind.HOLDING, highest - 124, 125).isError()
    assert read_raw(client, RegisterKind.HOLDING, 0, 2).registers == [0, 0]
    past = read_raw(client, RegisterKind.HOLDING, highest, 2)
    assert past.isError() and past.exception_code == 2
    # The reference PLC has no input registers at all (everything is read with FC3).
    assert read_raw(client, RegisterKind.INPUT, 0, 1).exception_code == 2


def test_any_unit_id_is_answered(client: ModbusTcpClient) -> None:
    assert not client.read_coils(0, count=8, device_id=7).isError()


# -- physics, on simulated time -----------------------------------------------------


def test_heater_approaches_its_setpoint_and_cools_when_off(
    simulator: Simulator, client: ModbusTcpClient, sim_config: AppConfig
) -> None:
    def read(name: str) -> float:
        return float(read_tag(client, sim_config, f"chamber_heater.{name}"))

    write_tag(client, sim_config, "chamber_heater.temperature_set", 200.0)
    write_tag(client, sim_config, "chamber_heater.power_on", True)
    simulator.model.advance(5)
    assert 25.0 < read("temperature_read") < 100.0
    assert read("pid_output") == 100  # far below the setpoint: full power
    simulator.model.advance(600)
    assert read("temperature_read") == pytest.approx(200.0, abs=0.5)
    assert 5 <= read("pid_output") <= 30  # holding power only
    write_tag(client, sim_config, "chamber_heater.power_on", False)
    simulator.model.advance(1200)
    assert read("temperature_read") < 30.0
    assert read("pid_output") == 0


def test_heater_target_is_clamped_to_its_limits(
    simulator: Simulator, client: ModbusTcpClient, sim_config: AppConfig
) -> None:
    write_tag(client, sim_config, "backline_heater.temp_max_limit", 150.0)
    write_tag(client, sim_config, "backline_heater.temperature_set", 300.0)
    write_tag(client, sim_config, "backline_heater.power_on", True)
    simulator.model.advance(900)
    assert read_tag(client, sim_config, "backline_heater.temperature_read") == pytest.approx(150.0)


def test_pump_lowers_the_pressures_and_venting_raises_them(
    simulator: Simulator, client: ModbusTcpClient, sim_config: AppConfig
) -> None:
    write_tag(client, sim_config, "vacuum_pump.power_on", True)
    simulator.model.advance(60)
    chamber = read_tag(client, sim_config, "pressure_gauge_1.pressure_read")
    foreline = read_tag(client, sim_config, "pressure_gauge_2.pressure_read")
    assert chamber < 5.0 and foreline < 5.0
    write_tag(client, sim_config, "vacuum_pump.power_on", False)
    simulator.model.advance(120)
    assert read_tag(client, sim_config, "pressure_gauge_1.pressure_read") > 90_000.0


def test_a_valve_pulse_spikes_the_chamber_pressure(
    simulator: Simulator, client: ModbusTcpClient, sim_config: AppConfig
) -> None:
    write_tag(client, sim_config, "vacuum_pump.power_on", True)
    simulator.model.advance(120)
    base = float(read_tag(client, sim_config, "pressure_gauge_1.pressure_read"))
    write_tag(client, sim_config, "valve_1.valve_state", True)
    spiked = float(read_tag(client, sim_config, "pressure_gauge_1.pressure_read"))
    assert spiked > base + 30.0
    simulator.model.advance(0.1)
    write_tag(client, sim_config, "valve_1.valve_state", False)
    simulator.model.advance(30)
    assert read_tag(client, sim_config, "pressure_gauge_1.pressure_read") < base + 1.0


def test_mfc_flow_follows_its_setpoint_through_the_voltage_scaling(
    simulator: Simulator, client: ModbusTcpClient, sim_config: AppConfig
) -> None:
    write_tag(client, sim_config, "mfc_1.flow_set", 100.0)
    assert simulator.model.value("mfc_1.flow_set") == pytest.approx(100.0)
    simulator.model.advance(0.5)
    assert 50.0 < read_tag(client, sim_config, "mfc_1.flow_read") < 80.0  # one time constant
    simulator.model.advance(10)
    assert read_tag(client, sim_config, "mfc_1.flow_read") == pytest.approx(100.0, abs=0.01)
    assert raw_value(client, sim_config, "mfc_1.flow_read") == pytest.approx(5.0, abs=1e-4)


def test_nitrogen_is_ready_after_its_warm_up_unless_in_fault(
    simulator: Simulator, client: ModbusTcpClient, sim_config: AppConfig
) -> None:
    def ready() -> bool:
        return bool(read_tag(client, sim_config, "nitrogen_generator.purity_read"))

    write_tag(client, sim_config, "nitrogen_generator.power_on", True)
    simulator.model.advance(1)
    assert not ready()
    simulator.model.advance(10)
    assert ready()
    simulator.model.set_value("nitrogen_generator.fault_status", True)
    simulator.model.advance(0.1)
    assert read_tag(client, sim_config, "nitrogen_generator.fault_status") is True
    assert not ready()
    simulator.model.set_value("nitrogen_generator.fault_status", False)
    simulator.model.advance(0.1)
    assert ready()
    write_tag(client, sim_config, "nitrogen_generator.power_on", False)
    simulator.model.advance(0.1)
    assert not ready()


def test_model_on_a_ticking_clock_advances_once_per_scan_cycle(reference_config: AppConfig) -> None:
    now = [0.0]
    model = ReactorModel(reference_config, clock=lambda: now[0])
    model.set_value("vacuum_pump.power_on", True)
    now[0] = 0.005  # within one scan cycle: nothing moves yet
    assert model.value("pressure_gauge_1.pressure_read") == 100_000.0
    now[0] = 5.0
    assert model.value("pressure_gauge_1.pressure_read") < 10_000.0
    assert model.elapsed_s == 5.0


# -- a configuration of its own --------------------------------------------------------


def _tag(name: str, **fields: object) -> Tag:
    return Tag.model_validate({"component": "Oven", "name": name, "min": 0, "max": 500} | fields)


def test_a_custom_layout_and_byte_order_are_served_as_configured() -> None:
    config = AppConfig(
        plc=PlcSettings(word_order=WordOrder.HIGH_FIRST, byte_order=ByteOrder.LITTLE),
        tags=(
            _tag("temperature_read", data_type="float32", register_kind="input", address=10),
            # Read from input registers, written through a holding register.
            _tag(
                "temperature_set",
                data_type="int16",
                register_kind="input",
                address=12,
                writable=True,
                write_address=100,
                scaling=Scaling(raw_min=0, raw_max=5000, eng_min=0, eng_max=500),
            ),
            _tag("power_on", data_type="bool", register_kind="coil", address=3, writable=True),
            _tag("heater_5", data_type="bool", register_kind="coil"),  # not wired
        ),
    )
    with Simulator(config, clock=frozen_clock) as sim:
        c = connect(sim.port)
        try:
            words = codec.encode(1500, DataType.INT16, config.plc.word_order, config.plc.byte_order)
            assert not c.write_registers(100, words, device_id=UNIT).isError()
            assert read_tag(c, config, "oven.temperature_set") == 150.0
            assert not c.write_coil(3, True, device_id=UNIT).isError()
            sim.model.advance(3600)
            assert read_tag(c, config, "oven.temperature_read") == pytest.approx(150.0)
        finally:
            c.close()
        with pytest.raises(KeyError, match=r"oven\.heater_5.*no address"):
            sim.model.value("oven.heater_5")


def test_model_names_bad_keys_and_values(reference_config: AppConfig) -> None:
    model = ReactorModel(reference_config, clock=frozen_clock)
    with pytest.raises(KeyError, match=r"no tag 'oven\.nothing'"):
        model.value("oven.nothing")
    with pytest.raises(KeyError, match=r"precursor_5_heater\.kp.*no address"):
        model.set_value("precursor_5_heater.kp", 1.0)
    with pytest.raises(codec.CodecError, match="not a whole number"):
        model.set_value("chamber_heater.pid_period", 2.5)
    with pytest.raises(ValueError, match="cannot advance"):
        model.advance(-1)


# -- faults ------------------------------------------------------------------------------


def test_drop_connections_disconnects_the_client(
    simulator: Simulator, client: ModbusTcpClient
) -> None:
    assert not client.read_coils(0, count=8, device_id=UNIT).isError()
    assert simulator.drop_connections() == 1
    with pytest.raises(ConnectionException):
        client.read_coils(0, count=8, device_id=UNIT)
    client.close()
    assert client.connect()
    assert not client.read_coils(0, count=8, device_id=UNIT).isError()


def test_a_stall_makes_the_client_time_out_and_applies_no_write(
    simulator: Simulator, client: ModbusTcpClient
) -> None:
    simulator.stall()
    started = time.monotonic()
    with pytest.raises(ModbusIOException):
        client.read_holding_registers(2000, count=2, device_id=UNIT)
    assert time.monotonic() - started < TIMEOUT_S + 0.5
    with pytest.raises(ModbusIOException):
        client.write_coil(10, True, device_id=UNIT)
    assert simulator.model.value("vacuum_pump.power_on") is False
    simulator.clear_faults()
    rr = client.read_coils(10, count=1, device_id=UNIT)
    assert not rr.isError() and rr.bits[0] is False


def test_a_timed_stall_ends_by_itself() -> None:
    now = [100.0]
    faults = Faults(clock=lambda: now[0])
    faults.stall(2.0)
    assert faults.stalled()
    now[0] = 102.0
    assert not faults.stalled()
    with pytest.raises(ValueError, match="positive number of seconds"):
        faults.stall(0)


@pytest.mark.parametrize("code", [2, 4])
def test_exception_answers_carry_the_code_and_apply_no_write(
    simulator: Simulator, client: ModbusTcpClient, code: int
) -> None:
    simulator.answer_with_exception(code)
    rr = client.read_holding_registers(2000, count=2, device_id=UNIT)
    assert rr.isError() and rr.exception_code == code
    rr = client.write_coil(10, True, device_id=UNIT)
    assert rr.isError() and rr.exception_code == code
    assert simulator.model.value("vacuum_pump.power_on") is False
    simulator.answer_with_exception(None)
    assert not client.write_coil(10, True, device_id=UNIT).isError()
    assert simulator.model.value("vacuum_pump.power_on") is True


def test_an_undefined_exception_code_is_rejected(simulator: Simulator) -> None:
    with pytest.raises(ValueError, match="99 is not a Modbus exception code"):
        simulator.answer_with_exception(99)


def test_refused_connections_until_cleared(simulator: Simulator, client: ModbusTcpClient) -> None:
    simulator.refuse_connections()
    newcomer = ModbusTcpClient("127.0.0.1", port=simulator.port, timeout=TIMEOUT_S, retries=0)
    try:
        assert not newcomer.connect()
        assert not client.read_coils(0, count=8, device_id=UNIT).isError()
        simulator.clear_faults()
        assert newcomer.connect()
        assert not newcomer.read_coils(0, count=8, device_id=UNIT).isError()
    finally:
        newcomer.close()


# -- life cycle ----------------------------------------------------------------------


def _server_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "ald-sim-server"]


def test_stop_ends_the_thread_and_a_restart_keeps_port_and_state(
    reference_config: AppConfig,
) -> None:
    sim = Simulator(reference_config, clock=frozen_clock)
    with pytest.raises(SimulatorError, match="no port yet"):
        _ = sim.port
    sim.start()
    port = sim.port
    c = connect(port)  # left open: stop() must close it
    assert not c.write_coil(10, True, device_id=UNIT).isError()
    sim.stop()
    assert _server_threads() == []
    with pytest.raises(SimulatorError, match="not running"):
        sim.drop_connections()
    c.close()
    with Simulator(reference_config, port=port) as other:  # the port is free again
        assert other.port == port
    sim.start()  # a PLC reboot: same port, same memory
    try:
        assert sim.port == port
        c = connect(port)
        assert c.read_coils(10, count=1, device_id=UNIT).bits[0] is True
        c.close()
    finally:
        sim.stop()
    sim.stop()  # idempotent


def test_a_port_in_use_is_a_clear_error(reference_config: AppConfig, simulator: Simulator) -> None:
    taken = Simulator(reference_config, port=simulator.port)
    with pytest.raises(SimulatorError, match=f"cannot listen on 127.0.0.1:{simulator.port}"):
        taken.start()
    assert len(_server_threads()) == 1


def test_stopping_while_clients_connect_leaks_no_socket(reference_config: AppConfig) -> None:
    # Connections accepted while the listener closes must be closed too; a leaked
    # socket surfaces as an unraisable ResourceWarning, which fails the test.
    for round_ in range(20):
        sim = Simulator(reference_config, clock=frozen_clock)
        sim.start()

        def hammer(port: int = sim.port) -> None:
            for _ in range(20):
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1.0).close()
                except OSError:
                    return  # refused: the simulator has stopped

        hammers = [threading.Thread(target=hammer) for _ in range(2)]
        for h in hammers:
            h.start()
        if round_ % 2:
            sim.refuse_connections()
            sim.clear_faults()
        sim.stop()
        for h in hammers:
            h.join()
    gc.collect()


class _Console(io.StringIO):
    """Stands in for stdout; tells when the simulator has said where it listens."""

    def __init__(self) -> None:
        super().__init__()
        self.announced = threading.Event()

    def write(self, text: str) -> int:
        written = super().write(text)
        if "\n" in text:
            self.announced.set()
        return written


def test_run_simulator_serves_until_stopped(
    reference_config: AppConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    console = _Console()
    monkeypatch.setattr(sys, "stdout", console)
    stop = threading.Event()
    runner = threading.Thread(target=run_simulator, args=(reference_config, "127.0.0.1", 0, stop))
    runner.start()
    try:
        assert console.announced.wait(5.0)
        found = re.search(r"tcp://127\.0\.0\.1:(\d+)", console.getvalue())
        assert found, console.getvalue()
        c = connect(int(found.group(1)))
        assert not c.read_coils(0, count=8, device_id=UNIT).isError()
        c.close()
    finally:
        stop.set()
        runner.join(5.0)
    assert not runner.is_alive()
    assert _server_threads() == []
