"""`billing-reports users add|remove|passwd|list`: the dashboard's users file (issue 8)."""

from __future__ import annotations

import io
import os
import stat
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from billing_reports import cli, fileio, users
from tests.dashboard.conftest import PROJECT_DIR


@pytest.fixture
def users_path(tmp_path, monkeypatch) -> Path:
    path = tmp_path / "conf" / "users.toml"
    monkeypatch.setenv("BILLING_USERS_FILE", str(path))
    return path


def run(monkeypatch, *argv: str, stdin: str = "") -> int:
    """The command line with ``stdin`` as standard input (not a terminal)."""
    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    return cli.main(["users", *argv])


def test_add_writes_an_argon2_hash_never_the_password(users_path, monkeypatch, capsys):
    assert (
        run(monkeypatch, "add", "Ann@Acme.example", "--role", "client", "--client-id", "ACME", stdin="s3cret pw\n") == 0
    )
    assert run(monkeypatch, "add", "olivia", "--role", "ops", stdin="ops pw\n") == 0
    assert (
        run(
            monkeypatch, "add", "ned", "--role", "client", "--client-id", "ACME", "--branches", "NE, SW,NE", stdin="x\n"
        )
        == 0
    )
    text = users_path.read_text()
    assert "s3cret" not in text and "ops pw" not in text
    document = tomllib.loads(text)["users"]
    assert set(document) == {"ann@acme.example", "olivia", "ned"}  # usernames are lower case
    assert document["ann@acme.example"]["role"] == "client"
    assert document["ann@acme.example"]["client_id"] == "ACME"
    assert document["ned"]["branches"] == ["NE", "SW"]
    assert "client_id" not in document["olivia"]
    assert document["olivia"]["password_hash"].startswith("$argon2id$")
    loaded = users.load_users(users_path)
    assert users.verify_password(
        loaded["ann@acme.example"].password_hash, "s3cret pw"
    )  # the trailing newline is not part of it
    assert not users.verify_password(loaded["ann@acme.example"].password_hash, "s3cret pw\n")
    assert stat.S_IMODE(users_path.stat().st_mode) == 0o600
    assert [path.name for path in users_path.parent.iterdir() if path.name.endswith(".tmp")] == []


def test_list_shows_users_without_their_hashes(users_path, monkeypatch, capsys):
    run(monkeypatch, "add", "olivia", "--role", "ops", stdin="pw\n")
    run(monkeypatch, "add", "ned", "--role", "client", "--client-id", "ACME", "--branches", "NE", stdin="pw\n")
    capsys.readouterr()
    assert run(monkeypatch, "list") == 0
    out = capsys.readouterr().out
    assert out.splitlines() == [
        "username  role    client  branches  decides",
        "ned       client  ACME    NE        -",
        "olivia    ops     (all)   (all)     ops stage",
    ]
    assert "argon2" not in out


@pytest.mark.parametrize(
    ("argv", "stdin", "message"),
    [
        (["add", "bob", "--role", "client"], "pw\n", "needs --client-id"),
        (["add", "bob", "--role", "ops", "--client-id", "ACME"], "pw\n", "--client-id and --branches are for"),
        (["add", "olivia", "--role", "ops"], "pw\n", "already exists"),
        (["add", "bob", "--role", "ops"], "\n", "empty password"),
        (["add", "bob", "--role", "ops"], "", "empty password"),
        (["remove", "nobody"], "", "no user 'nobody'"),
        (["passwd", "nobody"], "pw\n", "no user 'nobody'"),
    ],
)
def test_clear_errors_exit_2(users_path, monkeypatch, capsys, argv, stdin, message):
    run(monkeypatch, "add", "olivia", "--role", "ops", stdin="pw\n")
    before = users_path.read_bytes()
    assert run(monkeypatch, *argv, stdin=stdin) == cli.EXIT_USAGE == 2
    assert message in capsys.readouterr().err
    assert users_path.read_bytes() == before  # nothing written


def test_a_bad_username_or_role_is_a_usage_error(users_path, monkeypatch, capsys):
    for argv in (
        ["add", "bad name", "--role", "ops"],
        ["add", "bob", "--role", "admin"],
        ["add", "x'--", "--role", "ops"],
    ):
        with pytest.raises(SystemExit) as stopped:
            run(monkeypatch, *argv, stdin="pw\n")
        assert stopped.value.code == 2
    assert not users_path.exists()


def test_passwd_replaces_the_hash_and_remove_deletes_the_user(users_path, monkeypatch):
    run(monkeypatch, "add", "ann", "--role", "client", "--client-id", "ACME", stdin="old password\n")
    assert run(monkeypatch, "passwd", "ANN", stdin="new password\n") == 0
    ann = users.load_users(users_path)["ann"]
    assert users.verify_password(ann.password_hash, "new password")
    assert not users.verify_password(ann.password_hash, "old password")
    assert (ann.role, ann.client_id) == ("client", "ACME")  # the rest is kept
    assert run(monkeypatch, "remove", "ann") == 0
    assert users.load_users(users_path) == {}


def test_at_a_terminal_the_password_is_asked_twice(users_path, monkeypatch, capsys):
    answers = iter(["first", "second", "same", "same"])
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    monkeypatch.setattr(sys.stdin, "isatty", lambda: True)
    monkeypatch.setattr(users.getpass, "getpass", lambda prompt: next(answers))
    assert cli.main(["users", "add", "olivia", "--role", "ops"]) == 2
    assert "do not match" in capsys.readouterr().err
    assert cli.main(["users", "add", "olivia", "--role", "ops"]) == 0
    assert users.verify_password(users.load_users(users_path)["olivia"].password_hash, "same")


def test_the_file_is_replaced_atomically(users_path, monkeypatch):
    run(monkeypatch, "add", "olivia", "--role", "ops", stdin="pw\n")
    before = users_path.read_bytes()

    def fail(*_args):
        raise OSError("disk full")

    monkeypatch.setattr(fileio.os, "replace", fail)  # the atomic write (billing_reports.fileio)
    with pytest.raises(OSError):
        run(monkeypatch, "add", "bob", "--role", "ops", stdin="pw\n")
    assert users_path.read_bytes() == before
    assert [path.name for path in users_path.parent.iterdir() if path.name.endswith(".tmp")] == []


def test_odd_characters_round_trip_through_the_toml(tmp_path):
    odd = users.User(
        "o.k+1@x-y.example", "client", "$argon2id$v=19$m=8,t=1,p=1$abc$def", 'A "quoted" \\ id', ("B 1", "B/2")
    )
    with pytest.raises(users.UsersFileError):  # quotes are not a client id: refused before writing
        users.save_users(tmp_path / "users.toml", {odd.username: odd})
    fine = users.User("o.k+1@x-y.example", "client", "$argon2id$v=19$m=8,t=1,p=1$abc$def", "A&B: 1/2", ("B 1", "B/2"))
    users.save_users(tmp_path / "users.toml", {fine.username: fine})
    assert users.load_users(tmp_path / "users.toml") == {fine.username: fine}


@pytest.mark.parametrize(
    "text",
    [
        '[users.ann]\nrole = "client"\npassword_hash = "$argon2id$x"\n',  # no client_id
        '[users.ann]\nrole = "client"\nclient_id = "ACME"\nbrances = ["NE"]\npassword_hash = "$argon2id$x"\n',
        '[users.ann]\nrole = "client"\nclient_id = "ACME"\nbranches = []\npassword_hash = "$argon2id$x"\n',
        '[users.ann]\nrole = "admin"\npassword_hash = "$argon2id$x"\n',
        '[users.ann]\nrole = "ops"\npassword = "plain text"\n',
        '[users.Ann]\nrole = "ops"\npassword_hash = "$argon2id$x"\n',
        "[users.ann\n",
    ],
)
def test_the_users_file_is_read_strictly(text):
    with pytest.raises(users.UsersFileError):
        users.parse_users(text)


def test_the_command_reads_the_password_from_a_pipe(tmp_path):
    """The installed command, as an administrator would run it: `echo ... | billing-reports users add`."""
    path = tmp_path / "users.toml"
    script = Path(sys.executable).with_name("billing-reports")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "billing_reports.cli"]
    environment = {**os.environ, "BILLING_USERS_FILE": str(path)}
    added = subprocess.run(
        [*command, "users", "add", "marie@maple.example", "--role", "client", "--client-id", "MAPLE"],
        input="from a pipe\n",
        capture_output=True,
        text=True,
        cwd=PROJECT_DIR,
        env=environment,
        timeout=60,
    )
    assert added.returncode == 0, added.stderr
    marie = users.load_users(path)["marie@maple.example"]
    assert users.verify_password(marie.password_hash, "from a pipe")


def test_the_default_users_file_is_in_the_warehouse_folder(monkeypatch):
    monkeypatch.delenv("BILLING_USERS_FILE", raising=False)
    assert users.users_file() == PROJECT_DIR / "warehouse" / "users.toml"
