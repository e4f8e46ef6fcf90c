"""The event log: runs started and ended, the PLC and the database lost and back,
writes, errors — newest at the top, filterable by category and by text.

Memory is bounded: beyond ``max_entries`` the oldest entry is dropped. An append
inserts one row (beginInsertRows), so a long log costs nothing per event.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Sequence

from PySide6.QtCore import (
    QAbstractTableModel,
    QEvent,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
    Slot,
)
from PySide6.QtGui import QIcon, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QTableView,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from ald_gui.domain.alarms import AlarmBoard, AlarmCommandDone, AlarmEvent, AlarmEventKind
from ald_gui.domain.events import WriteConfirmed, WriteFailed
from ald_gui.domain.recipe_progress import ExecutorState, RecipeProgress
from ald_gui.domain.tags import Tag
from ald_gui.ui.event_text import Category, Entry, Severity, WriteAsked, describe, with_asked
from ald_gui.ui.theme import icon, named

__all__ = ["EventLog", "EventModel"]

AnyIndex = QModelIndex | QPersistentModelIndex
_COLUMNS = ("Time", "Severity", "Category", "Message")
_ROUTINE = (AlarmEventKind.SUPPRESSED, AlarmEventKind.UNSUPPRESSED)
_MESSAGE = 3
_SEVERITY_ICON = {Severity.WARNING: "warning", Severity.ERROR: "fault"}


class EventModel(QAbstractTableModel):
    """The entries, newest in row 0; ``Qt.UserRole`` gives a row's Entry."""

    def __init__(self, max_entries: int, parent: QObject | None = None) -> None:
        super().__init__(parent)
        if max_entries < 1:
            raise ValueError(f"max_entries must be at least 1, not {max_entries}")
        self._entries: deque[Entry] = deque()  # oldest first
        self.max_entries = max_entries
        self._icons: dict[Severity, QIcon] = {}

    def append(self, entry: Entry) -> None:
        if len(self._entries) == self.max_entries:
            last = len(self._entries) - 1
            self.beginRemoveRows(QModelIndex(), last, last)
            self._entries.popleft()
            self.endRemoveRows()
        self.beginInsertRows(QModelIndex(), 0, 0)
        self._entries.append(entry)
        self.endInsertRows()

    def add_older(self, older: list[Entry]) -> None:
        """Put ``older`` (oldest first, all before every entry held) below the rest,
        as much of it as there is room for."""
        room = self.max_entries - len(self._entries)
        older = older[-room:] if room > 0 else []
        if not older:
            return
        end = len(self._entries)
        self.beginInsertRows(QModelIndex(), end, end + len(older) - 1)
        self._entries.extendleft(reversed(older))
        self.endInsertRows()

    def entries(self) -> list[Entry]:
        return list(self._entries)

    def entry(self, row: int) -> Entry:
        return self._entries[len(self._entries) - 1 - row]

    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._entries)

    def columnCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(_COLUMNS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> object:
        if orientation != Qt.Orientation.Horizontal:
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return _COLUMNS[section]
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter
        return None

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if not index.isValid():
            return None
        entry, column = self.entry(index.row()), index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return (
                entry.time_text,
                entry.severity.value.title(),
                entry.category.value,
                entry.message,
            )[column]
        if role == Qt.ItemDataRole.ToolTipRole:
            return f"{entry.date_time_text}\n{entry.message}"
        if role == Qt.ItemDataRole.DecorationRole and column == 1:
            return self._icon(entry.severity)
        if role == Qt.ItemDataRole.UserRole:
            return entry
        return None

    def _icon(self, severity: Severity) -> QIcon:
        if severity not in self._icons:  # made on first use: needs the application
            name = _SEVERITY_ICON.get(severity)
            self._icons[severity] = icon(name) if name else _blank()
        return self._icons[severity]


def _blank() -> QIcon:
    """Info entries have no icon; an empty one keeps their words aligned with the rest."""
    pixmap = QPixmap(16, 16)
    pixmap.fill(Qt.GlobalColor.transparent)
    return QIcon(pixmap)


class EventFilter(QSortFilterProxyModel):
    """Shows the entries of the chosen categories whose words contain the text."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._categories = set(Category)
        self._text = ""

    def set_filter(self, categories: Iterable[Category], text: str) -> None:
        self.beginFilterChange()
        self._categories, self._text = set(categories), text.strip().casefold()
        self.endFilterChange(QSortFilterProxyModel.Direction.Rows)

    def filterAcceptsRow(self, row: int, parent: AnyIndex) -> bool:
        model = self.sourceModel()
        assert isinstance(model, EventModel)
        entry = model.entry(row)
        if entry.category not in self._categories:
            return False
        words = f"{entry.message} {entry.category} {entry.severity}".casefold()
        return self._text in words


class EventLog(QWidget):
    """The event log. ``add`` takes RunStarted / RunEnded, any ``domain.events``
    event and WriterEvent (anything else with an ``at_us`` is logged as an Error);
    ``entries()`` gives every entry kept, oldest first; ``shown()`` what the table
    shows, newest first. ``tags`` (or ``set_tags``) give written values a unit."""

    def __init__(
        self, parent: QWidget | None = None, max_entries: int = 10_000, *, tags: Iterable[Tag] = ()
    ) -> None:
        super().__init__(parent)
        self.setObjectName("eventLog")
        self._tags: dict[str, Tag] = {}
        self.set_tags(tags)
        self.alarm_names: dict[str, str] = {}  # alarm id -> its name, for journal entries
        self._recipe_state: ExecutorState | None = None
        self._asked: dict[int, WriteAsked] = {}  # request id -> before and who
        self.model = EventModel(max_entries, self)
        self.filter = EventFilter(self)
        self.filter.setSourceModel(self.model)

        self.category_buttons: dict[Category, QToolButton] = {}
        bar = QHBoxLayout()
        for category in Category:
            button = named(QToolButton(), "categoryFilter")
            button.setText(category.value)
            button.setCheckable(True)
            button.setChecked(True)
            button.setToolTip(f"Show {category.value} events")
            button.toggled.connect(self._refilter)
            self.category_buttons[category] = button
            bar.addWidget(button)
        self.search = named(QLineEdit(placeholderText="Filter the log…"), "eventSearch")
        self.search.setClearButtonEnabled(True)
        self.search.textChanged.connect(self._refilter)
        self.count = named(QLabel(), "eventCount")
        bar.addSpacing(8)
        bar.addWidget(self.search, 1)
        bar.addWidget(self.count)

        self.table = named(QTableView(), "eventTable")
        self.table.setModel(self.filter)
        self.table.setAlternatingRowColors(True)
        self.table.setShowGrid(False)
        self.table.setWordWrap(False)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().hide()
        # Fixed row heights and fixed columns: an insert never re-measures the table.
        self.table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        header = self.table.horizontalHeader()
        header.setStretchLastSection(True)
        header.setHighlightSections(False)
        self._fit()

        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(bar)
        layout.addWidget(self.table, 1)
        self.filter.rowsInserted.connect(self._count)
        self.filter.rowsRemoved.connect(self._count)
        self.filter.modelReset.connect(self._count)
        self._count()

    def _fit(self) -> None:
        """Size rows and columns to the font (which a theme may change at any time)."""
        self.table.ensurePolished()
        metrics = self.table.fontMetrics()
        self.table.verticalHeader().setDefaultSectionSize(metrics.height() + 10)
        # Words plus room for the cell's margins (and the severity's icon).
        columns = (("00:00:00.000", 28), ("Warning", 52), ("Database", 32))
        for column, (words, room) in enumerate(columns):
            self.table.setColumnWidth(column, metrics.horizontalAdvance(words) + room)

    def changeEvent(self, event: QEvent) -> None:
        if event.type() in (QEvent.Type.FontChange, QEvent.Type.StyleChange):
            self._fit()
        super().changeEvent(event)

    def set_tags(self, tags: Iterable[Tag]) -> None:
        self._tags = {tag.key: tag for tag in tags}

    @Slot(object)
    def add(self, event: object) -> None:
        """Log ``event``. Raises TypeError for an object without a time stamp.

        A recipe's progress is logged when its state changes or the executor says
        something; not at every step boundary (the record has each step)."""
        if isinstance(event, RecipeProgress):
            if event.state is self._recipe_state and not event.message:
                return
            self._recipe_state = event.state
        if isinstance(event, AlarmCommandDone):
            return  # its journal entry (an AlarmEvent, from the alarm board) says it
        entry = describe(event, self._tags, self.alarm_names)
        if isinstance(event, WriteConfirmed | WriteFailed):
            asked = self._asked.pop(event.request_id, None) if event.request_id else None
            if asked is not None:
                entry = with_asked(entry, event, asked, self._tags)
        self.model.append(entry)

    def add_record(self, records: Sequence[object], since_text: str) -> None:
        """The last shift from the record (store.shift_log), below what this console
        logged since it started, under a line that says where it comes from. Records
        from this console's own start onwards are the live entries already."""
        first_live = min((e.at_us for e in self.model.entries()), default=None)
        shown = [r for r in records if not (isinstance(r, AlarmEvent) and r.event in _ROUTINE)]
        older = [describe(r, self._tags, self.alarm_names) for r in shown]
        if first_live is not None:
            older = [e for e in older if e.at_us < first_live]
        at = older[-1].at_us if older else (first_live or 0)
        line = Entry(
            at,
            Severity.INFO,
            Category.RUN,
            f"— above: this console; below: the record since {since_text} —",
        )
        self.model.add_older([*older, line])

    def expect_write(self, request_id: int, asked: WriteAsked) -> None:
        """A write this window asked for: its outcome's entry says ``asked`` (the value
        before, who). Kept only until the answer (bounded: an answer always comes)."""
        self._asked[request_id] = asked
        while len(self._asked) > 256:
            del self._asked[next(iter(self._asked))]

    @Slot(object)
    def on_alarm_board(self, board: AlarmBoard) -> None:
        """Log the alarm journal's new entries (raised, cleared, acknowledged, ...), but
        not suppression by design: every run's start and end flips each run-only alarm,
        routine that would bury the rest (the history has it)."""
        for event in board.events:
            if event.event not in _ROUTINE:
                self.add(event)

    def entries(self) -> list[Entry]:
        return self.model.entries()

    def shown(self) -> list[Entry]:
        rows = range(self.filter.rowCount())
        return [self.filter.index(r, 0).data(Qt.ItemDataRole.UserRole) for r in rows]

    def set_filter(self, categories: Iterable[Category | str], text: str = "") -> None:
        """Show only ``categories`` (e.g. ``["PLC", "Database"]``) containing ``text``."""
        chosen = {Category(c) for c in categories}
        for category, button in self.category_buttons.items():
            button.blockSignals(True)
            button.setChecked(category in chosen)
            button.blockSignals(False)
        self.search.blockSignals(True)
        self.search.setText(text)
        self.search.blockSignals(False)
        self._refilter()

    @Slot()
    def _refilter(self) -> None:
        chosen = [c for c, b in self.category_buttons.items() if b.isChecked()]
        self.filter.set_filter(chosen, self.search.text())
        self._count()

    @Slot()
    def _count(self) -> None:
        total, shown = self.model.rowCount(), self.filter.rowCount()
        self.count.setText(f"{total:,} entries" if shown == total else f"{shown:,} of {total:,}")
