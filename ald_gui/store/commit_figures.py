"""The writer's throughput and latency figures, as commits happen."""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterable

__all__ = ["CommitFigures"]

RATE_WINDOW_S = 5.0  # rows per second are averaged over this


class CommitFigures:
    """Rows committed over the last ``RATE_WINDOW_S`` and the sampling-to-commit latency
    of the last ``latency_samples`` batches. Safe from any thread; each call is cheap."""

    def __init__(self, latency_samples: int) -> None:
        self._lock = threading.Lock()
        self._committed_rows: deque[tuple[float, int]] = deque()
        self._latencies: deque[float] = deque(maxlen=latency_samples)

    def record(self, committed_s: float, rows: int, latencies_s: Iterable[float]) -> None:
        """One commit of ``rows`` rows at monotonic time ``committed_s``, and the latency
        of each batch it carried."""
        with self._lock:
            self._committed_rows.append((committed_s, rows))
            while self._committed_rows[0][0] < committed_s - RATE_WINDOW_S:
                self._committed_rows.popleft()
            self._latencies.extend(latencies_s)

    def rows_per_second(self, now_s: float) -> float:
        """Rows committed per second over the window that ends at monotonic ``now_s``."""
        with self._lock:
            rows = sum(n for t, n in self._committed_rows if t > now_s - RATE_WINDOW_S)
        return rows / RATE_WINDOW_S

    def latencies(self) -> list[float]:
        """Seconds from sampling to commit of each batch, oldest first."""
        with self._lock:
            return list(self._latencies)
