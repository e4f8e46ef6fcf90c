"""Planned bulk reads against one request per tag, same simulator, same run.

The reference reactor's map is served by the bundled simulator, in a process of its
own (as a PLC is a device of its own), over TCP loopback.
Prints a table and a JSON line: requests per poll, median and p99 poll time of both
ways, and the speed-up (goal: the minimum number of requests, at least 20x faster).

    python benchmarks/plc_read.py [--polls N] [--short]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

from support.simulator import simulator_process

from ald_gui.config.load import load_config
from ald_gui.plc.client import PlcClient


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--polls", type=int, default=500)
    parser.add_argument("--short", action="store_true", help="a few polls, to prove it runs")
    args = parser.parse_args()
    polls = 20 if args.short else args.polls

    config = load_config()
    with simulator_process() as port:
        settings = config.plc.model_copy(update={"port": port})
        tags = config.polled_tags
        with PlcClient(settings, config.tags) as client:
            bulk = _time_polls(client.poll, polls)
            bulk_requests = client.plan.request_count

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
    print(f"{'way':<10} {'requests/poll':>14} {'median ms':>10} {'p99 ms':>10}")
    for name, r in rows.items():
        print(f"{name:<10} {r['requests']:>14} {r['median_ms']:>10.2f} {r['p99_ms']:>10.2f}")
    print(f"speed-up (median per-tag / median planned): {speedup:.1f}x  (goal >= 20x)")
    print(
        json.dumps(
            {"benchmark": "plc_read", "polls": polls, "tags": len(tags), **rows, "speedup": speedup}
        )
    )


if __name__ == "__main__":
    main()
