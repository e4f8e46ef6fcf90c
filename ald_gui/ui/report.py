"""A run's one-page report, as self-contained HTML (its plots embedded as data URIs) or
as a PDF (ui.pdf): the run's metadata, its recipe (name, version, SHA-256, its steps in
words), the steps as they ran, the plots of its chamber pressures and temperatures, the
alarms raised, its gaps and its refused writes.

``write_report(dsn, run, path)`` does it all and blocks (``ald-gui report``);
``ReportJob`` does the same on a thread of its own for the run page.
"""

from __future__ import annotations

import base64
import html
import os
import tempfile
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path

import psycopg
from PySide6.QtCore import QObject, Signal

from ald_gui.config.process import ProcessSettings
from ald_gui.domain.alarms import AlarmEventKind
from ald_gui.domain.recipe import Loop, Recipe, Step
from ald_gui.store.credentials import CredentialsError
from ald_gui.store.run_history import RunNotFound
from ald_gui.store.run_report import ReportData, report_data
from ald_gui.ui.pdf import ensure_gui_application, html_to_pdf
from ald_gui.ui.recipe_words import duration_text, step_text
from ald_gui.ui.report_plot import COLOURS, plot_png

__all__ = ["ReportJob", "report_html", "write_report"]

SUFFIXES = (".html", ".pdf")
_MAX_STEP_LINES = 16
_MAX_ALARMS = 12
_STYLE = (
    "body{font-family:sans-serif;font-size:9pt} h1{font-size:15pt;margin:0}"
    " h2{font-size:11.5pt;margin:10px 0 3px 0} td,th{padding:1px 8px 1px 0;text-align:left}"
    " .muted{color:#666} .legend{font-size:8pt}"
)


def _when(us: int) -> str:
    return datetime.fromtimestamp(us / 1e6).isoformat(sep=" ", timespec="seconds")


def _e(text: object) -> str:
    return html.escape(str(text))


def _rows(pairs: list[tuple[str, str]]) -> str:
    cells = "".join(f"<tr><th>{_e(k)}</th><td>{_e(v)}</td></tr>" for k, v in pairs)
    return f"<table>{cells}</table>"


def _step_lines(
    steps: tuple[Step, ...], process: ProcessSettings | None, depth: int = 0
) -> Iterator[str]:
    for step in steps:
        yield "&nbsp;" * 4 * depth + _e(step_text(step, process))
        if isinstance(step.action, Loop):
            yield from _step_lines(step.action.steps, process, depth + 1)


def _recipe(data: ReportData, process: ProcessSettings | None) -> str:
    r = data.record
    s = r.summary
    if not s.recipe:
        return "<p>No recipe: a run started by hand.</p>"
    head = _rows(
        [
            ("Recipe", s.recipe),
            ("Version", "" if s.recipe_version is None else str(s.recipe_version)),
            ("SHA-256", r.recipe_sha256),
        ]
    )
    try:
        recipe = Recipe.from_canonical(r.recipe_snapshot)
    except ValueError as exc:
        return head + f"<p class='muted'>The recipe's snapshot cannot be read: {_e(exc)}</p>"
    lines = list(_step_lines(recipe.steps, process))
    more = len(lines) - _MAX_STEP_LINES
    shown = lines[:_MAX_STEP_LINES] + ([f"… and {more} more lines"] if more > 0 else [])
    ran = Counter(f"{st.kind} {st.outcome}" for st in r.steps)
    done = ", ".join(f"{n} {what}" for what, n in sorted(ran.items())) or "none recorded"
    return head + "<p>" + "<br>".join(shown) + f"</p><p>Steps as run: {_e(done)}.</p>"


def _plots(data: ReportData) -> str:
    by_unit: dict[str, list[int]] = {}
    for i, c in enumerate(data.curves):
        by_unit.setdefault(c.unit, []).append(i)
    if not by_unit:
        return "<p>No pressure or temperature was recorded in this run.</p>"
    start = data.record.summary.started_us
    out = []
    for unit, indexes in by_unit.items():
        curves = [data.curves[i] for i in indexes]
        png = plot_png(curves, unit, start, data.end_us)
        uri = "data:image/png;base64," + base64.b64encode(png).decode("ascii")
        legend = " &nbsp; ".join(
            f"<span style='color:{colour}'>&#9644;</span>&nbsp;{_e(c.tag)}"
            for c, colour in zip(curves, COLOURS, strict=False)
        )
        out.append(
            f'<p><img src="{uri}" width="660" height="160" alt="{_e(unit)}"><br>'
            f"<span class='legend'>{legend}</span></p>"
        )
    return "".join(out)


def _alarms(data: ReportData) -> str:
    raised = [a for a in data.record.alarms if a.event is AlarmEventKind.RAISED]
    if not raised:
        return "<p>No alarm was raised.</p>"
    start = data.record.summary.started_us
    rows = "".join(
        f"<tr><td>{_e(_when(a.at_us))}</td><td>+{_e(duration_text((a.at_us - start) / 1e6))}"
        f"</td><td>{_e(a.alarm)}</td><td>{_e(a.priority.name.lower())}</td>"
        f"<td>{'' if a.value is None else _e(f'{a.value:.4g}')}</td></tr>"
        for a in raised[:_MAX_ALARMS]
    )
    more = len(raised) - _MAX_ALARMS
    tail = f"<p class='muted'>… and {more} more.</p>" if more > 0 else ""
    return (
        f"<p>{len(raised)} raised.</p><table><tr><th>At</th><th>Into the run</th>"
        f"<th>Alarm</th><th>Priority</th><th>Value</th></tr>{rows}</table>{tail}"
    )


def _gaps_and_refusals(data: ReportData) -> str:
    gaps = f"<p>{data.gap_count} gap{'s' if data.gap_count != 1 else ''} (polls with no values)"
    if data.gaps:
        first = data.gaps[0]
        gaps += f", the first at {_e(_when(first.at_us))}: {_e(first.reason)}"
    gaps += ".</p>"
    if not data.refusals:
        return gaps + "<p>No write was refused.</p>"
    rows = "".join(
        f"<tr><td>{_e(_when(r.at_us))}</td><td>{_e(r.tag)}</td><td>{_e(r.rule)}</td>"
        f"<td>{_e(r.reason)}</td></tr>"
        for r in data.refusals[:_MAX_ALARMS]
    )
    return gaps + (
        f"<p>{data.refusal_count} refused write{'s' if data.refusal_count != 1 else ''}.</p>"
        f"<table><tr><th>At</th><th>Tag</th><th>Rule</th><th>Why</th></tr>{rows}</table>"
    )


def report_html(data: ReportData, process: ProcessSettings | None = None) -> str:
    """The report as one HTML page with everything in it (no file or link outside)."""
    s = data.record.summary
    ended = "still running" if s.ended_us is None else _when(s.ended_us)
    meta = _rows(
        [
            ("Run", str(s.id)),
            ("Machine", s.machine),
            ("Operator", s.operator),
            ("Started", _when(s.started_us)),
            ("Ended", ended),
            ("Duration", duration_text((data.end_us - s.started_us) / 1e6)),
            ("Status", s.status.value + (f": {s.reason}" if s.reason else "")),
            ("Note", s.note),
        ]
    )
    title = f"Run {str(s.id)[:8]} on {s.machine}"
    return (
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{_e(title)}</title>"
        f"<style>{_STYLE}</style></head><body><h1>{_e(title)}</h1>{meta}"
        f"<h2>Recipe</h2>{_recipe(data, process)}<h2>Pressures and temperatures</h2>"
        f"{_plots(data)}<h2>Alarms</h2>{_alarms(data)}<h2>Gaps and refused writes</h2>"
        f"{_gaps_and_refusals(data)}<p class='muted'>Report made {_e(_when_now())} by "
        "ald-gui.</p></body></html>"
    )


def _when_now() -> str:
    return datetime.now().isoformat(sep=" ", timespec="seconds")


def write_report(
    dsn: str, run: str, path: Path, process: ProcessSettings | None = None
) -> ReportData:
    """Read the run's report through ``dsn`` (the reader role) and write it to ``path``
    (.html or .pdf), complete or not at all. Raises ValueError for another suffix,
    RunNotFound, psycopg.Error, OSError. Blocks; needs a QGuiApplication (made
    offscreen if there is none): call it from the command line or a worker thread."""
    if path.suffix.lower() not in SUFFIXES:
        raise ValueError(f"{path}: a report is written as .html or .pdf")
    ensure_gui_application()
    with psycopg.connect(dsn) as conn:
        conn.read_only = True
        data = report_data(conn, run)
    page = report_html(data, process)
    if path.suffix.lower() == ".pdf":
        html_to_pdf(page, path, title=f"Run {data.record.summary.id}")
        return data
    handle, partial = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".partial", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(page)
        os.replace(partial, path)
    finally:
        Path(partial).unlink(missing_ok=True)
    return data


class ReportJob(QObject):
    """``write_report`` on a thread of its own: ``finished(Path)`` or ``failed(str)``.
    ``dsn``: the reader's conninfo, or a function giving it (called on that thread)."""

    finished = Signal(object)
    failed = Signal(str)

    def __init__(
        self,
        dsn: str | Callable[[], str],
        run: str,
        path: Path,
        process: ProcessSettings | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._dsn = dsn if callable(dsn) else (lambda: dsn)
        self._run, self.path, self._process = run, path, process
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        ensure_gui_application()  # fonts: made on the GUI thread, never on the worker
        self._thread = threading.Thread(target=self._work, name="run-report", daemon=True)
        self._thread.start()

    def wait(self, timeout_s: float = 30.0) -> bool:
        if self._thread is not None:
            self._thread.join(timeout_s)
        return self._thread is None or not self._thread.is_alive()

    def _work(self) -> None:
        try:
            write_report(self._dsn(), self._run, self.path, self._process)
        except (RunNotFound, ValueError) as exc:
            self.failed.emit(str(exc))
        except (psycopg.Error, CredentialsError, OSError) as exc:
            self.failed.emit(f"the report could not be made: {exc}")
        else:
            self.finished.emit(self.path)
