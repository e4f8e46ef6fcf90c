"""Knowing at start that the last session died with a recipe in progress.

A small file in the data directory (``paths.recipe_marker_path``) says a recipe is
running: written, flushed to disk and mode 0600, when a recipe run starts, before its
first step; removed when the run ends, however it ends. A file, not a database row, so
that a console started while its database is down still knows. Finding it at start
means the last session was killed (or the machine lost power) mid-recipe: the poll
thread then applies the safe state before anything else, before a command or a
sample's values are used, and says so in the event log (``Recovery``). The run itself
is closed as aborted by the historian's crash recovery (store), like any run left open.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path

from ald_gui.config.models import AppConfig
from ald_gui.domain.events import SafetyEvent, SafetyEventKind, Severity
from ald_gui.domain.stream import RunEnded, RunStarted, StreamItem, now_us
from ald_gui.engine.safe_state import apply_safe_state
from ald_gui.plc.client import PlcClient

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Interrupted:
    """The recipe run the last session was in when it died."""

    run_id: str
    recipe: str
    version: str


class RecipeMarker:
    """The marker file at ``path``. Its methods never raise for a disk problem: one
    is logged (the marker is a help at restart; the watchdog is the safety)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def found(self) -> Interrupted | None:
        """What the marker says, if one was left; an unreadable one still counts."""
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        except OSError as exc:
            log.warning("recipe marker %s cannot be read: %s", self.path, exc)
            return Interrupted("unknown", "unknown", "")
        try:
            data = json.loads(text)
            return Interrupted(str(data["run"]), str(data["recipe"]), str(data["version"]))
        except (ValueError, KeyError, TypeError):
            return Interrupted("unknown", "unknown", "")  # cut short by the crash

    def follow(self, item: StreamItem) -> None:
        """Keep the marker in step with the stream: a recipe run starting writes it,
        any run ending removes it. Blocks for one small write and a flush to disk."""
        if isinstance(item, RunStarted) and item.run.recipe:
            run = item.run
            version = "" if run.recipe_version is None else str(run.recipe_version)
            self._write({"run": str(run.id), "recipe": run.recipe, "version": version})
        elif isinstance(item, RunEnded):
            self.clear()

    def clear(self) -> None:
        try:
            self.path.unlink(missing_ok=True)
        except OSError as exc:
            log.warning("recipe marker %s cannot be removed: %s", self.path, exc)

    def _write(self, data: dict[str, str]) -> None:
        try:
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with open(fd, "w", encoding="utf-8") as f:
                json.dump(data, f)
                f.flush()
                os.fsync(f.fileno())
        except OSError as exc:
            log.warning("recipe marker %s cannot be written: %s", self.path, exc)


class Recovery:
    """The safe state a restart owes to a recipe the last session left running.

    ``pending`` until the safe state was applied with the PLC answering each write; the
    poll thread calls ``apply`` before anything else in each round while it is pending."""

    def __init__(self, marker: RecipeMarker, config: AppConfig) -> None:
        self._marker = marker
        self._config = config
        self._interrupted = marker.found()

    @property
    def pending(self) -> bool:
        return self._interrupted is not None

    def apply(self, client: PlcClient) -> list[SafetyEvent]:
        """Apply the safe state; the event that says what happened once the PLC answered
        every write (none while the link fails: tried again next round). A write the
        PLC refused is reported, not retried."""
        interrupted = self._interrupted
        if interrupted is None:
            return []
        result = apply_safe_state(client, self._config)
        if result.plc_unreachable:  # all of it again next round, once the PLC answers
            return []
        self._interrupted = None
        self._marker.clear()
        version = f" version {interrupted.version}" if interrupted.version else ""
        text = (
            f"The last session ended during recipe {interrupted.recipe}{version} "
            f"(run {interrupted.run_id}): the console was killed or the machine lost power. "
            f"Safe state applied before anything else: {result.describe()}"
        )
        severity = Severity.WARNING if result.verified else Severity.ERROR
        return [SafetyEvent(now_us(), SafetyEventKind.RECIPE_INTERRUPTED, text, severity)]
