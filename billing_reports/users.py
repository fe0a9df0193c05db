"""The dashboard's users file and ``billing-reports users`` (add, remove, passwd, list).

The file (env ``BILLING_USERS_FILE``, default ``warehouse/users.toml``) is TOML, one table per
user, written only by this module (atomically, mode 0600)::

    [users."ann@acme.example"]
    role = "client"
    client_id = "ACME"
    branches = ["NE", "SW"]
    approver = true
    password_hash = "$argon2id$v=19$m=65536,t=3,p=4$..."

* ``role`` is ``ops`` (the provider's operations staff: every client) or ``client`` (a biller's
  manager: only ``client_id``, and only ``branches`` where a report has a branch).
* ``approver = true`` (client users only, ``users add --approver``): the user may decide their
  client's jobs awaiting customer approval (``billing_reports.approvals``). Ops users decide the
  ops stage by their role.
* Passwords are stored as argon2id hashes (argon2-cffi), never in plain text.
* Usernames are case-insensitive: they are stored and compared in lower case.

The file is read strictly: an unknown key (``brances`` for ``branches``) or a client without a
``client_id`` makes it invalid rather than quietly widening what a user may see.
"""

from __future__ import annotations

import argparse
import contextlib
import getpass
import re
import stat
import sys
import threading
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from billing_reports import fileio
from billing_reports.settings import DEFAULT_USERS_FILE, users_file

ROLES = ("ops", "client")
USERNAME = re.compile(r"[a-z0-9][a-z0-9._@+-]{0,127}")
#: Client ids and branch codes: printable, no quotes or control characters, at most 128 long.
CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9 ._:/@&+-]{0,127}")
#: Why an approver sees every branch of their client.
APPROVER_WITH_BRANCHES = "an approver decides a whole job, so must see all of its documents, not only some branches"
USER_KEYS = {"role", "client_id", "branches", "password_hash", "approver"}


class UsersFileError(ValueError):
    """The users file cannot be read or is not valid."""


class UsersFileMissing(UsersFileError, FileNotFoundError):
    """There is no users file yet."""


@dataclass(frozen=True)
class User:
    """One user of the dashboard."""

    username: str
    role: str  # "ops" or "client"
    password_hash: str
    client_id: str | None = None
    branches: tuple[str, ...] | None = None  # None: every branch of the client
    approver: bool = False  # a client user who may decide their client's customer approvals

    def describe(self) -> str:
        if self.role == "ops":
            return "operations (every client)"
        branches = f", branches {', '.join(self.branches)}" if self.branches else ""
        approver = ", approver" if self.approver else ""
        return f"client {self.client_id}{branches}{approver}"


def normalize_username(name: str) -> str:
    return name.strip().lower()


def valid_username(name: str) -> bool:
    return bool(USERNAME.fullmatch(name))


# --------------------------------------------------------------------------------------------
# Passwords (argon2id)
# --------------------------------------------------------------------------------------------


def _hasher():
    from argon2 import PasswordHasher

    return PasswordHasher()


def hash_password(password: str) -> str:
    """An argon2id hash of ``password`` (argon2-cffi's defaults: 64 MiB, 3 passes)."""
    if not password:
        raise ValueError("empty password")
    return _hasher().hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """Whether ``password`` matches ``password_hash``; False for a wrong password or a bad hash."""
    from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

    if not password:
        return False
    try:
        return _hasher().verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError, ValueError):
        return False


_DUMMY_HASH: str | None = None
_DUMMY_HASH_LOCK = threading.Lock()


def prepare_dummy_hash() -> str:
    """The hash an unknown username is checked against, made once. The dashboard calls this at
    start-up, so that the first unknown username does not answer slower (hashing + checking)."""
    global _DUMMY_HASH
    with _DUMMY_HASH_LOCK:
        if _DUMMY_HASH is None:
            _DUMMY_HASH = hash_password("not a password of anyone")
        return _DUMMY_HASH


def burn_verification_time(password: str) -> None:
    """Spend as long as a real check does, so that an unknown username does not answer faster."""
    verify_password(prepare_dummy_hash(), password or "-")


# --------------------------------------------------------------------------------------------
# Reading and writing the file
# --------------------------------------------------------------------------------------------


def parse_users(text: str, source: str = "the users file") -> dict[str, User]:
    """The users of a users file's text; raises UsersFileError on anything unexpected."""
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise UsersFileError(f"{source} is not valid TOML: {error}") from error
    unknown = set(document) - {"users"}
    if unknown:
        raise UsersFileError(f"{source}: unexpected top-level keys {sorted(unknown)}")
    tables = document.get("users", {})
    if not isinstance(tables, Mapping):
        raise UsersFileError(f"{source}: `users` must be a table of users")
    users: dict[str, User] = {}
    for name, entry in tables.items():
        where = f"{source}: user {name!r}"
        if not isinstance(entry, Mapping):
            raise UsersFileError(f"{where} must be a table")
        if name != normalize_username(name) or not valid_username(name):
            raise UsersFileError(f"{where}: a username is lower case letters, digits and . _ @ + -")
        extra = set(entry) - USER_KEYS
        if extra:
            raise UsersFileError(f"{where}: unknown keys {sorted(extra)} (expected {sorted(USER_KEYS)})")
        role = entry.get("role")
        if role not in ROLES:
            raise UsersFileError(f"{where}: role must be one of {list(ROLES)}, not {role!r}")
        password_hash = entry.get("password_hash")
        if not isinstance(password_hash, str) or not password_hash.startswith("$argon2"):
            raise UsersFileError(f"{where}: password_hash must be an argon2 hash (set it with `users passwd`)")
        client_id = entry.get("client_id")
        branches = entry.get("branches")
        if role == "ops":
            if client_id is not None or branches is not None:
                raise UsersFileError(f"{where}: an ops user sees every client; client_id and branches are for clients")
        else:
            if not isinstance(client_id, str) or not CODE.fullmatch(client_id):
                raise UsersFileError(f"{where}: a client user needs a client_id")
            if branches is not None:
                if (
                    not isinstance(branches, list)
                    or not branches
                    or not all(isinstance(code, str) and CODE.fullmatch(code) for code in branches)
                ):
                    raise UsersFileError(f"{where}: branches must be a non-empty list of branch codes (or absent)")
                branches = tuple(dict.fromkeys(branches))
        approver = entry.get("approver", False)
        if not isinstance(approver, bool):
            raise UsersFileError(f"{where}: approver must be true or false")
        if approver and role != "client":
            raise UsersFileError(f"{where}: approver is for client users; ops users decide the ops stage by role")
        if approver and branches is not None:
            raise UsersFileError(f"{where}: {APPROVER_WITH_BRANCHES}")
        users[name] = User(name, role, password_hash, client_id, branches, approver)
    return users


def load_users(path: Path | None = None) -> dict[str, User]:
    """The users of the users file; UsersFileMissing when there is none."""
    path = path or users_file()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as error:
        raise UsersFileMissing(f"there is no users file at {path}") from error
    except (OSError, UnicodeDecodeError) as error:
        raise UsersFileError(f"the users file {path} cannot be read: {error}") from error
    refuse_writable_by_others(path)
    return parse_users(text, source=str(path))


def refuse_writable_by_others(path: Path) -> None:
    """A users file that another account may write could give anyone any role: refuse it."""
    try:
        mode = path.stat().st_mode
    except OSError as error:
        raise UsersFileError(f"the users file {path} cannot be read: {error}") from error
    if mode & (stat.S_IWGRP | stat.S_IWOTH):
        raise UsersFileError(
            f"the users file {path} can be written by other accounts (mode {stat.S_IMODE(mode):04o}), so anyone "
            f"could make themselves a user; it is refused until you run: chmod 600 {path}"
        )


def _toml_string(value: str) -> str:
    escaped = []
    for character in value:
        if character in '"\\':
            escaped.append("\\" + character)
        elif ord(character) < 0x20 or ord(character) == 0x7F:
            escaped.append(f"\\u{ord(character):04x}")
        else:
            escaped.append(character)
    return '"' + "".join(escaped) + '"'


def render_users(users: Mapping[str, User]) -> str:
    """The users file's text (TOML) for ``users``."""
    lines = [
        "# Users of the billing dashboard. Managed with `billing-reports users add|remove|passwd|list`;",
        '# passwords are argon2id hashes. role = "ops" sees every client; role = "client" sees only',
        "# client_id (and only `branches`, where a report has a branch).",
    ]
    for name in sorted(users):
        user = users[name]
        lines += ["", f"[users.{_toml_string(name)}]", f"role = {_toml_string(user.role)}"]
        if user.client_id is not None:
            lines.append(f"client_id = {_toml_string(user.client_id)}")
        if user.branches:
            lines.append(f"branches = [{', '.join(_toml_string(code) for code in user.branches)}]")
        if user.approver:
            lines.append("approver = true")
        lines.append(f"password_hash = {_toml_string(user.password_hash)}")
    return "\n".join(lines) + "\n"


def save_users(path: Path, users: Mapping[str, User]) -> None:
    """Write the users file atomically (a temporary file in the same folder, then rename), mode 0600."""
    text = render_users(users)
    parse_users(text)  # never write a file the dashboard would refuse
    fileio.atomic_write_text(path, text, fileio.PRIVATE_FILE_MODE)


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """Serialise read-modify-write of the users file between concurrent `users` commands."""
    with fileio.exclusive_lock(fileio.lock_path(path), wait_seconds=None):
        yield


# --------------------------------------------------------------------------------------------
# billing-reports users ...
# --------------------------------------------------------------------------------------------


def read_new_password(username: str) -> str:
    """A new password: asked twice at a terminal, else the first line of standard input."""
    from billing_reports.cli import UserError

    if sys.stdin is not None and sys.stdin.isatty():
        first = getpass.getpass(f"Password for {username}: ")
        second = getpass.getpass(f"Password for {username} (again): ")
        if first != second:
            raise UserError("the two passwords do not match")
    else:
        line = sys.stdin.readline() if sys.stdin is not None else ""
        first = line.removesuffix("\n").removesuffix("\r")
    if not first:
        raise UserError("empty password: type one, or pipe it on standard input")
    return first


def _username(text: str) -> str:
    name = normalize_username(text)
    if not valid_username(name):
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a valid username: up to 128 letters, digits and . _ @ + - (case-insensitive)"
        )
    return name


def _code(text: str) -> str:
    value = text.strip()
    if not CODE.fullmatch(value):
        raise argparse.ArgumentTypeError(f"{text!r} is not a valid code: letters, digits and . _ : / @ & + - space")
    return value


def _branches(text: str) -> tuple[str, ...]:
    codes = [part.strip() for part in text.split(",") if part.strip()]
    if not codes:
        raise argparse.ArgumentTypeError("--branches needs at least one branch code, e.g. --branches NE,SW")
    return tuple(dict.fromkeys(_code(code) for code in codes))


def _path(args: argparse.Namespace) -> Path:
    return Path(args.file).expanduser() if args.file else users_file()


def _load_for_change(path: Path) -> dict[str, User]:
    from billing_reports.cli import UserError

    try:
        return load_users(path)
    except UsersFileMissing:
        return {}
    except UsersFileError as error:
        raise UserError(str(error)) from error


def cmd_add(args: argparse.Namespace) -> int:
    from billing_reports.cli import EXIT_OK, UserError

    if args.role == "client" and not args.client_id:
        raise UserError("a client user needs --client-id (the client whose bills they may see)")
    if args.role == "ops" and (args.client_id or args.branches):
        raise UserError("an ops user sees every client: --client-id and --branches are for --role client")
    if args.approver and args.role != "client":
        raise UserError("--approver is for --role client: ops users decide the ops stage by their role")
    if args.approver and args.branches:
        raise UserError(f"--approver goes without --branches: {APPROVER_WITH_BRANCHES}")
    path = _path(args)
    with _locked(path):
        users = _load_for_change(path)
        if args.name in users:
            raise UserError(f"user {args.name!r} already exists; use `users passwd` or `users remove` first")
        password = read_new_password(args.name)
        users[args.name] = User(
            args.name, args.role, hash_password(password), args.client_id, args.branches, args.approver
        )
        save_users(path, users)
    print(f"added {args.name}: {users[args.name].describe()} ({path})", file=sys.stderr)
    return EXIT_OK


def cmd_remove(args: argparse.Namespace) -> int:
    from billing_reports.cli import EXIT_OK, UserError

    path = _path(args)
    with _locked(path):
        users = _load_for_change(path)
        if args.name not in users:
            raise UserError(f"no user {args.name!r} in {path}")
        del users[args.name]
        save_users(path, users)
    print(f"removed {args.name} ({path}); their open sessions end at their next click", file=sys.stderr)
    return EXIT_OK


def cmd_passwd(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from billing_reports.cli import EXIT_OK, UserError

    path = _path(args)
    with _locked(path):
        users = _load_for_change(path)
        if args.name not in users:
            raise UserError(f"no user {args.name!r} in {path}")
        password = read_new_password(args.name)
        users[args.name] = replace(users[args.name], password_hash=hash_password(password))
        save_users(path, users)
    print(f"changed the password of {args.name} ({path}); their open sessions end", file=sys.stderr)
    return EXIT_OK


def cmd_list(args: argparse.Namespace) -> int:
    from billing_reports.cli import EXIT_OK, UserError

    path = _path(args)
    try:
        users = load_users(path)
    except UsersFileMissing:
        print(f"no users yet ({path}); add one with `billing-reports users add NAME --role ops`", file=sys.stderr)
        return EXIT_OK
    except UsersFileError as error:
        raise UserError(str(error)) from error
    rows = [("username", "role", "client", "branches", "decides")] + [
        (
            user.username,
            user.role,
            user.client_id or "(all)",
            ",".join(user.branches or ()) or "(all)",
            "ops stage" if user.role == "ops" else ("customer stage" if user.approver else "-"),
        )
        for user in (users[name] for name in sorted(users))
    ]
    widths = [max(len(row[column]) for row in rows) for column in range(5)]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
    return EXIT_OK


def register(subparsers: argparse._SubParsersAction) -> None:
    users = subparsers.add_parser(
        "users",
        help="manage the dashboard's users (add, remove, passwd, list)",
        description="Manage the users of the dashboard's sign-in: the users file (env BILLING_USERS_FILE, "
        f"default {DEFAULT_USERS_FILE}), TOML, mode 0600, argon2id password hashes. Passwords are asked "
        "twice at a terminal, or read from the first line of standard input when it is not a terminal.",
    )
    users.set_defaults(func=lambda _args: users.print_help() or 2)
    commands = users.add_subparsers(dest="users_command", metavar="ACTION")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--file", help=f"the users file (default: BILLING_USERS_FILE or {DEFAULT_USERS_FILE})")

    add = commands.add_parser(
        "add",
        parents=[common],
        help="add a user",
        description="Add a user. --role ops sees every client; --role client sees only --client-id "
        "(and, with --branches, only those branches where a report has a branch).",
    )
    add.add_argument("name", type=_username, help="the username (case-insensitive; an e-mail address is fine)")
    add.add_argument("--role", required=True, choices=ROLES, help="ops (every client) or client (one client)")
    add.add_argument("--client-id", type=_code, help="the client a client user sees (required for --role client)")
    add.add_argument("--branches", type=_branches, metavar="B1,B2", help="limit a client user to these branches")
    add.add_argument(
        "--approver",
        action="store_true",
        help="a client user who may approve or reject their client's jobs awaiting customer approval "
        "(ops users decide the ops stage by their role)",
    )
    add.set_defaults(func=cmd_add)

    remove = commands.add_parser("remove", parents=[common], help="remove a user", description="Remove a user.")
    remove.add_argument("name", type=_username)
    remove.set_defaults(func=cmd_remove)

    passwd = commands.add_parser(
        "passwd",
        parents=[common],
        help="set a user's password",
        description="Set a user's password (their open sessions end).",
    )
    passwd.add_argument("name", type=_username)
    passwd.set_defaults(func=cmd_passwd)

    listing = commands.add_parser(
        "list", parents=[common], help="list the users (never their hashes)", description="List the users."
    )
    listing.set_defaults(func=cmd_list)
