"""``ald-gui recipe release`` as an electronic signature: the releasing account's
password again, a second person's where the configuration asks for one, a reason where
it is required; the release and its signatures recorded in the audit trail, and a
release refused, naming why, when any of it is missing."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from ald_gui.config import paths
from ald_gui.config.models import AppConfig
from ald_gui.domain.accounts import Role
from ald_gui.store.accounts import AccountBook
from ald_gui.store.audit_verify import verify_chains
from ald_gui.store.recipe_library import RecipeLibrary
from tests.ald_process import write_plant_config
from tests.test_recipe_library_cmd import NAME, _file, _recipe, _run

PASSWORDS = {"alice": "alice's long secret", "bob": "bob's long secret", "olga": "olga's secret!"}


@pytest.fixture
def plant(tmp_path: Path, reference_config: AppConfig, migrated_pg_dsn: str) -> Path:
    accounts = reference_config.accounts.model_copy(
        update={
            "release_needs_second_person": True,
            "reason_required_for": (*reference_config.accounts.reason_required_for, "release"),
        }
    )
    config = reference_config.model_copy(update={"accounts": accounts})
    return write_plant_config(tmp_path, config, migrated_pg_dsn)


@pytest.fixture
def people(
    tmp_path: Path, reference_config: AppConfig, migrated_pg_dsn: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    """alice (administrator), bob (engineer), olga (operator: may not release)."""
    book = AccountBook(
        migrated_pg_dsn, paths.accounts_copy_path(tmp_path / "data"), reference_config.accounts
    )
    admin = book.create_first_administrator("alice", "Alice Example", PASSWORDS["alice"]).actor
    for user, role in (("bob", Role.ENGINEER), ("olga", Role.OPERATOR)):
        book.add(admin, user, user.title(), role, "set by the administrator")
        book.change_password(user, "set by the administrator", PASSWORDS[user])
    for user, password in PASSWORDS.items():
        monkeypatch.setenv(f"{user.upper()}_PW", password)
    monkeypatch.setenv("WRONG_PW", "not the password")


def _release(
    capsys: pytest.CaptureFixture[str], plant: Path, data: Path, *extra: str
) -> tuple[int, str, str]:
    return _run(
        capsys, "recipe", "release", NAME, "--version", "1", "--by", "alice",
        "--password-env", "ALICE_PW", "--config", plant, "--data-dir", data, *extra,
    )  # fmt: skip


def _entries(dsn: str) -> list[tuple[object, ...]]:
    with psycopg.connect(dsn) as conn:
        return conn.execute(
            "SELECT account, role, action, object, before, after, reason, signatures"
            " FROM audit_entries WHERE action = 'recipe release'"
        ).fetchall()


def test_a_release_needs_both_signatures_and_a_reason_and_is_in_the_trail(
    tmp_path: Path, plant: Path, people: None, migrated_pg_dsn: str,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    data = tmp_path / "data"
    status, _, err = _run(capsys, "recipe", "import", _file(tmp_path, _recipe()),
                          "--config", plant, "--data-dir", data)  # fmt: skip
    assert status == 0, err
    refusals = [
        (("--reason", "qualified"),
         "a release needs a second person ([accounts] release_needs_second_person)"),
        (("--second", "bob", "--second-password-env", "BOB_PW"),
         "a reason is required to release a recipe"),
        (("--second", "olga", "--second-password-env", "OLGA_PW", "--reason", "qualified"),
         "olga (operator) lacks the permission to release a recipe"),
        (("--second", "bob", "--second-password-env", "WRONG_PW", "--reason", "qualified"),
         "the signature of bob: wrong user name or password"),
        (("--second", "alice", "--second-password-env", "ALICE_PW", "--reason", "qualified"),
         "the second person must be another account than alice"),
    ]  # fmt: skip
    for extra, why in refusals:
        status, _, err = _release(capsys, plant, data, *extra)
        assert status == 1 and "not released" in err and why in err, (extra, err)
    library = RecipeLibrary.of_data_dir(data)
    assert library.release_of(NAME, 1) is None and _entries(migrated_pg_dsn) == []

    status, out, err = _release(capsys, plant, data, "--second", "bob", "--second-password-env",
                                "BOB_PW", "--reason", "qualified on wafer 12")  # fmt: skip
    assert status == 0, err
    assert "released by alice" in out
    release = library.release_of(NAME, 1)
    assert release is not None and release.by == "alice"
    [entry] = _entries(migrated_pg_dsn)
    assert entry == (
        "alice", "administrator", "recipe release", f"{NAME} v1", "draft",
        f"released, SHA-256 {release.sha256}", "qualified on wafer 12",
        [{"account": "alice", "full_name": "Alice Example", "meaning": "approved"},
         {"account": "bob", "full_name": "Bob", "meaning": "reviewed"}],
    )  # fmt: skip
    with psycopg.connect(migrated_pg_dsn) as conn:
        assert all(c.ok for c in verify_chains(conn))
    # Released once: asking again signs nothing and adds no entry.
    status, out, _ = _release(capsys, plant, data)
    assert status == 0 and "was released by alice" in out
    assert len(_entries(migrated_pg_dsn)) == 1
