"""The audit viewer (Accounts ▸ Audit trail…): the entries of this machine's trail
(time, account, role, action, object, before → after, reason, signatures), filtered
by time span, account, action and object; and "Verify chain", which recomputes every
link and says "intact (N entries)" or names the first broken one.

Every question runs on the window's own thread pool through the reader role
(pool_reader), never on the GUI thread.
"""

from __future__ import annotations

from collections.abc import Sequence

import psycopg
from PySide6.QtCore import QDateTime, Slot
from PySide6.QtWidgets import (
    QDateTimeEdit,
    QDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ald_gui.store.audit_trail import AuditFilter, AuditRecord, find_entries
from ald_gui.store.audit_verify import ChainCheck, verify_chains
from ald_gui.ui.pool_reader import PoolReader
from ald_gui.ui.theme import named

__all__ = ["AuditViewer", "chain_words"]

COLUMNS = (
    "Time", "Account", "Role", "Action", "Object", "Before → after", "Reason", "Signatures",
)  # fmt: skip
LIMIT = 5000  # entries shown at once: a day of a busy console; narrow the filter for more
_CONNECT_TIMEOUT_S = 5
_SEARCH, _VERIFY = "search", "verify"


def chain_words(checks: Sequence[ChainCheck], machine: str) -> str:
    """ "Chain intact (N entries)", or the first broken link in words."""
    check = next((c for c in checks if c.machine == machine), None)
    if check is None:
        return "Chain intact (0 entries)"
    if check.ok:
        return f"Chain intact ({check.entries} entries)"
    first = str(check.broken[0]) if check.broken else check.ledger[0]
    return f"Chain BROKEN ({check.entries} entries): first broken link at {first}"


def _cells(r: AuditRecord) -> tuple[str, ...]:
    e = r.entry
    stamp = QDateTime.fromMSecsSinceEpoch(e.at_us // 1000).toString("yyyy-MM-dd HH:mm:ss.zzz")
    change = f"{e.before} → {e.after}" if e.before or e.after else ""
    signed = "; ".join(f"{s.full_name or s.account} ({s.meaning})" for s in e.signatures)
    return (stamp, e.account, e.role, e.action, e.object, change, e.reason, signed)


def _us(edit: QDateTimeEdit) -> int:
    return edit.dateTime().toMSecsSinceEpoch() * 1000


class AuditViewer(QDialog):
    def __init__(self, reader: PoolReader, machine: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Audit trail — {machine}")
        self.reader, self._machine = reader, machine
        self.records: list[AuditRecord] = []
        now = QDateTime.currentDateTime()
        self.since = QDateTimeEdit(now.addSecs(-24 * 3600))
        self.until = QDateTimeEdit(now.addSecs(3600))
        for edit in (self.since, self.until):
            edit.setCalendarPopup(True)
            edit.setDisplayFormat("yyyy-MM-dd HH:mm")
        self.account = QLineEdit(placeholderText="account")
        self.action = QLineEdit(placeholderText="action (e.g. login, run abort)")
        self.object = QLineEdit(placeholderText="object contains")
        self.search = QPushButton("Search")
        self.verify = QPushButton("Verify chain")
        self.verify.setToolTip("Recompute every link of this machine's chain")
        self.message = named(QLabel(wordWrap=True), "auditMessage")
        self.chain = named(QLabel(wordWrap=True), "auditChain")
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)

        filters = QHBoxLayout()
        filters.addWidget(QLabel("From"))
        filters.addWidget(self.since)
        filters.addWidget(QLabel("to"))
        filters.addWidget(self.until)
        for widget in (self.account, self.action, self.object, self.search, self.verify):
            filters.addWidget(widget)
        layout = QVBoxLayout(self)
        layout.addLayout(filters)
        layout.addWidget(self.chain)
        layout.addWidget(self.message)
        layout.addWidget(self.table, 1)
        self.resize(1200, 600)
        self.search.clicked.connect(self.ask)
        self.verify.clicked.connect(self.check_chain)
        reader.answered.connect(self._answered)
        reader.failed.connect(self._failed)
        reader.finished.connect(lambda _kind: self._enable())

    def query(self) -> AuditFilter:
        """What the filters ask now."""
        return AuditFilter(
            machine=self._machine,
            since_us=_us(self.since),
            until_us=_us(self.until),
            account=self.account.text().strip(),
            action=self.action.text().strip(),
            object=self.object.text().strip(),
            limit=LIMIT,
        )

    @Slot()
    def ask(self) -> None:
        f = self.query()
        if f.until_us is not None and f.since_us is not None and f.until_us <= f.since_us:
            self.message.setText("The end of the span is before its start: nothing to search.")
            return

        def work(dsn: str) -> list[AuditRecord]:
            with psycopg.connect(dsn, connect_timeout=_CONNECT_TIMEOUT_S) as conn:
                return find_entries(conn, f)

        if self.reader.ask(_SEARCH, work):
            self.message.setText("Searching the audit trail…")
        self._enable()

    @Slot()
    def check_chain(self) -> None:
        machine = self._machine

        def work(dsn: str) -> list[ChainCheck]:
            with psycopg.connect(dsn, connect_timeout=_CONNECT_TIMEOUT_S, autocommit=True) as conn:
                return verify_chains(conn, machine)

        if self.reader.ask(_VERIFY, work):
            self.chain.setText("Verifying the chain…")
        self._enable()

    @Slot(str, object)
    def _answered(self, kind: str, result: object) -> None:
        if kind == _VERIFY:
            assert isinstance(result, list)
            self.chain.setText(chain_words(result, self._machine))
            self.chain.setProperty("broken", not self.chain.text().startswith("Chain intact"))
            return
        assert isinstance(result, list)
        self.records = result
        self.table.setRowCount(len(result))
        for row, record in enumerate(result):
            for column, text in enumerate(_cells(record)):
                self.table.setItem(row, column, QTableWidgetItem(text))
        more = " (the first ones: narrow the filter for the rest)" if len(result) >= LIMIT else ""
        self.message.setText(f"{len(result)} entries{more}.")

    @Slot(str, str)
    def _failed(self, kind: str, words: str) -> None:
        target = self.chain if kind == _VERIFY else self.message
        target.setText(f"The audit trail could not be read: {words}")

    @Slot()
    def _enable(self) -> None:
        self.search.setEnabled(not self.reader.asking(_SEARCH))
        self.verify.setEnabled(not self.reader.asking(_VERIFY))

    def rows(self) -> list[list[str]]:
        """The table's text, row by row, as on screen."""
        rows = []
        for r in range(self.table.rowCount()):
            items = (self.table.item(r, c) for c in range(self.table.columnCount()))
            rows.append([item.text() if item is not None else "" for item in items])
        return rows

    def done(self, result: int) -> None:
        self.reader.stop()
        super().done(result)
