"""The engine: the poll thread, the writer and the database, wired together.

The one object the console window and the headless service both use. Construct it
with a configuration, ``open()`` it, subscribe to its signals, start and stop runs,
and ``shutdown()`` it. Signals are emitted from the engine's worker threads and
delivered queued, so slots run in the receiver's thread (the GUI thread); nothing
here blocks the caller on the PLC or the database.
"""

from __future__ import annotations

import hashlib
import itertools
import logging
import threading
import time
from enum import Enum
from pathlib import Path

from PySide6.QtCore import QObject, Signal, Slot

from ald_gui.config import paths
from ald_gui.config.models import AppConfig
from ald_gui.domain.accounts import CONSOLE, Actor
from ald_gui.domain.audit import AuditRequest, Meaning, Signature
from ald_gui.domain.commands import (
    AbortRun,
    Command,
    PauseRun,
    RequestId,
    ResumeRun,
    StartRun,
    StopRun,
    WriteTag,
)
from ald_gui.domain.events import RunRefused
from ald_gui.domain.machine import RunNotPossible, check_recordable
from ald_gui.domain.stream import Run, RunEnded, RunStarted, RunStatus
from ald_gui.engine import permissions
from ald_gui.engine.account_audit import AccountAudit
from ald_gui.engine.history_queries import HistoryQueries
from ald_gui.engine.poller import Poller
from ald_gui.engine.reasons import missing_reason
from ald_gui.engine.recipe_marker import RecipeMarker
from ald_gui.store.accounts import AccountBook, AccountEvent
from ald_gui.store.alarm_states import AlarmStates
from ald_gui.store.clock_mark import ClockMark, ClockMarkError
from ald_gui.store.credentials import CredentialsError, resolve_dsn, resolve_reader_dsn
from ald_gui.store.health import WriterEvent, WriterEventKind, WriterHealth
from ald_gui.store.lease import Lease, LeaseError, check_spool_released, take_at_start
from ald_gui.store.roles import Group
from ald_gui.store.server import EmbeddedServer, ServerError
from ald_gui.store.spool import Spool, SpoolError
from ald_gui.store.supervisor import ServerSupervisor
from ald_gui.store.writer import Writer

log = logging.getLogger(__name__)

# What keeps the engine from opening, each with a message for the operator: another
# console on the data directory or the spool, a database that cannot start, a DSN
# that cannot be used, another console recording the same machine name.
STARTUP_ERRORS = (ServerError, SpoolError, CredentialsError, ClockMarkError, LeaseError)


# Poll threads that did not stop at shutdown: a QThread object must outlive its thread.
_stuck_threads: list[Poller] = []


class _Asked(Enum):
    """A run change asked of the poll thread and not yet applied."""

    START = "start"
    STOP = "stop"


class Engine(QObject):
    """Open with a configuration; submit commands (start, stop, write); shut down
    cleanly. Commands and the life cycle are called from the engine's thread.

    Signals:
      sampled(Batch)            every successful poll
      run_changed(item)         RunStarted or RunEnded, when it takes effect
      occurred(event)           PLC lost/back, writes, refusals, writer events
    (a command's outcome carries the request id ``submit`` returned for it)
      plc_health(PlcHealth)     after every poll
      writer_health(WriterHealth) about once a second and on changes
      alarms_changed(AlarmBoard) every alarm not normal, when any changed (domain.alarms)
    """

    sampled = Signal(object)
    run_changed = Signal(object)
    occurred = Signal(object)
    plc_health = Signal(object)
    writer_health = Signal(object)
    alarms_changed = Signal(object)
    _writer_event = Signal(object)

    def __init__(
        self,
        config: AppConfig,
        *,
        data_dir: Path | str | None = None,
        dsn: str | None = None,
    ) -> None:
        super().__init__()
        self.config = config
        self.machine = config.database.machine
        self.data_dir = paths.data_dir(data_dir)
        self._dsn_override = dsn
        self.run: Run | None = None
        self._pending: _Asked | None = None
        self._request_ids = itertools.count(1)
        self.server: EmbeddedServer | None = None
        self.spool: Spool | None = None
        self.writer: Writer | None = None
        self.poller: Poller | None = None
        self.supervisor: ServerSupervisor | None = None
        self.lease: Lease | None = None
        self.not_recording = ""  # why, once another console took the machine
        self.dsn = ""
        # Who commands from this console's window are asked by: set once the person
        # logged in (issue 13), None when nobody is.
        self.session: Actor | None = None
        self._accounts: AccountBook | None = None
        self._account_audit = AccountAudit()  # logins, lockouts, user changes: audited
        self._valves = permissions.valve_tags(config)
        self._released = permissions.releases_in(paths.recipes_dir(self.data_dir))
        # open_database() may run on a worker thread while the window is closed:
        # shutdown waits for a server start under way, then stops it, and an
        # open_database() that comes after a shutdown starts nothing.
        self._life = threading.Lock()
        self._shut_down = False
        # The read side: history questions of the views, under the reader role.
        self.history = HistoryQueries(self.reader_dsn)

    # -- life cycle ------------------------------------------------------------------

    def open(self) -> None:
        """Start the database (embedded unless a DSN is configured), the writer and
        the poll thread: ``open_database()`` then ``start_recording()``. Returns once
        the poll thread has started; a PLC or an external database that is down does
        not make it fail (they show as red, and data is spooled).

        Raises one of STARTUP_ERRORS, with a message for the operator: another console
        on the same data directory or spool, a database that cannot start, a DSN that
        cannot be used.
        """
        self.open_database()
        self.start_recording()

    @property
    def is_shut_down(self) -> bool:
        return self._shut_down

    def open_database(self) -> None:
        """The slow, blocking part of opening: start the embedded server (initdb the
        first time, crash recovery after a kill) or resolve the external DSN, and open
        the spool (which counts what an outage left in it). Safe to call from a worker
        thread, so a window stays responsive meanwhile; does nothing once shut down.
        Raises one of STARTUP_ERRORS (SpoolError if another console holds the spool,
        LeaseTaken if another console records this machine, SpoolWithheld if this one
        lost it to another before)."""
        with self._life:
            if self._shut_down:
                return
            self.dsn = self._dsn_override or resolve_dsn(self.config.database)
            if not self.dsn:
                self.server = EmbeddedServer(paths.database_dir(self.data_dir))
                self.server.start()
                self.dsn = self.server.login_dsn(Group.WRITER)
            self._accounts = AccountBook(
                self.dsn,
                paths.accounts_copy_path(self.data_dir),
                self.config.accounts,
                on_event=self._account_audit,
            )
            # The spool first: a second console on this data directory is refused by it
            # before it could touch the lease this directory's console holds.
            self.spool = Spool(paths.spool_path(self.data_dir))
            self.lease = Lease.for_data_dir(
                self.machine, self.data_dir, timeout_s=self.config.database.lease_timeout_s
            )
            try:
                check_spool_released(self.data_dir)
                take_at_start(self.lease, self.dsn)
            except LeaseError:
                self.spool.close()  # refused: this console holds nothing, may try again
                self.spool = None
                raise

    def reader_dsn(self) -> str:
        """The reader role's conninfo: the embedded server's reader login, the configured
        ``reader_user`` of an external server, or (no reader configured, a test's server
        given directly) the writer's. "" before the database is open. May read files:
        call it off the GUI thread (HistoryQueries does)."""
        if self.server is not None:
            return self.server.login_dsn(Group.READER)
        if self._dsn_override:
            return self._dsn_override
        return resolve_reader_dsn(self.config.database) if self.dsn else ""

    def start_recording(self) -> None:
        """Start the writer, the poll thread and the embedded server's supervisor;
        quick. Call it in the engine's thread after ``open_database()``."""
        if self._shut_down or self.spool is None:
            raise RunNotPossible("the engine was shut down before it opened")
        self._writer_event.connect(self._on_writer_event)
        self.writer = Writer(
            self.dsn,
            self.spool,
            self.machine,
            self.config.tags,
            on_health=self._writer_health_seen,
            on_event=self._writer_event.emit,
            lease=self.lease,
            partitions=self.config.partitions,
        )
        # Before the writer starts: an unreadable clock mark refuses the start cleanly.
        mark = ClockMark(paths.clock_mark_path(self.data_dir))
        marker = RecipeMarker(paths.recipe_marker_path(self.data_dir))
        states = AlarmStates(paths.spool_path(self.data_dir).with_name("alarm_states.json"))
        self.poller = Poller(self.config, self.writer.submit, self.machine, mark, marker, states)
        self.writer.start()
        self.poller.sampled.connect(self.sampled)
        self.poller.stream_event.connect(self._on_stream_event)
        self.poller.occurred.connect(self._on_poller_event)
        self.poller.health.connect(self.plc_health)
        self.poller.alarms_changed.connect(self.alarms_changed)
        self.poller.start()
        self._account_audit.start(
            lambda action, what, before, after, by: self.audit(action, what, before, after, by=by)
        )
        # The configuration this session runs with, in the audit trail: its SHA-256 over
        # its canonical form (every setting, defaults included, in a fixed order; a
        # configuration built in code with a list for a tuple serialises the same).
        digest = hashlib.sha256(self.config.model_dump_json(warnings=False).encode()).hexdigest()
        self.audit("config loaded", self.machine, after=digest, by=CONSOLE)
        if self.server is not None:
            # Events reach the receivers queued, from the supervisor's thread.
            self.supervisor = ServerSupervisor(self.server, on_event=self._on_server_event)
            self.supervisor.start()

    def shutdown(self, timeout: float = 10.0) -> bool:
        """End an active run (aborted: the console closed), stop polling, put every
        sample into the spool, commit what can be within ``timeout``, stop the
        database (after a start under way on another thread has finished). Returns True
        if nothing was left behind in memory. Blocks, about ``timeout`` at most."""
        self._shut_down = True
        self._account_audit.stop()
        clean = True
        deadline = time.monotonic() + timeout
        self.history.close()
        if self.poller is not None:
            # Commands are applied in order: a stop queued after a pending start ends
            # that run too. A stop already asked for is not asked twice.
            starting = self._pending is _Asked.START
            if (self.run is not None or starting) and self._pending is not _Asked.STOP:
                self.poller.submit(StopRun("console shut down during the run", RunStatus.ABORTED))
            self.poller.request_shutdown()
            if not self.poller.wait(int(timeout * 1000)):
                # Every PLC call is bounded by its timeouts, so this does not happen
                # unless the poll thread is stuck. Waiting on would hang the window for
                # ever; dropping the last reference to a running QThread would abort
                # the process: it is kept, and the shutdown is reported unclean.
                log.error("poll thread did not stop within %.0f s", timeout)
                _stuck_threads.append(self.poller)
                clean = False
            self.poller = None
        if self.writer is not None:
            clean = self.writer.stop(max(0.5, deadline - time.monotonic())) and clean
            self.writer = None
        if self.supervisor is not None:
            self.supervisor.stop()  # finishes a restart under way first
            self.supervisor = None
        with self._life:  # waits for open_database() on another thread
            if self.spool is not None:
                self.spool.close()
                self.spool = None
            if self.server is not None:
                self.server.stop()
                self.server = None
        return clean

    # -- who is at the console ---------------------------------------------------------

    @property
    def accounts(self) -> AccountBook:
        """The account book (store.accounts), for logins and user management; blocking
        calls, for worker threads. RunNotPossible until ``open_database()`` ran."""
        if self._accounts is None:
            raise RunNotPossible("the engine is not open: no accounts yet")
        return self._accounts

    def log_in(self, user: str, password: str) -> Actor:
        """Check ``user``'s password (store.accounts: the database, or this console's
        copy while it is away) and ask this console's commands as that account from now
        on. Blocks on the database and argon2 (a few hundred ms): call it from a worker
        thread. Raises LoginRefused naming why (wrong password, disabled, locked, must
        change the password, unknown while the database is away); the session is
        unchanged then."""
        actor = self.accounts.log_in(user, password).account.actor
        self.session = actor
        return actor

    def log_out(self) -> None:
        """Nobody is at the console any more: its commands are refused until a login."""
        if self.session is not None:
            self._account_audit(AccountEvent("logout", self.session.account, self.session))
        self.session = None

    def verify_signature(self, account: str, password: str, meaning: Meaning) -> Signature:
        """The signature of ``account`` (the password typed again; any account, not only
        the one logged in: a second person may sign), with ``meaning``. Blocks like
        ``log_in``; raises LoginRefused (a wrong password counts towards the lockout)."""
        signer = self.accounts.check_signature(account, password)
        return Signature(signer.user, signer.full_name, Meaning(meaning))

    # -- runs and writes -------------------------------------------------------------

    def act_as(self, actor: Actor | None) -> None:
        """Ask this console's commands as ``actor`` from now on: for in-process callers
        that have made sure who the person is (the window after its login, tests)."""
        self.session = actor

    def submit(self, command: Command, by: Actor | None = None) -> RequestId:
        """Hand ``command``, asked by ``by`` (default: the account logged in at this
        console, ``session``), to the poll thread, which applies it between two samples;
        returns the request id that its outcome will carry: RunStarted or RunEnded
        (signal ``run_changed``), RunRefused, WriteConfirmed, WriteFailed or the
        recipe's RecipeProgress (signal ``occurred``).

        Raises PermissionDenied (engine.permissions), and submits nothing, when the
        asking account's role lacks a permission the command needs, or nobody asks
        (nobody logged in). A run's operator, an alarm command's operator, is the
        asking account; a different free-text operator given is kept in the run's note.

        Raises RunNotPossible at once, and submits nothing, when the engine already
        knows the command cannot be carried out: not open, a run active or about to
        start (start), no run (stop), no recipe run (pause, resume), text the database
        cannot store, a reason that ``[accounts] reason_required_for`` asks for and that
        is not given (engine.reasons). The poll thread checks again and answers
        RunRefused if the state changed meanwhile.
        """
        actor = by if by is not None else self.session
        permissions.check(actor, command, self._valves, self._released)  # who first
        assert actor is not None  # check() refuses nobody
        if self.poller is None:
            raise RunNotPossible("the engine is not open")
        if self.not_recording:
            raise RunNotPossible(f"this console stopped recording: {self.not_recording}")
        if (
            missing := missing_reason(command, self.config.accounts.reason_required_for)
        ) is not None:
            raise RunNotPossible(missing)
        command = permissions.as_asked_by(command, actor)
        match command:
            case StartRun(note=note):
                if self.run is not None or self._pending:
                    raise RunNotPossible("a run is active or starting: stop it first")
                check_recordable("note", note)
                self._pending = _Asked.START
            case StopRun(reason=reason) | AbortRun(reason=reason):
                if self.run is None or self._pending:
                    raise RunNotPossible("no run is active")
                check_recordable("reason", reason)
                self._pending = _Asked.STOP
            case PauseRun() | ResumeRun():
                if self.run is None or not self.run.recipe or self._pending:
                    raise RunNotPossible(
                        "no recipe is running: only a recipe run can be paused or resumed"
                    )
            case WriteTag():
                pass  # checked against the tag's type and limits by the poll thread
        request_id = next(self._request_ids)
        self.poller.submit(command, request_id, actor)
        return request_id

    def audit(
        self,
        action: str,
        object: str,
        before: str = "",
        after: str = "",
        reason: str = "",
        signatures: tuple[Signature, ...] = (),
        by: Actor | None = None,
    ) -> None:
        """Record an entry of the audit trail (domain.audit): ``action`` done to
        ``object`` by ``by`` (default: the session's account, else the console itself).
        The poll thread stamps it (seq, stream time, the run in progress) in order with
        the commands submitted before it, and it travels the stream: exactly once, kept
        in the spool while the database is away. Returns at once; raises RunNotPossible
        when the engine is not open (nothing could record it)."""
        if self.poller is None:
            raise RunNotPossible(f"the engine is not open: {action!r} cannot be recorded")
        actor = by if by is not None else self.session
        request = AuditRequest(action, object, before, after, reason, signatures)
        self.poller.audit(request, actor or CONSOLE)

    def start_run(self, operator: str, note: str = "") -> RequestId:
        """``submit(StartRun(operator, note))``: a run starts at the next gap between
        two samples."""
        return self.submit(StartRun(operator, note))

    def stop_run(self, reason: str = "", status: RunStatus = RunStatus.COMPLETED) -> RequestId:
        """``submit(StopRun(reason, status))``: the active run ends at the next gap."""
        return self.submit(StopRun(reason, status))

    def write_tag(self, key: str, value: float | int | bool) -> RequestId:
        """``submit(WriteTag(key, value))``: answered by WriteConfirmed or WriteFailed."""
        return self.submit(WriteTag(key, value))

    # -- slots (engine's thread) -----------------------------------------------------

    @Slot(object)
    def _on_stream_event(self, item: object) -> None:
        if isinstance(item, RunStarted):
            self.run = item.run
        elif isinstance(item, RunEnded):
            self.run = None
        else:
            return
        self._pending = None
        self.run_changed.emit(item)

    @Slot(object)
    def _on_poller_event(self, event: object) -> None:
        if isinstance(event, RunRefused):
            self._pending = None
        self.occurred.emit(event)

    def _on_server_event(self, event: object) -> None:
        log.warning("database server: %s", event)
        self.occurred.emit(event)

    @Slot(object)
    def _on_writer_event(self, event: WriterEvent) -> None:
        log.info("historian: %s", event)
        if event.kind is WriterEventKind.LEASE_TAKEN and self.poller is not None:
            # Another console records this machine: sampling on would only fill the
            # spool with data nobody may commit. The run ends (aborted) in the spool.
            log.error("not recording: %s", event.message)
            self.not_recording = event.message
            if self.run is not None or self._pending is _Asked.START:
                self.poller.submit(StopRun("another console took the machine", RunStatus.ABORTED))
                self._pending = _Asked.STOP
            self.poller.request_shutdown()
        self.occurred.emit(event)

    def _writer_health_seen(self, health: WriterHealth) -> None:
        """The writer's thread: to the system alarms (a reference the poll thread reads)
        and to the signal."""
        if self.poller is not None:
            self.poller.alarms.writer_health(health)
        self.writer_health.emit(health)

    def health_now(self) -> WriterHealth | None:
        return self.writer.health() if self.writer else None

    def describe(self) -> str:
        where = "embedded" if self.server else "external"
        return f"machine {self.machine}, {where} database, data in {self.data_dir}"
