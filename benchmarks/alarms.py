"""1,000 alarm rules evaluated per poll at 10 Hz, against the same polls with no alarms.

The reference reactor's map is served by the bundled simulator, in a process of its own,
its physics running; the console's PlcClient polls it at 10 Hz. Every poll is timed
twice: the poll alone (the baseline: what the poll thread does today) and the poll plus
the alarm engine's evaluation of 1,000 rules (high, low, deviation and discrete alarms
on every polled tag, limits set from the values read first: most quiet, one in fifty
near its value so that it comes and goes with the physics; the first ten polls, which
raise what stands at the start, are not counted). Same polls, same run, so a loaded
machine loads both.
Prints a table and a JSON line: median and p99 of both, what the alarms add at the p99,
the evaluation's own median and p99, and the poll jitter (how late each poll started
against its deadline) with the alarms evaluated. In full mode exits 1 when the alarms
add more than 1 ms at the p99 or the jitter's p99 is above 5 ms.

    python benchmarks/alarms.py [--polls N] [--rules R] [--short]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time

from support.simulator import simulator_process

from ald_gui.config.load import load_config
from ald_gui.domain.alarm_engine import AlarmEngine, Situation
from ald_gui.domain.alarms import AlarmDefinition, AlarmKind, Priority
from ald_gui.domain.machine import Machine
from ald_gui.domain.tags import DataType
from ald_gui.plc.client import PlcClient

GOAL_ADDED_P99_MS = 1.0
GOAL_JITTER_P99_MS = 5.0  # the poll schedule's own goal, with the alarms evaluated
RATE_HZ = 10.0
WARM_UP = 10  # polls not counted


def _p99(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]


def _rules(values: dict[str, float], bools: set[str], count: int) -> list[AlarmDefinition]:
    rng = random.Random(12)
    numbers = sorted(k for k in values if k not in bools)
    kinds = (AlarmKind.HIGH, AlarmKind.LOW, AlarmKind.HIGH_HIGH, AlarmKind.DEVIATION)
    rules = []
    for i in range(count):
        if i % 10 == 9 and bools:
            tag = sorted(bools)[i % len(bools)]
            rules.append(AlarmDefinition(f"r{i}", tag, AlarmKind.DISCRETE, Priority.LOW,
                                         tag=tag, limit=1.0, on_delay_s=0.5))  # fmt: skip
            continue
        tag = numbers[i % len(numbers)]
        kind = kinds[i % len(kinds)]
        v = values[tag]
        # Most rules quiet, as on a plant (a standing or chattering alarm is a bad rule):
        # one in fifty sits near its value and comes and goes with the physics.
        margin = rng.uniform(-0.02, 0.02) if i % 50 == 0 else rng.uniform(0.2, 0.5)
        up = kind in (AlarmKind.HIGH, AlarmKind.HIGH_HIGH, AlarmKind.DEVIATION)
        limit = v + (abs(v) + 1.0) * (margin if up else -margin)
        rules.append(AlarmDefinition(
            f"r{i}", tag, kind, Priority(1 + i % 4), tag=tag,
            limit=(abs(v) + 1.0) * abs(margin) if kind is AlarmKind.DEVIATION else limit,
            deadband=abs(v) * 0.01, on_delay_s=rng.choice((0.0, 0.5, 1.0)),
            off_delay_s=rng.choice((0.0, 0.5)),
            setpoint_tag=numbers[(i + 1) % len(numbers)] if kind is AlarmKind.DEVIATION else "",
        ))  # fmt: skip
    return rules


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--polls", type=int, default=600, help="polls at 10 Hz (600: a minute)")
    parser.add_argument("--rules", type=int, default=1000)
    parser.add_argument("--short", action="store_true", help="a few polls, to prove it runs")
    args = parser.parse_args()
    polls = 20 if args.short else args.polls

    config = load_config()
    bools = {t.key for t in config.polled_tags if t.data_type is DataType.BOOL}
    with simulator_process() as port:
        settings = config.plc.model_copy(update={"port": port})
        with PlcClient(settings, config.tags) as client:
            first = {k: float(v) for k, v in client.poll().values.items()}
            machine = Machine(config.database.machine)
            engine = AlarmEngine(_rules(first, bools, args.rules), machine)
            situation = Situation()
            base: list[float] = []
            added: list[float] = []
            late: list[float] = []  # each poll's start behind its deadline: the jitter
            events = 0
            deadline = time.monotonic()
            for i in range(WARM_UP + polls):
                lateness = time.monotonic() - deadline
                deadline += 1 / RATE_HZ
                t0 = time.perf_counter()
                result = client.poll()
                t1 = time.perf_counter()
                values = {k: float(v) for k, v in result.values.items()}
                batch = machine.batch(result.sampled_at_us, values)
                events += len(engine.evaluate(batch.sampled_at_us, values, situation))
                t2 = time.perf_counter()
                if i >= WARM_UP:  # the first polls raise what stands at the start
                    base.append(t1 - t0)
                    added.append(t2 - t1)
                    late.append(lateness)
                time.sleep(max(0.0, deadline - time.monotonic()))
    with_alarms = [b + a for b, a in zip(base, added, strict=True)]
    rows = {
        "poll": {"median_ms": statistics.median(base) * 1e3, "p99_ms": _p99(base) * 1e3},
        "poll_and_alarms": {
            "median_ms": statistics.median(with_alarms) * 1e3,
            "p99_ms": _p99(with_alarms) * 1e3,
        },
        "alarms_alone": {"median_ms": statistics.median(added) * 1e3, "p99_ms": _p99(added) * 1e3},
    }
    added_p99 = rows["poll_and_alarms"]["p99_ms"] - rows["poll"]["p99_ms"]
    jitter_p99 = _p99(late) * 1e3
    print(f"{'what':<16} {'median ms':>10} {'p99 ms':>10}")
    for name, r in rows.items():
        print(f"{name:<16} {r['median_ms']:>10.3f} {r['p99_ms']:>10.3f}")
    print(f"{args.rules} rules, {polls} polls at {RATE_HZ:g} Hz, {events} journal entries")
    print(f"added at the p99: {added_p99:.3f} ms  (goal <= {GOAL_ADDED_P99_MS:g} ms)")
    goal = f"goal <= {GOAL_JITTER_P99_MS:g} ms"
    print(f"poll jitter with the alarms, p99: {jitter_p99:.3f} ms  ({goal})")
    met = added_p99 <= GOAL_ADDED_P99_MS and jitter_p99 <= GOAL_JITTER_P99_MS
    summary = {"benchmark": "alarms", "rules": args.rules, "polls": polls, "events": events}
    summary |= rows | {"added_p99_ms": added_p99, "jitter_p99_ms": jitter_p99, "goal_met": met}
    print(json.dumps(summary))
    if not met and not args.short:
        print(f"FAIL: alarms add {added_p99:.3f} ms at the p99 (goal {GOAL_ADDED_P99_MS:g} ms), "
              f"poll jitter p99 {jitter_p99:.3f} ms (goal {GOAL_JITTER_P99_MS:g} ms)",
              file=sys.stderr)  # fmt: skip
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
