"""Signed actions at the window: a recipe released by an engineer who signs it (the
library's release names them, the audit entry carries the signature), an abort sent at
once and signed after (or recorded as not signed). The real signature dialog checked
by the engine; PostgreSQL, simulator."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from pytestqt.qtbot import QtBot

from ald_gui.config.models import AppConfig
from ald_gui.domain.accounts import Role
from ald_gui.domain.audit import Meaning
from ald_gui.domain.commands import AbortRun, Command
from ald_gui.ui.main_window import MainWindow
from ald_gui.ui.signature_dialog import AskSignature
from tests.accounts_window import (
    ADMIN,
    ADMIN_PASSWORD,
    Signer,
    console_config,
    log_in,
    open_window,
    people,
)
from tests.test_ui_recipe_editor import supercycle


@pytest.fixture
def signer(qtbot: QtBot) -> Signer:
    return Signer(qtbot)


@pytest.fixture
def window(
    sim_config: AppConfig,
    migrated_pg_dsn: str,
    tmp_path: Path,
    qtbot: QtBot,
    signer: Signer,
    request: pytest.FixtureRequest,
) -> Iterator[MainWindow]:
    """Erin (engineer), Otto (operator) and Ada (administrator); parametrized True, a
    release needs a second person's signature."""
    accounts = people(("erin", Role.ENGINEER), ("otto", Role.OPERATOR))
    ask: AskSignature = signer
    config = console_config(
        sim_config, release_needs_second_person=getattr(request, "param", False)
    )
    w = open_window(config, migrated_pg_dsn, tmp_path, qtbot, accounts=accounts, ask_signature=ask)
    yield w
    w.close()


def _entries(dsn: str, action: str) -> list[tuple[str, str, list[dict[str, str]]]]:
    """(account, object, signatures) of the stored entries of ``action``, in order."""
    with psycopg.connect(dsn) as conn:
        rows = conn.execute(
            "SELECT account, object, signatures FROM audit_entries WHERE action = %s"
            " ORDER BY position",
            (action,),
        ).fetchall()
    return [(r[0], r[1], r[2]) for r in rows]


def test_an_engineer_releases_a_recipe_signed_and_an_operator_may_not(
    window: MainWindow, qtbot: QtBot, signer: Signer, migrated_pg_dsn: str
) -> None:
    log_in(window, qtbot, "erin", "erin password")
    page = window.recipes
    page.editor.open_recipe(supercycle())
    saved = page.save()
    assert saved is not None
    assert page.choose_version(saved.name, saved.version)
    assert page.release_button.isEnabled()

    signer.password = None  # Cancel: nothing released
    page.release_button.click()
    assert window.library is not None
    assert window.library.release_of(saved.name, saved.version) is None
    signer.password = "not erin's"
    page.release_button.click()
    assert window.library.release_of(saved.name, saved.version) is None
    signer.password = "erin password"
    page.release_button.click()
    release = window.library.release_of(saved.name, saved.version)
    assert release is not None and release.by == "erin"
    what = f"release {saved.name} v{saved.version}"
    assert signer.asked[-1] == (what, "erin", Meaning.APPROVED)
    assert not page.release_button.isEnabled()  # released: nothing more to release
    qtbot.waitUntil(lambda: len(_entries(migrated_pg_dsn, "recipe release")) == 1, timeout=15000)
    [(account, obj, signatures)] = _entries(migrated_pg_dsn, "recipe release")
    assert (account, obj) == ("erin", f"{saved.name} v{saved.version}")
    assert signatures == [{"account": "erin", "full_name": "", "meaning": "approved"}]

    log_in(window, qtbot, "otto", "otto password")
    page.editor.open_recipe(supercycle().model_copy(update={"name": "another"}))
    other = page.save()
    assert other is not None
    assert page.choose_version(other.name, other.version)
    assert not page.release_button.isEnabled()
    assert "lacks the permission to release a recipe" in page.release_button.toolTip()


def test_an_abort_goes_at_once_and_is_signed_after_or_recorded_as_not_signed(
    window: MainWindow, qtbot: QtBot, signer: Signer, migrated_pg_dsn: str
) -> None:
    log_in(window, qtbot, "otto", "otto password")
    sent: list[Command] = []
    said: list[str] = []
    window.accounts.signed.said.connect(said.append)

    def send(command: Command) -> None:  # sent before anyone is asked to sign
        assert len(signer.asked) == asked_before
        sent.append(command)

    signer.password = None
    asked_before = len(signer.asked)
    window.accounts.signed.submit(AbortRun("pressure runaway"), send)
    assert sent == [AbortRun("pressure runaway")]
    assert said == ["Aborted, but the abort was not signed: abort the run: pressure runaway"]
    unsigned = "abort not signed"
    qtbot.waitUntil(lambda: len(_entries(migrated_pg_dsn, unsigned)) == 1, timeout=15000)
    assert _entries(migrated_pg_dsn, unsigned)[0][:2] == ("otto", "abort the run: pressure runaway")
    signer.password = "otto password"
    asked_before = len(signer.asked)
    window.accounts.signed.submit(AbortRun("pressure runaway"), send)
    assert sent == [AbortRun("pressure runaway")] * 2
    assert signer.asked[-1] == ("abort the run: pressure runaway", "otto", Meaning.AUTHORED)
    qtbot.waitUntil(lambda: len(_entries(migrated_pg_dsn, "signature")) == 1, timeout=15000)
    [(account, obj, signatures)] = _entries(migrated_pg_dsn, "signature")
    assert (account, obj) == ("otto", "abort the run: pressure runaway")
    assert [s["meaning"] for s in signatures] == ["authored"]


@pytest.mark.parametrize("window", [True], indirect=True)
def test_a_release_needing_a_second_person_takes_another_account_that_may_release(
    window: MainWindow, qtbot: QtBot, signer: Signer, migrated_pg_dsn: str
) -> None:
    log_in(window, qtbot, "erin", "erin password")
    page = window.recipes
    page.editor.open_recipe(supercycle())
    saved = page.save()
    assert saved is not None and page.choose_version(saved.name, saved.version)
    assert window.library is not None
    signer.password = "erin password"
    for second, why in (
        (("erin", "erin password"), "the second person must be another account than erin"),
        (("otto", "otto password"), "otto (operator) lacks the permission to release a recipe"),
    ):
        signer.second = second
        page.release_button.click()
        assert signer.said == f"Not signed: {why}"
        assert window.library.release_of(saved.name, saved.version) is None
    signer.second = (ADMIN, ADMIN_PASSWORD)
    page.release_button.click()
    assert window.library.release_of(saved.name, saved.version) is not None
    assert signer.asked[-1][1:] == ("", Meaning.REVIEWED)
    qtbot.waitUntil(lambda: len(_entries(migrated_pg_dsn, "recipe release")) == 1, timeout=15000)
    [(account, _obj, signatures)] = _entries(migrated_pg_dsn, "recipe release")
    assert account == "erin"
    assert [(s["account"], s["meaning"]) for s in signatures] == [
        ("erin", "approved"),
        (ADMIN, "reviewed"),
    ]
