"""The event log's start: the last shift from the record, read off the GUI thread
(store.shift_log through a JournalReader); the status bar says so if the database
cannot be read."""

from __future__ import annotations

from datetime import datetime

import psycopg
from PySide6.QtWidgets import QStatusBar

from ald_gui.domain.stream import now_us
from ald_gui.store.shift_log import shift_records
from ald_gui.ui.event_log import EventLog
from ald_gui.ui.journal_reader import JournalReader

LOG_SHIFT_H = 12  # the event log starts with this many hours from the record


def read_last_shift(
    events: EventLog, reader: JournalReader, machine: str, status: QStatusBar
) -> None:
    until = now_us()
    since = until - int(LOG_SHIFT_H * 3600e6)
    limit = events.model.max_entries
    since_text = datetime.fromtimestamp(since / 1e6).strftime("%d %b %H:%M")

    def work(dsn: str) -> list[object]:
        with psycopg.connect(dsn, connect_timeout=5) as conn:
            return list(shift_records(conn, machine, since, until, limit))

    reader.answered.connect(lambda records: events.add_record(records, since_text))
    reader.failed.connect(lambda why: status.showMessage(f"The last shift's events: {why}", 10000))
    reader.ask(work)
