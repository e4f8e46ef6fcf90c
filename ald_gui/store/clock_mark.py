"""The stream clock's high-water mark, kept in a small file of the data directory.

The stream clock (domain.clock) reserves times ahead of the ones it hands out and
stores the reservation here before it passes it; the next session starts above it, so
a restart never reuses or rewinds a time or a sequence number, even when the wall
clock went back meanwhile. One console per data directory (the spool's lock) means
one writer. Each save replaces the file atomically (a new file, flushed to disk, then
renamed over the old one), so a crash leaves the old mark or the new one, never half.
:class:`MarkSaver` does those writes on a thread of its own, so that the poll thread
does not wait for the disk twice a second.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from pathlib import Path

log = logging.getLogger(__name__)


class ClockMarkError(Exception):
    """The mark file exists but cannot be read: ``str()`` names it and what to do."""


class ClockMark:
    """``load()`` the previous session's mark (0 when there is none); ``save(us)`` a
    new one. A save that fails (a full disk) is logged and polling goes on: the
    stream clock then still never goes back within this session."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._failing = False

    def load(self) -> int:
        """The mark saved last, or 0 if there is no file. Raises ClockMarkError."""
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return 0
        except OSError as exc:
            raise ClockMarkError(f"{self.path}: cannot be read ({exc})") from exc
        try:
            mark = json.loads(text)["reserved_us"]
            if not isinstance(mark, int) or mark < 0:
                raise ValueError(mark)
        except (ValueError, KeyError, TypeError) as exc:
            raise ClockMarkError(
                f"{self.path}: not a stream clock mark ({text[:60]!r}). It keeps recorded "
                "times from being reused after a restart: restore it, or delete it if this "
                "data directory's database will never see recorded times later than now"
            ) from exc
        return mark

    def save(self, reserved_us: int) -> None:
        """Replace the mark with ``reserved_us``, durably. Blocks for one small write
        and two flushes to disk."""
        temporary = self.path.with_name(self.path.name + ".new")
        try:
            fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # 0600 at once
            with open(fd, "w", encoding="utf-8") as f:
                json.dump({"reserved_us": reserved_us}, f)
                f.flush()
                os.fsync(f.fileno())
            os.replace(temporary, self.path)
            _sync_directory(self.path.parent)
        except OSError as exc:
            if not self._failing:
                log.warning("cannot save the stream clock's mark in %s: %s", self.path, exc)
            self._failing = True
            return
        self._failing = False


class MarkSaver:
    """Saves the marks of one :class:`ClockMark` in order, one at a time, on a thread of
    its own (started at the first ``save_soon``). Thread-safe.

    ``save_soon(us)`` returns at once; ``saved_us()`` is the highest mark whose save has
    returned (durable, or failed and logged: see :meth:`ClockMark.save`), at first
    ``floor_us``; ``save(us)`` returns once ``us`` is saved. A lower mark never
    overwrites a higher one. ``close()`` finishes the save asked for and ends the thread.
    """

    def __init__(self, mark: ClockMark, floor_us: int) -> None:
        self._mark = mark
        self._changed = threading.Condition()
        self._wanted = self._saved = floor_us
        self._closing = False
        self._thread: threading.Thread | None = None
        self._writing = threading.Lock()  # one writer of the file at a time

    def save_soon(self, reserved_us: int) -> None:
        with self._changed:
            if self._closing:
                raise RuntimeError("mark saver is closed")
            self._wanted = max(self._wanted, reserved_us)
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="ald-clock-mark", daemon=True
                )
                self._thread.start()
            self._changed.notify()

    def saved_us(self) -> int:
        with self._changed:
            return self._saved

    def save(self, reserved_us: int) -> None:
        self._write(reserved_us)

    def close(self) -> None:
        with self._changed:
            self._closing = True
            self._changed.notify()
            thread = self._thread
        if thread is not None:
            thread.join()

    def _run(self) -> None:
        while True:
            with self._changed:
                self._changed.wait_for(lambda: self._wanted > self._saved or self._closing)
                wanted = self._wanted
                if wanted <= self._saved:
                    return  # closing, nothing left to save
            self._write(wanted)

    def _write(self, reserved_us: int) -> None:
        with self._writing:
            if reserved_us <= self.saved_us():
                return
            self._mark.save(reserved_us)
            with self._changed:
                self._saved = reserved_us


def _sync_directory(directory: Path) -> None:
    # The rename is durable only once the directory itself is flushed (POSIX); Windows
    # cannot open a directory for that, and its rename is durable through NTFS's log.
    if os.name != "posix":
        return
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
