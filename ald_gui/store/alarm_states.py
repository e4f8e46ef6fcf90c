"""The alarms' states beside the spool, so a restart (even after kill -9, even with the
database down) keeps active alarms and their acknowledgements.

Why a file and not the journal: the journal's last entries may still be in the writer's
memory queue or the spool when the console dies, and the database may be unreachable at
the next start; this file is replaced (written, fsync'd, renamed) by the poll thread
whenever an alarm changes, which is rare, so it is always the state the last entry left.
The journal (``alarm_events``) stays the record; this file is only where to start from.
"""

from __future__ import annotations

import json
import logging
import os
import uuid
from collections.abc import Iterable
from pathlib import Path

from ald_gui.domain.alarm_engine import Restored
from ald_gui.domain.alarms import AlarmState, AlarmStatus

log = logging.getLogger(__name__)


class AlarmStates:
    def __init__(self, path: Path) -> None:
        self.path = path

    def save(self, statuses: Iterable[AlarmStatus]) -> None:
        """Replace the file with the alarms not normal; an OSError is logged, not
        raised (the poll goes on; the journal still records every change)."""
        rows = [
            {"alarm": s.id, "state": s.state.value, "since_us": s.since_us,
             "occurrence": str(s.occurrence) if s.occurrence else None,
             "raised_at_us": s.raised_at_us, "until_us": s.shelved_until_us,
             "reason": s.reason}
            for s in statuses if s.state is not AlarmState.NORMAL
        ]  # fmt: skip
        tmp = self.path.with_suffix(".tmp")
        try:
            with open(tmp, "w", encoding="utf-8") as f:
                json.dump(rows, f)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.path)
        except OSError as exc:
            log.error("could not save the alarm states to %s: %s", self.path, exc)

    def load(self) -> list[Restored]:
        """The states saved last; [] without a file, or (logged) for one unreadable."""
        try:
            rows = json.loads(self.path.read_text(encoding="utf-8"))
            return [
                Restored(
                    alarm=r["alarm"],
                    state=AlarmState(r["state"]),
                    occurrence=uuid.UUID(r["occurrence"]) if r["occurrence"] else None,
                    raised_at_us=r["raised_at_us"],
                    since_us=r["since_us"],
                    shelved_until_us=r["until_us"],
                    reason=r["reason"],
                )
                for r in rows
            ]
        except FileNotFoundError:
            return []
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.error("alarm states in %s unreadable, starting from normal: %s", self.path, exc)
            return []
