"""Many consoles, one central server: 20 headless consoles recording into one Debian
PostgreSQL 15, then a 5-minute outage of that server.

Set-up, as in a fab: a throwaway PostgreSQL 15 cluster on this machine (fsync on,
commit timestamps recorded); the historian's database made as ``ald-gui db init`` makes
it (``roles.initialise``), with one writer login per console and one reader login. Each
console is ``ald-gui headless --demo``: the engine with the reference reactor's
simulator in its process, its own data directory, machine name (``tool-01`` …), login
and lease, polling at 10 Hz with a run active (every sample is a history row and a run
row: 2 × 121 rows per poll).

Figures, with their baselines measured in the same run:

1. **Steady state** (``--duration`` s after a warm-up): the rows/s the consoles commit
   together, against what they offer (consoles × 10 Hz × 2 × tags: do they keep up?);
   sample-to-commit latency p50/p99 per console, from the database: each sample's
   ``sampled_at`` against its transaction's real commit time
   (``pg_xact_commit_timestamp``; goal p99 <= 2 s for every console); the server's CPU
   (the postmaster's processes, from /proc) and the consoles'.
2. **Outage** (``--outage`` s): the server is stopped; every console spools. The spool
   files' growth gives the spool bytes per hour per tool.
3. **Catch-up**: the server is started again; the time until every console's oldest
   unsent sample is younger than 2 s again, and the consoles' aggregate rows/s during
   it (each commits groups of up to 50,000 values, as fast as the server takes them).
   Goal: at least 0.7 × the rows/s of **one connection's bulk binary COPY** of the same
   rows (history and run points, groups of the same size, no ledger, client cost next
   to nothing) into the same server, measured before the consoles start and after they
   stop (the faster of the two is the baseline: a shared machine's noise). That is the
   comparison the goal makes: the server's capacity reached through 20 consoles, each
   with its own ledger, lease check and connection, against the best one client gets.
   The steady-state rate is printed against the same baseline (the server's load).
4. **Nothing lost or doubled**: every console reports no sample lost and an empty spool
   at the end; every machine's ledger is in stream order by commit time (each group's
   first seq above the previous group's last); ``ald-gui doctor --data`` passes for
   every machine (its invariants: every sample once, in its run, ledger counts equal).

    python benchmarks/fab_load.py [--consoles 20] [--duration 120] [--outage 300] [--short]

``--short``: 3 consoles, 10 s of load, a 10 s outage; proves it works, judges no speed.
Full mode exits 1 when a goal is missed; either mode exits 1 when anything was lost,
doubled or out of order. Everything started here (the server, the consoles, their
directories) is stopped and removed on exit, also on Ctrl+C or SIGTERM.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import FrameType
from typing import Any

import psycopg
from support.consoles import READER_PASSWORD_ENV, Console, Fleet, cpu_seconds, tool_config
from support.fab_figures import RATE_HZ, committed, copy_rate, latencies, out_of_order
from support.pg15 import Pg15Cluster

from ald_gui.config.load import load_config
from ald_gui.store import roles
from ald_gui.store.roles import Group

READER = "fab_viewer"
CAUGHT_UP_S = 2.0  # a console has caught up when its oldest unsent sample is this young
MAX_GROUP_VALUES = 50_000  # the writer's cap on a group's values (store.writer)


def _now() -> datetime:
    return datetime.now(UTC)


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


# -- the fab ------------------------------------------------------------------------------


def set_up_database(server: Pg15Cluster, machines: list[str]) -> dict[str, str]:
    """The historian's database as ``ald-gui db init`` makes it, a writer login per
    machine and the reader; the passwords of the logins by login."""
    with psycopg.connect(server.dsn(), autocommit=True) as admin:
        admin.execute("CREATE DATABASE ald")
    logins: dict[str, Group] = {f"console_{m.replace('-', '_')}": Group.WRITER for m in machines}
    logins[READER] = Group.READER
    passwords = {login: uuid.uuid4().hex for login in logins}
    with psycopg.connect(server.dsn(dbname="ald")) as conn:
        roles.initialise(conn, logins, passwords)
    return passwords


def start_consoles(
    fleet: Fleet, server: Pg15Cluster, machines: list[str], passwords: dict[str, str], work: Path
) -> None:
    for m in machines:
        login = f"console_{m.replace('-', '_')}"
        config = tool_config(work / f"{m}.toml", server.dsn(login, "", "ald"), m, READER,
                             1.0 / RATE_HZ)  # fmt: skip
        fleet.consoles.append(Console(m, config, work / m, passwords[login]))
    deadline = time.monotonic() + 60 + 10 * len(machines)
    for c in fleet.consoles:
        c.wait_ready(deadline)


def doctor(c: Console, reader_password: str) -> tuple[bool, int | None, str]:
    """``ald-gui doctor --data`` of a stopped console: (clean, its spool's depth, output)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PG", "ALD_GUI_DB"))}
    env[READER_PASSWORD_ENV] = reader_password
    done = subprocess.run(
        [sys.executable, "-m", "ald_gui", "doctor", "--data", "--json", "--config",
         str(c.config), "--data-dir", str(c.data_dir)],
        capture_output=True, text=True, timeout=600, env=env,
    )  # fmt: skip
    try:
        checks = json.loads(done.stdout)["checks"]
        depth = next(ch["figures"]["depth"] for ch in checks if ch["name"] == "spool")
    except (ValueError, KeyError, StopIteration):
        depth = None
    return done.returncode == 0, depth, (done.stdout + done.stderr)[-1500:]


def wait_caught_up(fleet: Fleet, since: float, limit_s: float) -> dict[str, float | None]:
    """Seconds from ``since`` (monotonic) until each console's oldest unsent sample is
    younger than CAUGHT_UP_S; None for one that did not within ``limit_s``."""
    done: dict[str, float | None] = {}
    while len(done) < len(fleet.consoles) and time.monotonic() - since < limit_s:
        for c in fleet.consoles:
            if c.machine not in done:
                try:
                    age = c.writer()["oldest_unsent_age_s"]
                except OSError:  # too busy catching up to answer within 30 s: not yet
                    continue
                if age is None or age < CAUGHT_UP_S:
                    done[c.machine] = round(time.monotonic() - since, 1)
        time.sleep(0.5)
    return {c.machine: done.get(c.machine) for c in fleet.consoles}


def run(stack: ExitStack, args: argparse.Namespace) -> dict[str, Any]:
    short = args.short
    n = 3 if short else args.consoles
    duration, outage = (10.0, 10.0) if short else (args.duration, args.outage)
    warmup = 5.0 if short else args.warmup
    tags = len(load_config().polled_tags)
    machines = [f"tool-{i + 1:02d}" for i in range(n)]
    work = stack.enter_context(_temporary_directory())
    server = stack.enter_context(Pg15Cluster(max_connections=3 * n + 20))

    catch_up_group = max(1, MAX_GROUP_VALUES // (2 * tags))
    _say(f"baseline: one connection's COPY, groups of 1 and {catch_up_group} polls ...")
    baseline_s = 3.0 if short else 15.0
    copy_1 = copy_rate(server, tags, 1, baseline_s)
    copy_big = copy_rate(server, tags, catch_up_group, baseline_s)

    passwords = set_up_database(server, machines)
    fleet = stack.enter_context(Fleet())
    _say(f"starting {n} consoles ...")
    start_consoles(fleet, server, machines, passwords, work)
    for c in fleet.consoles:
        c.request("POST", "/runs/start?operator=fab-load&note=load")
    conn = stack.enter_context(psycopg.connect(server.dsn(dbname="ald"), autocommit=True))
    version = conn.info.server_version // 10000

    _say(f"warm-up {warmup:g} s, then {duration:g} s of steady load ...")
    time.sleep(warmup)
    pids = [c.process.pid for c in fleet.consoles]
    t0, cpu_db0, cpu_c0, m0 = _now(), server.cpu_seconds(), cpu_seconds(pids), time.monotonic()
    time.sleep(duration)
    t1, cpu_db1, cpu_c1, m1 = _now(), server.cpu_seconds(), cpu_seconds(pids), time.monotonic()
    wall = m1 - m0
    rows, transactions = committed(conn, t0, t1)
    steady = {
        "seconds": round(wall, 1),
        "rows_per_s": round(rows / wall),
        "offered_rows_per_s": round(n * RATE_HZ * 2 * tags),
        "transactions_per_s": round(transactions / wall, 1),
        "server_cpu_cores": round((cpu_db1 - cpu_db0) / wall, 2),
        "consoles_cpu_cores": round((cpu_c1 - cpu_c0) / wall, 2),
        "latency": latencies(conn, t0, t1),
    }
    conn.close()

    _say(f"outage: the server stopped for {outage:g} s ...")
    spool_before = {c.machine: c.spool_bytes() for c in fleet.consoles}
    server.stop("fast")
    cut = time.monotonic()
    time.sleep(outage)
    spooled = {c.machine: c.writer()["spool_depth"] for c in fleet.consoles}
    spool_after = {c.machine: c.spool_bytes() for c in fleet.consoles}
    outage_s = time.monotonic() - cut
    server.start()
    restarted, restarted_at = time.monotonic(), _now()
    _say("catch-up ...")
    limit = args.catch_up_limit or max(120.0, 10 * outage_s)
    caught_up = wait_caught_up(fleet, restarted, limit)
    done_at = _now()
    # Whether the spools were shrinking at all: their depth at the end of the wait.
    left = {c.machine: c.writer()["spool_depth"] for c in fleet.consoles}
    conn = stack.enter_context(psycopg.connect(server.dsn(dbname="ald"), autocommit=True))
    first_commit = conn.execute(
        "SELECT min(pg_xact_commit_timestamp(xmin)) FROM write_transactions"
        " WHERE pg_xact_commit_timestamp(xmin) >= %s",
        (restarted_at,),
    ).fetchone()[0]  # type: ignore[index]
    # All consoles push at once from the first commit after the restart until the first
    # of them has caught up: the consoles' aggregate rate at its fullest.
    first_done = min((s for s in caught_up.values() if s is not None), default=0.0)
    pushing_until = restarted_at + timedelta(seconds=first_done)
    pushing_s = (pushing_until - first_commit).total_seconds() if first_commit else 0.0
    if pushing_s < 1.0:  # a short outage: too little to judge, take the whole catch-up
        pushing_until, pushing_s = (
            done_at,
            (done_at - (first_commit or restarted_at)).total_seconds(),
        )
    pushed_rows, _ = committed(conn, first_commit or restarted_at, pushing_until)
    catch_rows, _ = committed(conn, restarted_at, done_at)
    catch_s = (done_at - restarted_at).total_seconds()
    growth = [spool_after[m] - spool_before[m] for m in machines]
    outage_figures = {
        "seconds": round(outage_s, 1),
        "spool_items_min": min(spooled.values()),
        "spool_bytes_per_hour_per_tool": round(statistics.median(growth) * 3600 / outage_s),
        "spool_bytes_per_poll": round(statistics.median(growth) / (outage_s * RATE_HZ)),
    }
    catch_up = {
        "seconds_per_console": caught_up,
        "seconds_all": max((s for s in caught_up.values() if s is not None), default=None),
        "all_caught_up": all(s is not None for s in caught_up.values()),
        "reconnect_s": round((first_commit - restarted_at).total_seconds(), 1)
        if first_commit
        else None,
        "all_pushing_s": round(pushing_s, 1),
        "all_pushing_rows_per_s": round(pushed_rows / pushing_s) if pushing_s > 0 else 0,
        "mean_rows_per_s": round(catch_rows / catch_s) if catch_s > 0 else 0,
        "waited_s": round(catch_s, 1),
        "spool_items_at_restart": sum(spooled.values()),
        "spool_items_after_wait": sum(left.values()),
    }

    _say("stopping the runs and the consoles, then doctor for every machine ...")
    for c in fleet.consoles:
        c.request("POST", "/runs/stop?reason=load%20done")
    health = {c.machine: c.writer() for c in fleet.consoles}
    # A clean stop commits what is left (the server is up); doctor then finds the spool empty.
    for c in fleet.consoles:
        c.terminate()
    exits = {c.machine: c.stop(60) for c in fleet.consoles}
    order = out_of_order(conn)
    conn.close()
    # One doctor per core at a time: each reads its whole machine's history.
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        found = pool.map(lambda c: doctor(c, passwords[READER]), fleet.consoles)
        verdicts = dict(zip((c.machine for c in fleet.consoles), found, strict=True))
    # Measured again after the load: on a shared machine one measurement can fall in a
    # busy or a quiet moment; the goal is judged against the faster of the two.
    copy_1 = {**copy_1, "after": copy_rate(server, tags, 1, baseline_s)["rows_per_s"]}
    after = copy_rate(server, tags, catch_up_group, baseline_s)["rows_per_s"]
    copy_big = {**copy_big, "after": after, "best": max(after, copy_big["rows_per_s"])}
    return {
        "consoles": n,
        "tags": tags,
        "rate_hz": RATE_HZ,
        "server": f"PostgreSQL {version} (Debian)",
        "copy_baseline": {"groups_of_1": copy_1, "groups_of_catch_up": copy_big},
        "steady": steady,
        "outage": outage_figures,
        "catch_up": catch_up,
        "samples_lost": {m: h["samples_lost"] for m, h in health.items()},
        "dead_letters": {m: h["dead_letters"] for m, h in health.items()},
        "spool_left": {m: depth for m, (_, depth, _) in verdicts.items()},
        "exit_status": exits,
        "out_of_order_groups": order,
        "doctor_clean": {m: ok for m, (ok, _, _) in verdicts.items()},
        "doctor_failures": {m: text for m, (ok, _, text) in verdicts.items() if not ok},
    }


def report(x: dict[str, Any], short: bool) -> tuple[bool, list[str]]:
    """Print the tables and the JSON line; (nothing lost, doubled or disordered; goals missed)."""
    s, o, c = x["steady"], x["outage"], x["catch_up"]
    big = x["copy_baseline"]["groups_of_catch_up"]
    one = x["copy_baseline"]["groups_of_1"]
    catch_ratio = c["all_pushing_rows_per_s"] / big["best"]
    p99s = {m: v["p99_ms"] for m, v in s["latency"].items()}
    worst = max(p99s, key=lambda m: p99s[m]) if p99s else "-"
    print(
        f"{x['consoles']} consoles x {x['tags']} tags at {x['rate_hz']:g} Hz with a run, "
        f"{x['server']} on this machine; steady state {s['seconds']:g} s"
    )
    rows = [
        ("COPY, one connection, 1 poll/tx", f"{one['rows_per_s']:,} rows/s",
         f"{one['after']:,} after the load", ""),
        (f"COPY, one connection, {big['batches_per_group']} polls/tx",
         f"{big['rows_per_s']:,} rows/s", f"{big['after']:,} after; the better is the base", ""),
        ("steady: committed / offered", f"{s['rows_per_s']:,} / {s['offered_rows_per_s']:,}",
         f"{s['rows_per_s'] / big['best']:.2f} of COPY", "all offered"),
        ("steady: transactions/s", f"{s['transactions_per_s']:g}", "", ""),
        ("sample-to-commit p99, worst", f"{p99s.get(worst, 0):,.0f} ms ({worst})",
         f"median of consoles {statistics.median(p99s.values()) if p99s else 0:,.0f} ms",
         "<= 2000 ms each"),
        ("server CPU (postgres)", f"{s['server_cpu_cores']:.2f} cores", "of 2", ""),
        ("consoles CPU", f"{s['consoles_cpu_cores']:.2f} cores", "of 2", ""),
        ("outage", f"{o['seconds']:g} s", f">= {o['spool_items_min']} items spooled each", ""),
        ("spool growth per tool", f"{o['spool_bytes_per_hour_per_tool'] / 1e6:,.1f} MB/h",
         f"{o['spool_bytes_per_poll']:,} bytes/poll", ""),
        ("catch-up, all consoles", f"{c['seconds_all']} s",
         "all caught up" if c["all_caught_up"] else "NOT all caught up", "reported"),
        ("catch-up: first commit after", f"{c['reconnect_s']} s", "the server's restart", ""),
        ("catch-up, all pushing: rows/s", f"{c['all_pushing_rows_per_s']:,}",
         f"{catch_ratio:.2f} of COPY ({c['all_pushing_s']:g} s)", ">= 0.70"),
        ("catch-up, whole: rows/s", f"{c['mean_rows_per_s']:,}", "", ""),
        ("spool items, all consoles", f"{c['spool_items_at_restart']:,} at the restart",
         f"{c['spool_items_after_wait']:,} after {c['waited_s']:g} s", ""),
    ]  # fmt: skip
    print(f"{'figure':<34} {'measured':<26} {'against':<30} {'goal':<16}")
    for name, value, against, goal in rows:
        print(f"{name:<34} {value:<26} {against:<30} {goal:<16}")
    print(f"{'machine':<9} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} {'samples':>8} "
          f"{'catch-up s':>10} {'doctor':>7}")  # fmt: skip
    for m, v in s["latency"].items():
        print(f"{m:<9} {v['p50_ms']:>8,.0f} {v['p99_ms']:>8,.0f} {v['max_ms']:>8,.0f} "
              f"{v['samples']:>8} {c['seconds_per_console'][m]!s:>10} "
              f"{'clean' if x['doctor_clean'][m] else 'FAILED':>7}")  # fmt: skip
    problems = [f"{m}: {n} samples lost" for m, n in x["samples_lost"].items() if n]
    problems += [f"{m}: {n} dead letters" for m, n in x["dead_letters"].items() if n]
    problems += [f"{m}: {n} items left in the spool" for m, n in x["spool_left"].items() if n]
    problems += [f"{m}: {n} groups out of order" for m, n in x["out_of_order_groups"].items() if n]
    problems += [f"{m}: exit status {e}" for m, e in x["exit_status"].items() if e != 0]
    problems += [f"{m}: doctor: {t}" for m, t in x["doctor_failures"].items()]
    if not c["all_caught_up"]:
        problems.append("not every console caught up")
    if len(s["latency"]) != x["consoles"]:
        problems.append(f"only {len(s['latency'])} consoles committed in the steady state")
    goals = [
        (catch_ratio >= 0.7, f"catch-up at {catch_ratio:.2f} of one connection's COPY"),
        (all(p <= 2000 for p in p99s.values()), f"sample-to-commit p99 {p99s.get(worst)} ms"
                                                 f" ({worst})"),
        (s["rows_per_s"] >= 0.98 * s["offered_rows_per_s"],
         f"steady state committed {s['rows_per_s']:,} of {s['offered_rows_per_s']:,} rows/s"),
    ]  # fmt: skip
    missed = [] if short else [what for met, what in goals if not met]
    print(f"nothing lost, doubled or out of order: {'yes' if not problems else 'NO'}")
    for p in problems:
        print(f"  {p}")
    if short:
        print("(short run: figures prove only that it works)")
    else:
        print(f"goals: {'all met' if not missed else 'NOT met: ' + '; '.join(missed)}")
    print(json.dumps({"benchmark": "fab_load", "short": short, "goals_missed": missed,
                      "problems": problems, **x}))  # fmt: skip
    return not problems, missed


@contextmanager
def _temporary_directory() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="ald-bench-fab-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--consoles", type=int, default=20)
    parser.add_argument("--duration", type=float, default=120.0, help="seconds of steady load")
    parser.add_argument("--warmup", type=float, default=30.0)
    parser.add_argument("--outage", type=float, default=300.0, help="seconds without server")
    parser.add_argument(
        "--catch-up-limit", type=float, default=0.0,
        help="seconds to wait for the catch-up (default: 10 x the outage, at least 120)",
    )  # fmt: skip
    parser.add_argument("--short", action="store_true", help="a quick run that proves it works")
    args = parser.parse_args()
    for sig in (signal.SIGINT, signal.SIGTERM):  # also when started with SIGINT ignored
        signal.signal(sig, _interrupt)
    stack = ExitStack()
    try:
        result = run(stack, args)
    except KeyboardInterrupt:
        print("interrupted: stopping everything", file=sys.stderr)
        return 130
    finally:
        # A second Ctrl+C must not cut the clean-up short and leave a server running.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        stack.close()
    whole, missed = report(result, args.short)
    return 0 if whole and not missed else 1


if __name__ == "__main__":
    sys.exit(main())
