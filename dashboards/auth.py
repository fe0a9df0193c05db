"""Sign-in for the dashboard, and the scope of the signed-in user (docs/security.md).

* ``sign_in()`` runs in ``app.py`` before any page: with nobody signed in it draws the sign-in
  form (or refuses when there is no users file) and the app stops there.
* ``current_scope()`` is what ``dashboards.data`` applies to every query. It is worked out on
  every call from two server-side things only: a signed session object that ``sign_in()`` keeps
  in ``st.session_state`` under a private key, and the users file (``billing_reports.users``),
  re-read whenever it changes. Nothing a page, a widget or a query parameter holds goes into it:
  role, client and branches always come from the users file, so a removed user, a changed
  password or a changed client takes effect at the user's next click.
* A session lasts ``BILLING_SESSION_MINUTES`` (default 480) from sign-in.
* The signed session is bound to the WebSocket connection it was made on: a browser that offers
  the Streamlit session id of another (Streamlit reattaches it) arrives on a new connection, and
  the session is refused. The log never holds a session id, only a keyed digest of it.
* After 3 failed sign-ins in a row for a username (or in one browser session) each further
  attempt must wait 1, 2, 4, … seconds (at most 60). Each attempt is counted before its password
  is checked, and at most ``MAX_PARALLEL_CHECKS`` checks run at once. Failures are logged to
  stderr, without the password; a username that is not a user only as a keyed digest.
* ``BILLING_AUTH=off`` turns sign-in off (everyone sees every client): for a local demo only,
  refused unless the server listens on a loopback address only.
"""

from __future__ import annotations

import contextlib
import contextvars
import hashlib
import hmac
import json
import logging
import math
import re
import secrets
import sys
import threading
import time
import weakref
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import streamlit as st
from streamlit.runtime import Runtime
from streamlit.runtime.scriptrunner import get_script_run_ctx

from billing_reports import settings
from billing_reports import users as user_store
from billing_reports.serve import auth_disabled, auth_off_refusal

#: Where the signed session lives in st.session_state (no widget uses this key).
SESSION_KEY = "_billing_auth_session"
MESSAGE_KEY = "_billing_auth_message"  # what the last sign-in attempt says, shown once
FREE_FAILURES = 3  # failed sign-ins in a row before attempts are slowed down
FIRST_DELAY_SECONDS = 1.0
MAX_DELAY_SECONDS = 60.0
FORGET_FAILURES_AFTER_SECONDS = 15 * 60  # a quiet quarter of an hour starts the count again
MAX_TRACKED = 10_000  # usernames and sessions with recent failures kept in memory
#: Password checks (argon2, 64 MiB each) allowed at once; more wait up to CHECK_WAIT_SECONDS.
MAX_PARALLEL_CHECKS = 4
CHECK_WAIT_SECONDS = 10.0

LOGGER = logging.getLogger("billing_reports.auth")
if not any(getattr(handler, "_billing_auth", False) for handler in LOGGER.handlers):
    _handler = logging.StreamHandler(sys.stderr)
    _handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    _handler._billing_auth = True  # type: ignore[attr-defined]
    LOGGER.addHandler(_handler)
    LOGGER.setLevel(logging.INFO)


# The dummy hash an unknown username is checked against is made now, when the server first loads
# this module (before any sign-in form is drawn), not at the first unknown username: otherwise
# that sign-in would take a hash plus a check, twice as long as a known one.
user_store.prepare_dummy_hash()


def _clock() -> float:
    """Seconds since the epoch (tests move it)."""
    return time.time()


# --------------------------------------------------------------------------------------------
# The scope: which clients (and branches) a user may see
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Scope:
    """What the signed-in user may read. ``role`` "none" (nobody signed in) reads nothing."""

    role: str  # "ops", "client" or "none"
    username: str | None = None
    client_id: str | None = None
    branches: tuple[str, ...] | None = None  # None: every branch of the client
    demo: bool = False  # BILLING_AUTH=off
    signed_in_at: float | None = None
    approver: bool = False  # a client user who may decide their client's customer approvals

    @property
    def is_signed_in(self) -> bool:
        return self.role in ("ops", "client")

    @property
    def is_ops(self) -> bool:
        return self.role == "ops"

    def clients(self, requested: Iterable[str] | None) -> tuple[str, ...] | None:
        """``requested`` (None = every client) limited to this scope; None = no limit, () = none."""
        asked = None if requested is None else tuple(dict.fromkeys(str(value) for value in requested))
        if self.role == "ops":
            return asked
        if self.role == "client" and self.client_id:
            own = (self.client_id,)
            return own if asked is None else tuple(value for value in asked if value in own)
        return ()

    def branch_codes(self, requested: Iterable[str] | None) -> tuple[str, ...] | None:
        """``requested`` branch codes (None = every branch) limited to this scope's branches."""
        asked = None if requested is None else tuple(dict.fromkeys(str(value) for value in requested))
        if self.role == "ops" or (self.role == "client" and self.branches is None):
            return asked
        if self.role == "client":
            return self.branches if asked is None else tuple(value for value in asked if value in self.branches)
        return ()

    def describe(self, client_name: str | None = None) -> str:
        """Whom the user acts for; ``client_name``: the client's name to show instead of its id."""
        if self.demo:
            return "every client (sign-in is off)"
        if self.role == "ops":
            return "operations: every client"
        if self.role == "client":
            branches = f", branches {', '.join(self.branches)}" if self.branches else ""
            return f"client {client_name or self.client_id}{branches}"
        return "not signed in"


NOBODY = Scope("none")
DEMO = Scope("ops", username="demo", demo=True)


def session_seconds() -> float:
    """How long a session lasts, in seconds: ``settings.session_minutes()`` (env
    ``BILLING_SESSION_MINUTES``, default 480; a bad value is a ``SettingsError``)."""
    return settings.session_minutes() * 60


# --------------------------------------------------------------------------------------------
# The users file, re-read when it changes
# --------------------------------------------------------------------------------------------

_users_lock = threading.Lock()
_users_cache: tuple[tuple, dict[str, user_store.User]] | None = None


def load_users() -> dict[str, user_store.User]:
    """The users file's users; re-read when its inode, mtime, size or mode changes."""
    global _users_cache
    path = user_store.users_file()
    try:
        stat = path.stat()
    except FileNotFoundError as error:
        raise user_store.UsersFileMissing(f"there is no users file at {path}") from error
    key = (str(path), stat.st_ino, stat.st_mtime_ns, stat.st_size, stat.st_mode)
    with _users_lock:
        if _users_cache is not None and _users_cache[0] == key:
            return _users_cache[1]
    users = user_store.load_users(path)
    if stat.st_mode & 0o044:  # writable by others is refused by user_store.load_users
        LOGGER.warning("the users file %s can be read by other accounts; run: chmod 600 %s", path, path)
    with _users_lock:
        _users_cache = (key, users)
    return users


# --------------------------------------------------------------------------------------------
# Sessions: signed with a secret of this server process
# --------------------------------------------------------------------------------------------

_SECRET = secrets.token_bytes(32)


def log_digest(kind: str, value: str) -> str:
    """What the log holds instead of a session id or an unknown username: 12 hex characters of an
    HMAC keyed with this process's secret. The same value gives the same digest while the server
    runs (so log lines can be matched up), but without the secret a digest can be neither reversed
    by trying a word list nor turned back into a session id."""
    message = f"{kind}\0{value}".encode("utf-8", "replace")
    return hmac.new(_SECRET, message, hashlib.sha256).hexdigest()[:12]


_UUID = re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b", re.IGNORECASE)


class _SessionIdRedactor(logging.Filter):
    """Streamlit's own log lines name session ids (e.g. "Session with id … is already connected!"):
    each id (a UUID) is replaced by its keyed digest before the line is written."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if _UUID.search(message):
            record.msg = _UUID.sub(lambda found: f"<session {log_digest('session', found.group(0))}>", message)
            record.args = None
        return True


def _redact_streamlit_logs() -> None:
    """Add the redactor to every Streamlit logger (each has its own handler and does not propagate)."""
    from streamlit import logger as streamlit_logger

    loggers = {logging.getLogger("streamlit"), *getattr(streamlit_logger, "_loggers", {}).values()}
    for each in loggers:
        if not any(isinstance(existing, _SessionIdRedactor) for existing in each.filters):
            each.addFilter(_SessionIdRedactor())


_redact_streamlit_logs()


# --------------------------------------------------------------------------------------------
# The connection a session was signed in on
# --------------------------------------------------------------------------------------------

# Streamlit reattaches a session to any WebSocket that offers its id (a reconnecting tab does).
# The id is no secret (it travels in the page and used to be logged), so a signed-in session is
# also bound to a random token of the WebSocket connection it was signed in on. The token lives
# only in this process's memory, keyed by Streamlit's client object of that connection; a
# connection that offers a session id gets a new client object, hence another token.
_connection_tokens: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_connection_lock = threading.Lock()
_NO_SERVER = "no-server"  # an AppTest or a bare script: there is no WebSocket at all


def _connection_token() -> str | None:
    """The random token of this run's WebSocket connection; None when it has none (disconnected)."""
    if not Runtime.exists() or type(Runtime.instance()) is not Runtime:
        return _NO_SERVER  # no server: a bare script, or an AppTest (whose Runtime is a stand-in)
    context = get_script_run_ctx()
    if context is None:
        return None
    client = Runtime.instance().get_client(context.session_id)
    if client is None:
        return None
    with _connection_lock:
        token = _connection_tokens.get(client)
        if token is None:
            token = secrets.token_hex(16)
            _connection_tokens[client] = token
        return token


def _connection_digest(token: str | None) -> str:
    if token is None:
        return ""
    return hmac.new(_SECRET, f"connection\0{token}".encode(), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class Session:
    """A signed-in session, kept in st.session_state[SESSION_KEY]."""

    username: str
    signed_in_at: float  # seconds since the epoch
    signature: str
    connection: str = ""  # the digest of the connection it was signed in on


def _signature(username: str, signed_in_at: float, password_hash: str, connection: str = "") -> str:
    # The password hash is part of the message: a new password ends the user's open sessions.
    message = json.dumps([username, repr(float(signed_in_at)), password_hash, connection]).encode("utf-8")
    return hmac.new(_SECRET, message, hashlib.sha256).hexdigest()


def new_session(user: user_store.User, signed_in_at: float | None = None) -> Session:
    """A session for ``user``, signed in at ``signed_in_at`` (default now), on this run's connection."""
    when = _clock() if signed_in_at is None else float(signed_in_at)
    connection = _connection_digest(_connection_token())
    return Session(user.username, when, _signature(user.username, when, user.password_hash, connection), connection)


@dataclass(frozen=True)
class _Check:
    scope: Scope
    problem: str | None = None  # None, "signed_out", "invalid", "unknown_user", "expired", "new_connection"


def _check(session: object, users: dict[str, user_store.User]) -> _Check:
    if session is None:
        return _Check(NOBODY, "signed_out")
    if not isinstance(session, Session):
        return _Check(NOBODY, "invalid")
    user = users.get(session.username) if isinstance(session.username, str) else None
    if user is None:
        return _Check(NOBODY, "unknown_user")
    try:
        expected = _signature(user.username, session.signed_in_at, user.password_hash, session.connection)
    except (TypeError, ValueError):
        return _Check(NOBODY, "invalid")
    if not isinstance(session.signature, str) or not hmac.compare_digest(expected, session.signature):
        return _Check(NOBODY, "invalid")
    connection = _connection_digest(_connection_token())
    if not connection or not hmac.compare_digest(connection, str(session.connection)):
        return _Check(NOBODY, "new_connection")
    age = _clock() - session.signed_in_at
    if age < -60:
        return _Check(NOBODY, "invalid")
    if age > session_seconds():
        return _Check(NOBODY, "expired")
    return _Check(
        Scope(
            user.role,
            user.username,
            user.client_id,
            user.branches,
            signed_in_at=session.signed_in_at,
            approver=user.approver,
        )
    )


_SERVICE_SCOPE: contextvars.ContextVar[Scope] = contextvars.ContextVar("billing_service_scope", default=NOBODY)


@contextlib.contextmanager
def service_scope(reason: str) -> Iterator[None]:
    """Read every client from code that runs outside the dashboard (a benchmark, a script, a test).

    Ignored inside a Streamlit session, so a page cannot widen its user's scope with it.
    """
    token = _SERVICE_SCOPE.set(Scope("ops", username=f"service:{reason}"))
    try:
        yield
    finally:
        _SERVICE_SCOPE.reset(token)


def current_scope() -> Scope:
    """The scope of this run's signed-in user, re-validated against the users file on every call.

    Outside a Streamlit session nobody is signed in: the scope is NOBODY (reads nothing) unless
    the caller entered ``service_scope``. With ``BILLING_AUTH=off``: every client.
    """
    if auth_disabled():
        return DEMO
    if get_script_run_ctx() is None:
        return _SERVICE_SCOPE.get()
    try:
        users = load_users()
    except user_store.UsersFileError:
        return NOBODY
    return _check(st.session_state.get(SESSION_KEY), users).scope


# --------------------------------------------------------------------------------------------
# Failed sign-ins: counted per username and per browser session, then slowed down
# --------------------------------------------------------------------------------------------


@dataclass
class _Failures:
    count: int = 0
    last_at: float = 0.0
    not_before: float = 0.0
    checking: int = 0  # attempts of this key whose password check has not finished


_failures: OrderedDict[str, _Failures] = OrderedDict()
_failures_lock = threading.Lock()


def delay_after(failures: int) -> float:
    """Seconds to wait before the next attempt after ``failures`` failed sign-ins in a row."""
    if failures < FREE_FAILURES:
        return 0.0
    return min(FIRST_DELAY_SECONDS * 2 ** (failures - FREE_FAILURES), MAX_DELAY_SECONDS)


def _begin_attempt(keys: list[str]) -> tuple[float, int]:
    """(seconds to wait, 0) when an attempt must wait; else (0, failures in a row counting this one).

    The attempt is counted as a failure before its password is checked, in the same locked step
    as the wait is looked up: attempts sent at once cannot all pass before any is counted. While
    counted attempts beyond the free ones are still being checked, the next one waits too (a check
    can take longer than the delay on a busy server). ``_end_attempt`` then starts the delay again
    from the end of a failed check, or clears the count after a successful one.
    """
    now = _clock()
    with _failures_lock:
        waits = [0.0]
        for key in keys:
            entry = _failures.get(key)
            if entry is not None:
                waits.append(entry.not_before - now)
                if entry.checking and entry.count >= FREE_FAILURES:
                    waits.append(delay_after(entry.count))
        wait = max(waits)
        if wait > 0:
            return wait, 0
        return 0.0, _record_failure_locked(keys, now)


def _end_attempt(keys: list[str], correct: bool | None) -> None:
    """The password check of an attempt ended: right (the count is cleared), wrong, or not made."""
    now = _clock()
    with _failures_lock:
        for key in keys:
            entry = _failures.get(key)
            if entry is None:
                continue  # cleared by a successful sign-in meanwhile
            entry.checking = max(0, entry.checking - 1)
            if correct:
                del _failures[key]
            else:
                entry.not_before = max(entry.not_before, now + delay_after(entry.count))


def _record_failure_locked(keys: list[str], now: float) -> int:
    """Count a failure for each key (the caller holds ``_failures_lock``); the highest count."""
    counts = []
    for key in keys:
        entry = _failures.pop(key, None) or _Failures()
        if now - entry.last_at > FORGET_FAILURES_AFTER_SECONDS:
            entry.count = 0
        entry.count += 1
        entry.last_at = now
        entry.not_before = now + delay_after(entry.count)
        entry.checking += 1
        _failures[key] = entry
        counts.append(entry.count)
    while len(_failures) > MAX_TRACKED:
        _failures.popitem(last=False)
    return max(counts)


_checks = threading.BoundedSemaphore(MAX_PARALLEL_CHECKS)


def _check_password(user: user_store.User | None, password: str) -> bool | None:
    """Whether ``password`` is ``user``'s (an unknown user: checked against the dummy hash, False).

    At most MAX_PARALLEL_CHECKS run at once (each argon2 check takes 64 MiB); a check that finds no
    free slot within CHECK_WAIT_SECONDS is not made: None.
    """
    if not _checks.acquire(timeout=CHECK_WAIT_SECONDS):
        return None
    try:
        if user is None:
            user_store.burn_verification_time(password)
            return False
        return user_store.verify_password(user.password_hash, password)
    finally:
        _checks.release()


def reset_throttle() -> None:
    """Forget every failed sign-in (tests)."""
    with _failures_lock:
        _failures.clear()


def _session_id() -> str:
    """This browser session's Streamlit id: a throttle key in memory, never logged (``_logged_session``)."""
    context = get_script_run_ctx()
    return context.session_id if context is not None else "-"


def _logged_session() -> str:
    """This browser session for the log: a keyed digest of its id (``log_digest``), never the id."""
    return log_digest("session", _session_id())


def _shown(username: str, users: dict[str, user_store.User]) -> str:
    """A username for the log. One that is not a user may be a password typed in the wrong box:
    only a keyed digest of it is logged (``log_digest``)."""
    if username in users:
        return repr(username)
    return f"<unknown user {log_digest('username', username)}>"


def attempt_sign_in(username_text: str, password: str) -> str | None:
    """Check a sign-in; on success keep a signed session and return None, else the message to show."""
    username = user_store.normalize_username(username_text or "")
    if not username or not password:
        return "Enter your username and password."
    users = load_users()
    keys = [f"user:{username}", f"session:{_session_id()}"]
    wait, failures = _begin_attempt(keys)
    if wait > 0:
        LOGGER.warning(
            "sign-in refused, too many failures: user %s, session %s, %.1f s to wait",
            _shown(username, users),
            _logged_session(),
            wait,
        )
        return f"Too many failed sign-ins. Wait {math.ceil(wait)} seconds and try again."
    user = users.get(username)
    correct = _check_password(user, password)
    _end_attempt(keys, correct)
    if correct is None:
        LOGGER.warning(
            "sign-in refused, %d password checks already running: user %s, session %s",
            MAX_PARALLEL_CHECKS,
            _shown(username, users),
            _logged_session(),
        )
        return "The server is busy with other sign-ins. Try again in a moment."
    if not correct:
        LOGGER.warning(
            "failed sign-in: user %s, session %s, %d failure%s in a row%s",
            _shown(username, users),
            _logged_session(),
            failures,
            "" if failures == 1 else "s",
            f"; next attempt in {delay_after(failures):g} s" if delay_after(failures) else "",
        )
        return "Wrong username or password."
    st.session_state[SESSION_KEY] = new_session(user)
    LOGGER.info("signed in: user %r, %s, session %s", user.username, user.describe(), _logged_session())
    return None


def sign_out() -> None:
    """End the session and forget this browser session's state (filters included)."""
    scope = current_scope()
    if scope.username:
        LOGGER.info("signed out: user %r, session %s", scope.username, _logged_session())
    for key in list(st.session_state.keys()):
        del st.session_state[key]


# --------------------------------------------------------------------------------------------
# What app.py draws
# --------------------------------------------------------------------------------------------

PROBLEM_MESSAGES = {
    "expired": "Your session has expired. Please sign in again.",
    "invalid": "Your session is no longer valid. Please sign in again.",
    "unknown_user": "Your session has ended. Please sign in again.",
    "new_connection": "Your connection to the server was renewed. Please sign in again.",
}


_last_users_file_error: str | None = None


def _log_users_file_error(error: Exception) -> None:
    """Log a users file problem once (not on every click of every visitor)."""
    global _last_users_file_error
    if str(error) != _last_users_file_error:
        _last_users_file_error = str(error)
        LOGGER.error("the users file cannot be used, nobody can sign in: %s", error)


_refusal_logged = False


def _log_refusal_once(refusal: str) -> None:
    """Tell the operator (once per server) why every visitor is shown nothing."""
    global _refusal_logged
    if not _refusal_logged:
        _refusal_logged = True
        LOGGER.error("refusing to show any page: %s", refusal)


def sign_in() -> Scope:
    """The signed-in user's scope; with nobody signed in, draw the sign-in form and return NOBODY.

    The caller (app.py) runs no page unless the returned scope ``is_signed_in``.
    """
    if auth_disabled():
        refusal = auth_off_refusal(st.get_option("server.address"))
        if refusal:
            _log_refusal_once(refusal)
            st.error(f"Nothing is shown: {refusal}", icon=":material/lock:")
            return NOBODY
        return DEMO
    path = user_store.users_file()
    try:
        users = load_users()
    except user_store.UsersFileMissing:
        st.error(
            f"No users can sign in yet: there is no users file at `{path}`.",
            icon=":material/lock:",
        )
        st.markdown(
            "Add a user on the server, then reload this page:\n\n"
            "```sh\n"
            "billing-reports users add NAME --role ops                 # the provider's operations staff\n"
            "billing-reports users add NAME --role client --client-id ID  # a client's manager\n"
            "```\n\n"
            "`BILLING_USERS_FILE` names another users file. For a local demo only, `BILLING_AUTH=off` "
            "turns sign-in off."
        )
        return NOBODY
    except user_store.UsersFileError as error:
        # The details (which may name users) go to the server's log, not to an anonymous visitor.
        _log_users_file_error(error)
        st.error(
            "Signing in is not possible: the users file cannot be used. An administrator finds why in the "
            "server's log or with `billing-reports users list`.",
            icon=":material/lock:",
        )
        return NOBODY

    check = _check(st.session_state.get(SESSION_KEY), users)
    if check.scope.is_signed_in:
        return check.scope
    if check.problem != "signed_out":
        LOGGER.info("session ended (%s), session %s", check.problem, _logged_session())
        st.session_state.pop(SESSION_KEY, None)
        st.warning(PROBLEM_MESSAGES[check.problem], icon=":material/schedule:")

    st.title("Billing reports")
    st.caption("Sign in to see your billing reports.")
    with st.form("auth_sign_in", clear_on_submit=True):
        st.text_input("Username", key="auth_username", autocomplete="username", max_chars=128)
        st.text_input("Password", type="password", key="auth_password", autocomplete="current-password", max_chars=1024)
        st.form_submit_button("Sign in", type="primary", key="auth_submit", on_click=_submit)
    message = st.session_state.pop(MESSAGE_KEY, None)
    if message:
        st.error(str(message), icon=":material/error:")
    return NOBODY


def _submit() -> None:
    """The sign-in button's callback: it runs before the script, so a successful sign-in shows the
    page in the same run, and the password is wiped from the session's widget state at once."""
    username = str(st.session_state.get("auth_username") or "")
    password = str(st.session_state.get("auth_password") or "")
    st.session_state["auth_password"] = ""
    try:
        problem = attempt_sign_in(username, password)
    except user_store.UsersFileError as error:
        _log_users_file_error(error)
        problem = "Signing in is not possible right now: the users file cannot be used."
    if problem:
        st.session_state[MESSAGE_KEY] = problem


def sidebar(scope: Scope, client_name: str | None = None, timezone: str | None = None) -> None:
    """Who is signed in, until when, and the sign-out button.

    A client user sees their client's name (``client_name``) and the session's end in their
    client's zone (``timezone``, with its abbreviation); operations users see UTC.
    """
    with st.sidebar:
        if scope.demo:
            st.warning(
                "Sign-in is off (`BILLING_AUTH=off`): anyone who can open this page sees every client. "
                "For a local demo only.",
                icon=":material/lock_open:",
            )
            return
        st.caption(f"Signed in as `{scope.username}` · {scope.describe(client_name)}")
        if scope.signed_in_at is not None:
            ends = datetime.fromtimestamp(scope.signed_in_at + session_seconds(), tz=UTC)
            if timezone:
                ends = ends.astimezone(ZoneInfo(timezone))
            st.caption(f"Session ends {ends:%Y-%m-%d %H:%M} {ends.tzname()}.")
        st.button("Sign out", key="auth_sign_out", on_click=sign_out, icon=":material/logout:")
