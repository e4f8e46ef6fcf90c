"""What a console without a window prints: events as they happen, a status line."""

from __future__ import annotations

from datetime import datetime

from PySide6.QtCore import QObject, QTimer, Slot

from ald_gui.domain.health import PlcHealth
from ald_gui.domain.stream import Batch, RunEnded, RunStarted
from ald_gui.engine.engine import Engine
from ald_gui.store.health import WriterHealth
from ald_gui.ui.event_text import describe


def _clock(at_us: int | None = None) -> str:
    moment = datetime.now() if at_us is None else datetime.fromtimestamp(at_us / 1e6)
    return moment.strftime("%H:%M:%S")


class LiveReport(QObject):
    def __init__(self, engine: Engine, live_line: bool = True) -> None:
        super().__init__()
        self._samples = 0
        self._plc: PlcHealth | None = None
        self._writer: WriterHealth | None = None
        engine.sampled.connect(self._on_sample)
        engine.run_changed.connect(self._on_run)
        engine.occurred.connect(self._on_event)
        engine.plc_health.connect(self._on_plc)
        engine.writer_health.connect(self._on_writer)
        self._timer = QTimer(self)
        if live_line:
            self._timer.timeout.connect(self._print_status)
            self._timer.start(2000)

    def close(self) -> None:
        self._timer.stop()

    @Slot(object)
    def _on_sample(self, batch: Batch) -> None:
        self._samples += 1

    @Slot(object)
    def _on_plc(self, health: PlcHealth) -> None:
        self._plc = health

    @Slot(object)
    def _on_writer(self, health: WriterHealth) -> None:
        self._writer = health

    @Slot(object)
    def _on_run(self, item: object) -> None:
        if isinstance(item, RunStarted):
            run = item.run
            print(f"{_clock(run.started_at_us)} run {run.id} started by {run.operator}", flush=True)
        elif isinstance(item, RunEnded):
            print(
                f"{_clock(item.ended_at_us)} run {item.run_id} ended: {item.status}"
                + (f" ({item.reason})" if item.reason else ""),
                flush=True,
            )

    @Slot(object)
    def _on_event(self, event: object) -> None:
        entry = describe(event)
        print(f"{entry.time_text} {entry.severity:<7} {entry.message}", flush=True)

    @Slot()
    def _print_status(self) -> None:
        plc, writer = self._plc, self._writer
        parts = [f"{_clock()} samples {self._samples}"]
        if plc is not None:
            rtt = f"{plc.round_trip_s * 1000:.1f} ms" if plc.round_trip_s is not None else "-"
            parts.append(f"PLC {'up' if plc.connected else 'DOWN'} {rtt}")
        if writer is not None:
            parts.append(f"DB {'up' if writer.database_connected else 'DOWN'}")
            parts.append(f"spool {writer.spool_depth}")
            parts.append(f"{writer.rows_per_second:.0f} rows/s")
        print(" | ".join(parts), flush=True)
