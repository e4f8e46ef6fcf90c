"""The actions the window asks a signature for (21 CFR 11.50, 11.200): aborting a run,
shelving an alarm, taking one out of service, releasing a recipe. The person types
their password again and says what the signing means (signature_dialog, checked by
``Engine.verify_signature``); without a signature nothing is sent, except an abort,
which goes at once and is signed after (the safe state never waits for a password).

The signature goes into the audit trail (``Engine.audit``) in an entry of its own,
"signature", just before the command's own entry (the poll thread's journal), naming
what was signed and why; a release's entry carries it itself. Commands do not carry
signatures (yet): the engine's entry of the command stands beside the signature's.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import suppress

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QWidget

from ald_gui.domain.accounts import Permission, PermissionDenied
from ald_gui.domain.audit import Meaning, Signature
from ald_gui.domain.commands import AbortRun, Command, RemoveFromService, ShelveAlarm
from ald_gui.domain.machine import RunNotPossible
from ald_gui.engine.engine import Engine
from ald_gui.store.recipe_library import LibraryError, RecipeLibrary
from ald_gui.ui.signature_dialog import AskSignature, Verify

__all__ = ["SignedActions", "needs_signature"]


def needs_signature(command: Command) -> str:
    """What signing ``command`` says ("" if it needs no signature)."""
    match command:
        case AbortRun(reason=reason):
            return f"abort the run: {reason}"
        case ShelveAlarm(alarm=alarm, duration_s=seconds, reason=reason):
            return f"shelve {alarm} for {seconds / 60:g} min: {reason}"
        case RemoveFromService(alarm=alarm, reason=reason):
            return f"take {alarm} out of service: {reason}"
    return ""


class SignedActions(QObject):
    """``said(text)``: why an action was not done (not signed, refused)."""

    said = Signal(str)

    def __init__(
        self,
        engine: Engine,
        ask: AskSignature,
        parent: QWidget,
    ) -> None:
        super().__init__(parent)
        self._engine, self._ask, self._parent = engine, ask, parent

    def sign(self, what: str, meaning: Meaning) -> Signature | None:
        """The logged-in person's signature of ``what``; None if nobody is logged in
        or they cancelled."""
        actor = self._engine.session
        if actor is None:
            return None
        return self._ask(self._parent, what, actor.account, meaning, self._engine.verify_signature)

    def _second_person(self, first: str) -> Verify:
        """The check of a second signature: another account than ``first``, which may
        release a recipe itself (blocks on the account book: the dialog's thread)."""
        engine = self._engine

        def verify(account: str, password: str, meaning: Meaning) -> Signature:
            if account.strip().lower() == first:
                raise ValueError(f"the second person must be another account than {first}")
            signature = engine.verify_signature(account, password, meaning)
            signer = engine.accounts.account(signature.account).actor
            if not signer.may(Permission.RELEASE_RECIPE):
                raise PermissionDenied(signer, Permission.RELEASE_RECIPE)
            return signature

        return verify

    def submit(self, command: Command, send: Callable[[Command], None]) -> None:
        """``send(command)``, signed first when it needs it (shelve, out of service).

        An abort is the exception: it is sent at once and signed after. Typing a
        password must never hold back the safe state; the trail then holds the
        abort, and its signature or an entry "abort not signed" naming who cancelled."""
        what = needs_signature(command)
        if isinstance(command, AbortRun):
            send(command)
            signature = self.sign(what, Meaning.AUTHORED)
            with suppress(RunNotPossible):  # the engine closed meanwhile: nothing records
                if signature is None:
                    self._engine.audit("abort not signed", what)
                    self.said.emit(f"Aborted, but the abort was not signed: {what}")
                else:
                    self._engine.audit("signature", what, signatures=(signature,))
            return
        if what:
            signature = self.sign(what, Meaning.AUTHORED)
            if signature is None:
                self.said.emit(f"Not done, not signed: {what}")
                return
            try:
                self._engine.audit("signature", what, signatures=(signature,))
            except RunNotPossible as exc:
                self.said.emit(f"Not done: {exc}")
                return
        send(command)

    def release(self, library: RecipeLibrary, name: str, version: int) -> bool:
        """Release ``name`` version ``version``, signed as approved by the person."""
        actor = self._engine.session
        if actor is None or not actor.may(Permission.RELEASE_RECIPE):
            self.said.emit(f"Not released: {PermissionDenied(actor, Permission.RELEASE_RECIPE)}")
            return False
        what = f"release {name} v{version}"
        signatures = [self.sign(what, Meaning.APPROVED)]
        if self._engine.config.accounts.release_needs_second_person:  # 11.200: two people
            verify = self._second_person(actor.account)
            signatures.append(self._ask(self._parent, what, "", Meaning.REVIEWED, verify))
        signed = tuple(s for s in signatures if s is not None)
        if len(signed) < len(signatures):
            self.said.emit(f"Not released, not signed: {name} v{version}")
            return False
        try:
            release = library.release(name, version, by=actor.account)
            self._engine.audit(
                "recipe release", f"{name} v{version}", "draft",
                f"released, SHA-256 {release.sha256}", signatures=signed,
            )  # fmt: skip
        except (LibraryError, OSError, RunNotPossible) as exc:
            self.said.emit(f"Not released: {exc}")
            return False
        return True
