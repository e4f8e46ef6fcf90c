"""Greying what the logged-in account may not do, with a tooltip that says why.

The engine checks every command's permission (domain.accounts); the window only greys
what the engine would refuse anyway, so an operator is not offered a button that can
only fail. A panel decides what is *possible now* (a run to stop, an alarm to
acknowledge); ``gate`` adds *who may*: the widget is enabled when both hold, and its
tooltip names the missing permission when the account lacks it.

A panel on its own (a test, a dialog) is gated by ``CONSOLE``, which may everything;
the window hands each panel the logged-in account (None: nobody, which may nothing).
"""

from __future__ import annotations

from PySide6.QtGui import QAction
from PySide6.QtWidgets import QWidget

from ald_gui.domain.accounts import Actor, Permission, PermissionDenied

__all__ = ["allowed", "gate", "refusal_text"]

_OWN_TIP = "plainToolTip"  # the widget's own tooltip, kept while a refusal shows


def allowed(actor: Actor | None, permission: Permission) -> bool:
    return actor is not None and actor.may(permission)


def refusal_text(actor: Actor | None, permission: Permission) -> str:
    """What the engine would answer: "alice (viewer) lacks the permission to start a
    run", "nobody is logged in: log in to start a run"."""
    return str(PermissionDenied(actor, permission))


def gate(
    widget: QWidget | QAction, possible: bool, permission: Permission, actor: Actor | None
) -> None:
    """Enable ``widget`` when it is ``possible`` now and ``actor`` holds ``permission``;
    while the actor lacks it, the tooltip says so (the widget's own tooltip after it)."""
    own = widget.property(_OWN_TIP)
    if own is None:
        own = widget.toolTip()
        widget.setProperty(_OWN_TIP, own)
    may = allowed(actor, permission)
    widget.setEnabled(possible and may)
    if may:
        widget.setToolTip(str(own))
    else:
        why = refusal_text(actor, permission)
        widget.setToolTip(f"{why}\n{own}" if own else why)
