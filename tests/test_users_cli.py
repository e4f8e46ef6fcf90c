"""``ald-gui users``: the first administrator, then accounts changed by an administrator
who logs in for it, against the embedded database the command brings up itself."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from ald_gui.cli import main


def _users(data_dir: Path, *args: str) -> int:
    return main(["users", *args, "--data-dir", str(data_dir)])


def test_the_first_administrator_then_changes_by_that_administrator(
    pg_tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    data = pg_tmp_path / "data"
    monkeypatch.setenv("ADMIN_PW", "correct horse battery")
    monkeypatch.setenv("OLGA_PW", "olga's first one")
    monkeypatch.setenv("WRONG_PW", "not ada's password")
    made = ("create-admin", "ada", "--full-name", "Ada Admin", "--password-env", "ADMIN_PW")
    assert _users(data, *made) == 0
    assert "administrator ada made" in capsys.readouterr().out
    assert _users(data, *made) == 1
    assert "an administrator exists already (ada)" in capsys.readouterr().err

    add = ("add", "olga", "--role", "operator", "--password-env", "OLGA_PW", "--as", "ada")
    assert _users(data, *add, "--as-password-env", "WRONG_PW") == 1
    assert "wrong user name or password" in capsys.readouterr().err
    assert _users(data, *add, "--as-password-env", "NOT_SET") == 2
    assert "NOT_SET is not set" in capsys.readouterr().err
    assert _users(data, *add, "--as-password-env", "ADMIN_PW") == 0
    assert _users(data, "disable", "olga", "--as", "ada", "--as-password-env", "ADMIN_PW") == 0
    capsys.readouterr()
    assert _users(data, "list") == 0
    assert capsys.readouterr().out.splitlines() == [
        "ada (Ada Admin): administrator, enabled",
        "olga: operator, disabled, must change password",
    ]
    # A disabled account cannot make changes, whatever its role.
    assert _users(data, "enable", "olga", "--as", "olga", "--as-password-env", "OLGA_PW") == 1
    assert "the account is disabled" in capsys.readouterr().err

    # Every change, and the refused attempt, is in the machine's audit trail, which holds.
    trail = pg_tmp_path / "trail.csv"
    export = ("audit", "export", "--since", "1d", "--format", "csv", "-o", str(trail))
    assert main([*export, "--data-dir", str(data)]) == 0
    with trail.open(encoding="utf-8") as f:
        done = [(r["account"], r["action"], r["object"]) for r in csv.DictReader(f)]
    assert done == [
        ("ada", "administrator create", "ada"),
        ("console", "signature failed", "ada"),
        ("ada", "user create", "olga"),
        ("ada", "user disable", "olga"),
    ], done
    capsys.readouterr()
    assert main(["audit", "verify", "--data-dir", str(data)]) == 0
    assert "4 audit entries, chain whole" in capsys.readouterr().out
