"""Pulse timing: how close a valve's on-time comes to the length asked, both ways.

The bundled simulator serves the reference reactor in a process of its own, on the real
clock, over TCP loopback. The console's own pulse drivers (ald_gui.engine.pulse, picked
per valve by ``Pulses``) drive the pulses, waiting for each deadline the way the poll
thread does (an Event's timed wait):

- console-timed, Valve 3: the coil opened and closed by the console; the error is the
  on-time the console measured (acknowledged open to acknowledged close) minus the
  length asked. Goal: p99 of |error| <= 5 ms.
- PLC-timed, Valve 1: length and trigger written, the PLC's pulse timer times it; the
  error is the on-time the PLC reports minus the length asked. Goal: p99 <= 1 ms. (The
  simulated PLC closes to the microsecond of its clock: this proves the protocol, not a
  real PLC's timer; the figure beside it is how long after the pulse's end the console
  knew it was over.)
- the valve write: the console's write of a valve (``PlcClient.write_echoed``, one
  request, its echo checked) against a raw pymodbus ``write_coil`` on a client of its
  own, to the same coil, alternating in batches. Goal: median <= 1.5x the raw write.

Prints a table and a JSON line. Exits 1 in full mode if a goal is missed; ``--short``
(CI) runs a few pulses to prove it works and judges no figure.

    python benchmarks/pulse_timing.py [--pulses N] [--short]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

from pymodbus.client import ModbusTcpClient
from support.simulator import simulator_process

from ald_gui.config.load import load_config
from ald_gui.config.models import AppConfig
from ald_gui.engine.pulse import OpenPulse, PulseDone, Pulses
from ald_gui.plc.client import PlcClient

GOAL_CONSOLE_P99_MS = 5.0
GOAL_PLC_P99_MS = 1.0
GOAL_WRITE_RATIO = 1.5
LENGTHS_MS = (20, 50, 100)  # cycled through, as a recipe's pulses would be
GAP_S = 0.02  # between pulses, as a purge would leave


def _p99(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]


def _wait_until(moment: float, wake: threading.Event) -> None:
    """As the poll thread waits for a deadline: a timed wait on an Event."""
    while (left := moment - time.monotonic()) > 0:
        wake.wait(left)


def _pulses(
    config: AppConfig, client: PlcClient, valve_name: str, count: int
) -> tuple[list[float], list[float], str]:
    """``count`` pulses of ``valve_name``: each one's on-time error (ms), how long past
    its end the console learnt it was over (ms), and who timed them."""
    valve = config.process.valve(valve_name)
    driver = Pulses(config).driver(valve)
    wake = threading.Event()
    errors, confirmed_after = [], []
    timed_by = ""
    for i in range(count):
        ms = LENGTHS_MS[i % len(LENGTHS_MS)]
        result: PulseDone | OpenPulse = driver.open(client, valve, ms)
        end = result.opened_at + ms / 1000
        while isinstance(result, OpenPulse):
            _wait_until(result.close_at, wake)
            result = driver.finish(client, result)
        confirmed_after.append((time.monotonic() - end) * 1000)
        errors.append(result.measured_ms - ms)
        timed_by = result.timed_by
        _wait_until(time.monotonic() + GAP_S, wake)
    return errors, confirmed_after, timed_by


def _writes(
    config: AppConfig, client: PlcClient, port: int, batches: int, per_batch: int
) -> tuple[list[float], list[float]]:
    """Seconds per valve write: the console's, and a raw pymodbus write_coil's, in
    alternating batches so that machine noise falls on both alike."""
    tag = config.tag("valve_3.valve_state")
    assert tag.address is not None
    raw = ModbusTcpClient("127.0.0.1", port=port, timeout=1.0, retries=0)
    assert raw.connect(), "the raw client cannot connect"
    unit = config.plc.unit_id
    console: list[float] = []
    baseline: list[float] = []

    def console_write(on: bool) -> None:
        client.write_echoed(tag, on)

    def raw_write(on: bool) -> None:
        answer = raw.write_coil(tag.address, on, device_id=unit)
        assert not answer.isError(), answer

    def batch(write: Callable[[bool], None], out: list[float]) -> None:
        for i in range(per_batch):
            start = time.perf_counter()
            write(i % 2 == 0)
            out.append(time.perf_counter() - start)

    try:
        batch(console_write, [])  # warm up both
        batch(raw_write, [])
        for _ in range(batches):
            batch(console_write, console)
            batch(raw_write, baseline)
    finally:
        raw.close()  # type: ignore[no-untyped-call]
    return console, baseline


def _row(errors: list[float]) -> dict[str, float]:
    return {
        "pulses": len(errors),
        "min_ms": min(errors),
        "median_ms": statistics.median(errors),
        "max_ms": max(errors),
        "p99_abs_ms": _p99([abs(e) for e in errors]),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pulses", type=int, default=300, help="pulses per way")
    parser.add_argument("--short", action="store_true", help="a few pulses, to prove it runs")
    args = parser.parse_args()
    pulses = 12 if args.short else args.pulses
    batches, per_batch = (4, 25) if args.short else (40, 50)

    config = load_config()
    with simulator_process() as port:
        config = config.model_copy(update={"plc": config.plc.model_copy(update={"port": port})})
        with PlcClient(config.plc, config.tags) as client:
            client.connect()
            console_err, console_after, console_by = _pulses(config, client, "Valve 3", pulses)
            plc_err, plc_after, plc_by = _pulses(config, client, "Valve 1", pulses)
            console_w, raw_w = _writes(config, client, port, batches, per_batch)

    assert (console_by, plc_by) == ("console", "plc"), (console_by, plc_by)
    rows: dict[str, Any] = {
        "console_timed": _row(console_err) | {"confirmed_after_p99_ms": _p99(console_after)},
        "plc_timed": _row(plc_err) | {"confirmed_after_p99_ms": _p99(plc_after)},
    }
    writes = {
        "writes": len(console_w),
        "console_median_ms": statistics.median(console_w) * 1e3,
        "console_p99_ms": _p99(console_w) * 1e3,
        "raw_median_ms": statistics.median(raw_w) * 1e3,
        "raw_p99_ms": _p99(raw_w) * 1e3,
    }
    ratio = writes["console_median_ms"] / writes["raw_median_ms"]
    goals = {
        "console_timed": rows["console_timed"]["p99_abs_ms"] <= GOAL_CONSOLE_P99_MS,
        "plc_timed": rows["plc_timed"]["p99_abs_ms"] <= GOAL_PLC_P99_MS,
        "valve_write": ratio <= GOAL_WRITE_RATIO,
    }

    print(f"lengths {', '.join(map(str, LENGTHS_MS))} ms in turn; on-time error = measured - asked")
    header = f"{'way':<14} {'pulses':>6} {'min ms':>8} {'median':>8} {'max':>8} {'p99 |e|':>8}"
    print(header + f" {'goal':>6} {'done after p99':>15}")
    for name, goal in (("console_timed", GOAL_CONSOLE_P99_MS), ("plc_timed", GOAL_PLC_P99_MS)):
        r = rows[name]
        print(
            f"{name:<14} {r['pulses']:>6} {r['min_ms']:>8.3f} {r['median_ms']:>8.3f} "
            f"{r['max_ms']:>8.3f} {r['p99_abs_ms']:>8.3f} {goal:>6g} "
            f"{r['confirmed_after_p99_ms']:>12.2f} ms"
        )
    print(
        f"valve write: console {writes['console_median_ms']:.3f} ms median "
        f"(p99 {writes['console_p99_ms']:.3f}), raw write_coil {writes['raw_median_ms']:.3f} ms "
        f"(p99 {writes['raw_p99_ms']:.3f}), {writes['writes']} each: "
        f"{ratio:.2f}x (goal <= {GOAL_WRITE_RATIO:g}x)"
    )
    summary = {"benchmark": "pulse_timing", **rows, "valve_write": writes | {"ratio": ratio}}
    summary |= {"goals_met": goals, "goal_met": all(goals.values())}
    print(json.dumps(summary))
    if not args.short and not all(goals.values()):
        missed = ", ".join(name for name, met in goals.items() if not met)
        print(f"FAIL: goal missed: {missed}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
