"""The simulated reactor served over Modbus TCP (pymodbus), with injectable faults.

The server runs in a thread of its own with its own asyncio loop, so it serves the
same way under a test, a benchmark, the ``--demo`` console or ``ald-gui simulate``.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Callable, Coroutine, Sequence
from typing import Any, Self, TypeVar, cast

from pymodbus.constants import ExcCodes
from pymodbus.exceptions import NoSuchIdException
from pymodbus.server import ModbusTcpServer
from pymodbus.simulator import SimData, SimDevice

from ald_gui.config.models import AppConfig
from ald_gui.domain.tags import RegisterKind
from ald_gui.sim.faults import Faults
from ald_gui.sim.model import ReactorModel
from ald_gui.sim.watchdog import WriteHeld

T = TypeVar("T")

# Modbus function code -> the table it reads or writes.
_TABLES = {
    1: RegisterKind.COIL,
    5: RegisterKind.COIL,
    15: RegisterKind.COIL,
    2: RegisterKind.DISCRETE_INPUT,
    3: RegisterKind.HOLDING,
    6: RegisterKind.HOLDING,
    16: RegisterKind.HOLDING,
    22: RegisterKind.HOLDING,
    23: RegisterKind.HOLDING,
    4: RegisterKind.INPUT,
}
_CONTROL_TIMEOUT_S = 5.0


class SimulatorError(Exception):
    """The simulator cannot do what was asked (listen, act while stopped)."""


class _ModelStore:
    """The datastore pymodbus's request handlers call: the live model, behind the faults.

    pymodbus 3.16 runs every request against ``server.context`` through these three
    methods. Its own datastores cannot serve a live model: ModbusDeviceContext and
    custom data blocks are copied into a SimDevice at start-up and never called again.
    """

    def __init__(self, model: ReactorModel, faults: Faults) -> None:
        self._model = model
        self._faults = faults
        # pymodbus answers a single write (FC5, FC6) with a read of what it wrote. A
        # PLC echoes the request (Modbus spec 6.5, 6.6), even when its program changes
        # the value at once (a pulse timer refusing its trigger): that read is given
        # the write's own values. Nothing runs in between: neither call suspends.
        self._echo: tuple[int, int, list[int]] | None = None

    def device_ids(self) -> list[int]:
        # 0 is "any device": the simulated PLC answers every unit id, as most
        # Modbus TCP PLCs do.
        return [0]

    async def async_getValues(
        self, device_id: int, func_code: int, address: int, count: int = 1
    ) -> list[int] | list[bool] | ExcCodes:
        refusal = self._refusal(func_code)
        if refusal is not None:
            return refusal
        kind = _TABLES[func_code]
        echo, self._echo = self._echo, None
        if echo is not None and echo[:2] == (func_code, address) and len(echo[2]) == count:
            words: list[int] | None = echo[2]
        else:
            words = self._model.read(kind, address, count)
        if words is None:
            return ExcCodes.ILLEGAL_ADDRESS
        return [bool(w) for w in words] if kind.is_bit else words

    async def async_setValues(
        self, device_id: int, func_code: int, address: int, values: Sequence[int | bool]
    ) -> ExcCodes | None:
        refusal = self._refusal(func_code)
        if refusal is not None:
            return refusal
        try:
            if not self._model.write(_TABLES[func_code], address, [int(v) for v in values]):
                return ExcCodes.ILLEGAL_ADDRESS
        except WriteHeld:  # the tripped watchdog holds a valve or a heater
            return ExcCodes.DEVICE_FAILURE
        if func_code in (5, 6):
            self._echo = (func_code, address, [int(v) for v in values])
        return None

    def _refusal(self, func_code: int) -> ExcCodes | None:
        if self._faults.stalled():
            # With ignore_missing_devices, pymodbus drops a request whose device is
            # missing without answering: exactly a stalled PLC, and nothing is held
            # back to be answered (out of turn) later.
            raise NoSuchIdException("simulated stall: response withheld")
        if func_code not in _TABLES:
            return ExcCodes.ILLEGAL_FUNCTION
        return self._faults.exception()


class Simulator:
    """A configuration's PLC (by default the reference reactor) on Modbus TCP.

    ``port=0`` picks a free port; ``.port`` is the real one once started. ``start()``
    returns when the server listens; ``stop()`` when its thread has ended (a stopped
    simulator may be started again, on the same port, with the model unchanged: a PLC
    reboot). ``model`` is the thread-safe ReactorModel for reading and forcing values;
    ``clock`` drives its physics (freeze it and use ``model.advance()`` in tests).

    The fault methods are thread-safe, take effect before they return and must not be
    called from the server's own thread. Every unit id is answered.
    """

    def __init__(
        self,
        config: AppConfig,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not 0 <= port <= 65535:
            raise ValueError(f"port {port} is outside 0..65535")
        self.config = config
        self.host = host
        self.model = ReactorModel(config, clock)
        self._faults = Faults()
        self._port = port
        self._listening_port: int | None = None
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: ModbusTcpServer | None = None
        self._stopping: asyncio.Event | None = None
        self._ready = threading.Event()
        self._stop_requested = threading.Event()
        self._failure: Exception | None = None
        self._refusing = False

    @property
    def port(self) -> int:
        """The port the simulator listens on. Raises SimulatorError before start()."""
        if self._listening_port is None:
            raise SimulatorError("the simulator has not started: it has no port yet")
        return self._listening_port

    def start(self, timeout_s: float = _CONTROL_TIMEOUT_S) -> None:
        """Listen and serve in a new thread; returns once listening.

        Raises SimulatorError if already running or if it cannot listen (no thread is
        left behind then)."""
        if self._thread is not None:
            raise SimulatorError("the simulator is already running")
        self._ready.clear()
        self._stop_requested.clear()
        self._failure = None
        self._thread = threading.Thread(target=self._run, name="ald-sim-server", daemon=True)
        self._thread.start()
        ready = self._ready.wait(timeout_s)
        if not ready or self._failure is not None:
            self.stop()
            if self._failure is not None:
                raise SimulatorError(str(self._failure)) from self._failure
            raise SimulatorError(f"the simulator did not start listening within {timeout_s} s")

    def stop(self) -> None:
        """Close every connection and the listener; returns once the thread has ended.
        Idempotent."""
        thread = self._thread
        if thread is None:
            return
        # The flag covers a server still starting up; the event wakes a serving one.
        self._stop_requested.set()
        loop, stopping = self._loop, self._stopping
        if loop is not None and stopping is not None:
            with contextlib.suppress(RuntimeError):  # the loop has already ended
                loop.call_soon_threadsafe(stopping.set)
        thread.join()
        self._thread = None
        self._loop = None
        self._server = None
        self._stopping = None
        self._refusing = False

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- faults -------------------------------------------------------------------

    def drop_connections(self) -> int:
        """Close every client connection now; returns how many there were. Clients
        may connect again at once (unless refuse_connections() is in force)."""
        return self._in_loop(self._drop)

    def refuse_connections(self) -> None:
        """Stop listening: new connections are refused until clear_faults().
        Connections already open keep working (drop them with drop_connections())."""
        self._in_loop(self._close_listener)

    def stall(self, seconds: float | None = None) -> None:
        """Withhold the response to every request arriving from now on, for ``seconds``
        of real time or until clear_faults(). Withheld requests are never answered, and
        writes among them are not applied."""
        self._faults.stall(seconds)

    def answer_with_exception(self, code: int | None) -> None:
        """Answer every request with Modbus exception ``code`` (2 illegal data address,
        4 device failure, ...), applying no write; None answers normally again.
        Raises ValueError for a code Modbus does not define."""
        self._faults.answer_with_exception(code)

    def clear_faults(self) -> None:
        """End stalls and exception answers and listen again if refusing."""
        self._faults.clear()
        if self._refusing:
            self._in_loop(self._reopen_listener)

    # -- the server thread --------------------------------------------------------

    def _run(self) -> None:
        try:
            asyncio.run(self._serve())
        except Exception as exc:  # reported by start(), which is waiting for it
            self._failure = exc
        finally:
            self._ready.set()

    async def _serve(self) -> None:
        self._stopping = asyncio.Event()
        self._loop = asyncio.get_running_loop()
        # The constructor insists on a pymodbus datastore; the model replaces it below.
        server = ModbusTcpServer(
            SimDevice(0, simdata=SimData(0)),
            address=(self.host, self._port),
            ignore_missing_devices=True,
        )
        server.context = _ModelStore(self.model, self._faults)  # type: ignore[assignment]
        if not await server.listen():
            raise SimulatorError(
                f"the simulator cannot listen on {self.host}:{self._port} "
                "(address in use or not available)"
            )
        self._server = server
        self._listening_port = cast(asyncio.Server, server.transport).sockets[0].getsockname()[1]
        self._port = self._listening_port  # a restart listens where clients expect it
        self._ready.set()
        try:
            if not self._stop_requested.is_set():
                await self._stopping.wait()
        finally:
            await _stop_accepting(server)
            await server.shutdown()  # type: ignore[no-untyped-call]
            # Let the closed connections finish closing before the loop goes away.
            await asyncio.sleep(0)

    def _in_loop(self, action: Callable[[], Coroutine[Any, Any, T]]) -> T:
        loop = self._loop
        if loop is None or self._server is None:
            raise SimulatorError("the simulator is not running")
        if threading.current_thread() is self._thread:
            raise SimulatorError("fault methods block: call them from another thread")
        return asyncio.run_coroutine_threadsafe(action(), loop).result(_CONTROL_TIMEOUT_S)

    async def _drop(self) -> int:
        assert self._server is not None
        connections = list(self._server.active_connections.values())
        for connection in connections:
            connection.close()
        await asyncio.sleep(0)  # the sockets close in the loop's next round
        return len(connections)

    async def _close_listener(self) -> None:
        assert self._server is not None
        if not self._refusing:
            await _stop_accepting(self._server)
            self._server.transport.close()
            self._refusing = True

    async def _reopen_listener(self) -> None:
        assert self._server is not None
        if self._refusing:
            self._server.init_setup_connect_listen(self.host, self.port)
            if not await self._server.listen():
                raise SimulatorError(
                    f"the simulator cannot listen again on {self.host}:{self.port}"
                )
            self._refusing = False


async def _stop_accepting(server: ModbusTcpServer) -> None:
    """Stop accepting connections and let an accept already under way finish, so
    that closing the listener and the connections also closes that one. (Python 3.11
    fails such an accept with an AssertionError and leaks its socket otherwise.)"""
    loop = asyncio.get_running_loop()
    for sock in cast(asyncio.Server, server.transport).sockets:
        loop.remove_reader(sock.fileno())
    # Round 1 attaches the accepted socket; round 2 hands it to its protocol.
    for _ in range(3):
        await asyncio.sleep(0)


def run_simulator(
    config: AppConfig,
    host: str,
    port: int,
    stop_event: threading.Event | None = None,
) -> None:
    """Serve ``config`` on ``host:port`` until ``stop_event`` is set or Ctrl+C.

    Prints one line saying where it listens. Raises SimulatorError if it cannot listen.
    """
    stop = stop_event if stop_event is not None else threading.Event()
    with Simulator(config, host, port) as simulator:
        print(
            f"ald-gui simulator: {len(config.polled_tags)} tags on modbus "
            f"tcp://{host}:{simulator.port} (any unit id), Ctrl+C to stop",
            flush=True,
        )
        with contextlib.suppress(KeyboardInterrupt):
            stop.wait()
