"""The electronic signature: the password again and what the signing means (21 CFR
11.50, 11.200: the signer, the meaning, checked by the signer's own password).

Used before an abort, a shelve, taking an alarm out of service and a recipe release.
The engine checks the password (``Engine.verify_signature``, off the GUI thread here)
and hands back the Signature the command then carries, so the audit entry records it.
A wrong password keeps the dialog open and says so; Cancel signs nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtWidgets import QComboBox, QLabel, QLineEdit, QWidget

from ald_gui.domain.audit import Meaning, Signature
from ald_gui.ui.checked_dialog import CheckedDialog

__all__ = ["AskSignature", "SignatureDialog", "Verify", "ask_signature"]

Verify = Callable[[str, str, Meaning], Signature]
"""``Engine.verify_signature(account, password, meaning)``: blocks; raises naming why."""

AskSignature = Callable[[QWidget, str, str, Meaning, Verify], Signature | None]
"""``(parent, what is signed, account, meaning offered, the check)``: the Signature,
or None. ``account`` "": a second person types their own."""


class SignatureDialog(CheckedDialog):
    """``answer``: the Signature once accepted. ``account``: who signs (the logged-in
    person; a second person for a review types their own)."""

    def __init__(
        self,
        what: str,
        account: str,
        verify: Verify,
        meaning: Meaning = Meaning.AUTHORED,
        *,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__("Sign", "Sign", parent)
        self._verify = verify
        self.what = QLabel(f"Sign: {what}", wordWrap=True)
        self.account = QLineEdit(account)
        self.password = QLineEdit(echoMode=QLineEdit.EchoMode.Password)
        self.password.setPlaceholderText("your password again")
        self.meaning = QComboBox()
        for m in Meaning:
            self.meaning.addItem(m.value, m)
        self.meaning.setCurrentIndex(list(Meaning).index(meaning))
        self.form.addRow(self.what)
        self.form.addRow("Account", self.account)
        self.form.addRow("Password", self.password)
        self.form.addRow("Meaning", self.meaning)
        self.finish_form()
        self.password.setFocus()

    def problem(self) -> str:
        if not self.account.text().strip() or not self.password.text():
            return "Type the account and its password to sign."
        return ""

    def call(self) -> Callable[[], Any]:
        account, password = self.account.text().strip(), self.password.text()
        meaning = Meaning(self.meaning.currentData())  # the combo keeps it as text
        return lambda: self._verify(account, password, meaning)

    def refusal_words(self, error: Exception) -> str:
        return f"Not signed: {error}"

    def refused(self, error: Exception) -> None:
        self.password.clear()


def ask_signature(
    parent: QWidget, what: str, account: str, meaning: Meaning, verify: Verify
) -> Signature | None:
    """The AskSignature of the console: a SignatureDialog checked by ``verify``."""
    dialog = SignatureDialog(what, account, verify, meaning, parent=parent)
    dialog.exec()
    answer: Signature | None = dialog.answer
    return answer
