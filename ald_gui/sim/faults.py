"""Misbehaviours of the simulated PLC that tests switch on: silence and refusals.

Connection faults (dropping, refusing) act on sockets and live in the server; the
faults here decide what happens to each request, so the server asks on every one.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable

from pymodbus.constants import ExcCodes


def exception_code(code: int) -> ExcCodes:
    """The Modbus exception ``code`` names; ValueError listing the valid ones if none."""
    try:
        return ExcCodes(code)
    except ValueError:
        valid = ", ".join(str(int(c)) for c in ExcCodes)
        raise ValueError(f"{code!r} is not a Modbus exception code (valid: {valid})") from None


class Faults:
    """Request faults, thread-safe: set from any thread, read by the server loop.

    ``clock`` (real seconds, monotonic) times a stall of limited length: stalls are
    about the client's real timeouts, not the model's simulated time.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._stalled_until: float | None = None
        self._exception: ExcCodes | None = None

    def stall(self, seconds: float | None = None) -> None:
        """Withhold every response from now on: for ``seconds``, or until cleared."""
        if seconds is not None and not (math.isfinite(seconds) and seconds > 0):
            raise ValueError(f"a stall lasts a positive number of seconds, not {seconds!r}")
        with self._lock:
            self._stalled_until = math.inf if seconds is None else self._clock() + seconds

    def answer_with_exception(self, code: int | None) -> None:
        """Answer every request with Modbus exception ``code`` (None: answer normally)."""
        exc = None if code is None else exception_code(code)
        with self._lock:
            self._exception = exc

    def clear(self) -> None:
        with self._lock:
            self._stalled_until = None
            self._exception = None

    def stalled(self) -> bool:
        """Whether a request arriving now must go unanswered."""
        with self._lock:
            until = self._stalled_until
        return until is not None and self._clock() < until

    def exception(self) -> ExcCodes | None:
        """The exception every request gets now, if any."""
        with self._lock:
            return self._exception
