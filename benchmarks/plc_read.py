"""Planned bulk reads against one request per tag, same simulator, same run.

The reference reactor's map is served by the bundled simulator, in a process of its
own (as a PLC is a device of its own), over TCP loopback, with its physics stopped so
that both ways must read the very same values: they are compared tag by tag (a planner
that reads the wrong addresses fast would otherwise win).
Prints a table and a JSON line: requests per poll, median and p99 poll time of both
ways, the speed-up and whether the values agree. Exits 1 if they do not, and, in full
mode, if the speed-up misses its goal (at least 20x).

    python benchmarks/plc_read.py [--polls N] [--short]
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import time

from support.simulator import simulator_process

from ald_gui.config.load import load_config
from ald_gui.plc.client import PlcClient, Value

GOAL_SPEEDUP = 20.0


def _p99(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]


def _time_polls(poll: object, polls: int) -> list[float]:
    assert callable(poll)
    poll()  # warm up: connect, first allocation
    out = []
    for _ in range(polls):
        start = time.perf_counter()
        poll()
        out.append(time.perf_counter() - start)
    return out


def _disagreements(planned: dict[str, Value], per_tag: dict[str, Value]) -> list[str]:
    """Tags whose value differs between the two ways (NaN equals NaN: the same bits)."""

    def same(a: Value, b: Value) -> bool:
        return a == b or (isinstance(a, float) and isinstance(b, float) and math.isnan(a + b))

    keys = sorted(planned.keys() | per_tag.keys())
    return [
        f"{k}: planned {planned.get(k)!r}, per tag {per_tag.get(k)!r}"
        for k in keys
        if k not in planned or k not in per_tag or not same(planned[k], per_tag[k])
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--polls", type=int, default=500)
    parser.add_argument("--short", action="store_true", help="a few polls, to prove it runs")
    args = parser.parse_args()
    polls = 20 if args.short else args.polls

    config = load_config()
    with simulator_process(frozen=True) as port:
        settings = config.plc.model_copy(update={"port": port})
        tags = config.polled_tags
        with PlcClient(settings, config.tags) as client:
            bulk = _time_polls(client.poll, polls)
            bulk_requests = client.plan.request_count
            planned_values = client.poll().values
            per_tag_values = {tag.key: client.read_tag(tag) for tag in tags}

            def per_tag() -> None:
                for tag in tags:
                    client.read_tag(tag)

            single = _time_polls(per_tag, polls)

    rows = {
        "planned": {
            "requests": bulk_requests,
            "median_ms": statistics.median(bulk) * 1e3,
            "p99_ms": _p99(bulk) * 1e3,
        },
        "per_tag": {
            "requests": len(tags),
            "median_ms": statistics.median(single) * 1e3,
            "p99_ms": _p99(single) * 1e3,
        },
    }
    speedup = rows["per_tag"]["median_ms"] / rows["planned"]["median_ms"]
    differ = _disagreements(planned_values, per_tag_values)
    print(f"{'way':<10} {'requests/poll':>14} {'median ms':>10} {'p99 ms':>10}")
    for name, r in rows.items():
        print(f"{name:<10} {r['requests']:>14} {r['median_ms']:>10.2f} {r['p99_ms']:>10.2f}")
    print(
        f"speed-up (median per-tag / median planned): {speedup:.1f}x  (goal >= {GOAL_SPEEDUP:g}x)"
    )
    print(f"values: {len(tags) - len(differ)} of {len(tags)} tags read the same both ways")
    for line in differ:
        print(f"  differs: {line}")
    met = speedup >= GOAL_SPEEDUP
    summary = {"benchmark": "plc_read", "polls": polls, "tags": len(tags), **rows}
    summary |= {"speedup": speedup, "goal_met": met, "values_differ": len(differ)}
    print(json.dumps(summary))
    if differ:
        return 1
    if not met and not args.short:
        print(
            f"FAIL: speed-up {speedup:.1f}x is below the goal of {GOAL_SPEEDUP:g}x", file=sys.stderr
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
