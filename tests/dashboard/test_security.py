"""Issue 8, each client sees only its own bills: sign-in, sessions, throttling, and the tenant scope
that dashboards.data applies to every query (docs/security.md).

The hand-made warehouse (conftest.py) has two clients, ACME and MAPLE. A client user of ACME
must never see a trace of MAPLE: its jobs (J5, J6), customers (CUST-M*), branch (TOR, Toronto),
batches (B4, B5, B9), files (maple_*), rule change (CH3) or contact (Marie Tremblay), on any page,
in any table, chart, option list or download, whatever they put in the filters, the session
state or the query string.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import logging
import re
import time
import zlib
from datetime import date

import duckdb
import pytest

from tests.dashboard.conftest import APP, PASSWORDS, USERS, sign_in, signed_out, write_users_file
from tests.dashboard.test_pages import PAGES, metrics, table

ACME_USER = "ann@acme.example"
MAPLE_USER = "marie@maple.example"
NE_USER = "ned@acme.example"  # ACME, branch NE only

MAPLE_MARKS = [
    "MAPLE",
    "Maple",
    "J5",
    "J6",
    "CUST-M1",
    "CUST-M2",
    "CUST-M3",
    "TOR",
    "Toronto",
    "B4",
    "B5",
    "B9",
    "INV-D5",
    "INV-D6",
    "maple_",
    "CH3",
    "RULE-M",
    "Marie",
    "marie@maple",
    "einvoice_connect",
    "eInvoice Connect",  # only MAPLE's documents go by eInvoice Connect
    "Bolt",  # nor anything of a third client (BOLT, "Bolt Telecom")
]
# ... and what a MAPLE user must not see of ACME:
ACME_ONLY_MARKS = ["ACME", "J1", "J2", "J4", "CUST-A1", "Northeast", "Southwest", "acme_", "CH1", "CH2", "Pat Primary"]
INJECTIONS = [
    "' or 1=1 --",
    "J1'); drop table marts.fct_documents; --",
    "%' or client_id like '%",
    '" or ""="',
    "MAPLE",
    "\\x00; select * from marts.rpt_job_tracking",
]
WIDE = (date(2025, 1, 1), date(2026, 12, 31))
DATE_INPUTS = {
    "job_tracking": "jt_dates",
    "billing_statistics": "bs_dates",
    "billing_activity_details": "ba_dates",
    "branch_report": "br_dates",
    "branch_billing": "bb_dates",
    "file_pickup": "fp_dates",
    "rule_change_audit": "rc_dates",
}
CLIENT_FILTERS = {
    "job_tracking": "jt_clients",
    "job_approval": "ja_clients",
    "file_pickup": "fp_clients",
    "billing_statistics": "bs_clients",
    "billing_activity_details": "ba_clients",
    "branch_report": "br_clients",
    "branch_billing": "bb_clients",
    "customer_routing": "cr_clients",
    "rule_change_audit": "rc_clients",
}


# ----------------------------------------------------------------------------------------------
# Helpers: everything a page shows or offers for download
# ----------------------------------------------------------------------------------------------


@pytest.fixture
def downloads(monkeypatch):
    """The bytes behind each download button: recorded as Streamlit stores them."""
    from streamlit.runtime import memory_media_file_storage as storage

    stored: dict[str, bytes] = {}
    original = storage.MemoryMediaFileStorage.load_and_get_id

    def record(self, path_or_data, mimetype, kind, filename=None):
        file_id = original(self, path_or_data, mimetype, kind, filename)
        stored[file_id] = path_or_data if isinstance(path_or_data, bytes) else str(path_or_data).encode()
        return file_id

    monkeypatch.setattr(storage.MemoryMediaFileStorage, "load_and_get_id", record)

    def data_of(button) -> bytes:
        file_id = button.proto.url.rsplit("/", 1)[-1].split(".", 1)[0]
        return stored[file_id]

    return data_of


def pdf_text(pdf: bytes) -> str:
    """The text drawing operators of a ReportLab PDF (its streams are ASCII85 + Flate encoded)."""
    parts = []
    for match in re.finditer(rb"/Filter\s*(\[[^\]]*\]|/\w+)[^>]*>>\s*stream\r?\n(.*?)endstream", pdf, re.S):
        filters, data = match.group(1), match.group(2).strip()
        if b"ASCII85Decode" in filters:
            data = base64.a85decode(data.removesuffix(b"~>"), adobe=False)
        if b"FlateDecode" in filters:
            data = zlib.decompress(data)
        parts.append(data.decode("latin-1"))
    return "\n".join(parts)


def _chart_text(spec: str) -> str:
    figure = json.loads(spec)

    def strip(value):  # numeric arrays travel base64-encoded ("bdata"): not text, leave them out
        if isinstance(value, dict):
            return {key: strip(item) for key, item in value.items() if key != "bdata"}
        if isinstance(value, list):
            return [strip(item) for item in value]
        return value

    return json.dumps(strip(figure))


def shown_text(app, data_of=None) -> str:
    """Every text the app shows or offers: elements, tables, charts, options and downloads."""
    parts = []
    for kind in ("title", "header", "subheader", "markdown", "caption", "info", "warning", "error", "success", "html"):
        parts += [str(element.value) for element in app.get(kind)]
    parts += [f"{metric.label}: {metric.value}" for metric in app.metric]
    parts += [frame.value.to_csv(index=False) for frame in app.dataframe]
    parts += [_chart_text(chart.proto.spec) for chart in app.get("plotly_chart")]
    for widget in [*app.multiselect, *app.selectbox]:
        parts.append(" ".join(str(option) for option in widget.options))
        parts.append(str(widget.value))
    if data_of is not None:
        for button in app.download_button:
            data = data_of(button)
            parts.append(pdf_text(data) if data.startswith(b"%PDF") else data.decode("utf-8"))
    return "\n".join(parts)


def leaked(text: str, marks=MAPLE_MARKS) -> list[str]:
    return [mark for mark in marks if re.search(rf"(?<![A-Za-z0-9]){re.escape(mark)}", text)]


def widen(app, page: str):
    """Every date, every state: the page shows every row the user may see."""
    if page in DATE_INPUTS:
        app.date_input(key=DATE_INPUTS[page]).set_value(WIDE)
    if page == "file_pickup":
        app.multiselect(key="fp_states").set_value([])
    return app.run()


def warehouse_counts(path) -> dict[str, int]:
    from dashboards.data import _warehouse

    _warehouse._READERS.close()  # the dashboard's shared connection holds the file with its own settings
    connection = duckdb.connect(str(path), read_only=True)
    try:
        tables = [
            row[0]
            for row in connection.execute(
                "select table_name from duckdb_tables() where schema_name = 'marts'"
            ).fetchall()
        ]
        return {name: connection.execute(f"select count(*) from marts.{name}").fetchone()[0] for name in tables}
    finally:
        connection.close()


# ----------------------------------------------------------------------------------------------
# Every page and every download, as a client user and as ops
# ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("page", PAGES)
def test_a_client_user_sees_nothing_of_another_client_on_any_page_or_download(open_page, downloads, page):
    app = widen(open_page(page, user=ACME_USER), page)
    assert not app.exception, [item.value for item in app.exception]
    text = shown_text(app, downloads)
    assert not leaked(text), f"{page} shows MAPLE's {leaked(text)}"
    assert "Acme Utilities" in text  # the page does show the user's own client, by name
    assert app.download_button, "the page offers its CSV downloads"
    # No client picker: the user's own client's name instead.
    assert not [widget for widget in app.multiselect if widget.key == CLIENT_FILTERS[page]]


@pytest.mark.parametrize("page", PAGES)
def test_the_other_client_sees_nothing_of_the_first(open_page, downloads, page):
    app = widen(open_page(page, user=MAPLE_USER), page)
    text = shown_text(app, downloads)
    assert not leaked(text, ACME_ONLY_MARKS), f"{page} shows ACME's {leaked(text, ACME_ONLY_MARKS)}"


@pytest.mark.parametrize("page", PAGES)
def test_an_ops_user_sees_every_client_with_a_client_picker(open_page, downloads, page):
    app = widen(open_page(page), page)
    text = shown_text(app, downloads)
    assert "Maple Power" in text and "Acme Utilities" in text
    assert app.multiselect(key=CLIENT_FILTERS[page]).options == ["Acme Utilities", "Bolt Telecom", "Maple Power"]
    assert "Signed in as `olivia`" in "\n".join(caption.value for caption in app.sidebar.caption)


def test_the_job_activity_report_downloads_of_a_client_user_hold_only_their_jobs(open_page, downloads):
    app = widen(open_page("job_tracking", user=ACME_USER), "job_tracking")
    job_ids = {option.split(" · ")[0] for option in app.selectbox(key="jt_job").options}
    assert job_ids == {"J0", "J1", "J2", "J3", "J4"}
    for job_id in ("J0", "J1", "J2"):  # the completed ones: PDF and HTML
        app.selectbox(key="jt_job").set_value(job_id).run()
        buttons = {button.label: downloads(button) for button in app.download_button}
        html, pdf = buttons["Download HTML"].decode("utf-8"), buttons["Download PDF"]
        assert f"Job {job_id}" in html or job_id in html
        assert not leaked(html) and not leaked(pdf_text(pdf)), job_id
    app.selectbox(key="jt_job").set_value("J1").run()
    assert "INV-D14" in pdf_text(downloads(app.download_button(key="jt_report_pdf")))


def test_a_user_limited_to_branches_sees_only_those_branches(open_page, downloads):
    app = widen(open_page("branch_report", user=NE_USER), "branch_report")
    summary = table(app, "Client", "Branch")
    assert set(summary["Branch"]) == {"NE"}
    assert app.multiselect(key="br_branches").options == ["NE · Northeast"]
    app = widen(open_page("branch_billing", user=NE_USER), "branch_billing")
    assert set(table(app, "Fee date")["Branch"]) == {"NE"}
    assert metrics(app)["USD fees"] == "82.50 USD"  # NE only: 30.00 + 40.00 + 12.50
    app = open_page("job_approval", user=NE_USER)
    assert set(table(app, "Document")["Branch"]) == {"NE"}  # J4's documents of branch NE only
    # J1's pulled document INV-D14 belongs to branch SW: not in the NE user's report.
    app = open_page("job_tracking", user=NE_USER)
    app.selectbox(key="jt_job").set_value("J1").run()
    report = downloads(app.download_button(key="jt_report_html")).decode("utf-8")
    assert "INV-D14" not in report and "INV-D14" not in pdf_text(downloads(app.download_button(key="jt_report_pdf")))


# ----------------------------------------------------------------------------------------------
# Tampering: session state, query parameters, the session object itself
# ----------------------------------------------------------------------------------------------

SCOPE_LOOKING_KEYS = {
    "client_id": "MAPLE",
    "client_ids": ["MAPLE"],
    "clients": ["MAPLE"],
    "role": "ops",
    "scope": "ops",
    "user": "olivia",
    "username": "olivia",
    "is_ops": True,
    "branches": None,
    "auth_username": "olivia",
}


@pytest.mark.parametrize("page", PAGES)
def test_tampering_with_session_state_and_query_parameters_changes_nothing(open_page, downloads, page):
    app = widen(open_page(page, user=ACME_USER), page)
    before = [frame.value.to_csv(index=False) for frame in app.dataframe]
    assert before
    app.session_state[CLIENT_FILTERS[page]] = ["MAPLE"]
    for key, value in SCOPE_LOOKING_KEYS.items():
        app.session_state[key] = value
    if page == "job_tracking":  # a row number beyond the user's jobs (the job select box offers only theirs)
        app.session_state["jt_table"] = {"selection": {"rows": [6], "columns": [], "cells": []}}
    for key, value in {"client_id": "MAPLE", "client": "MAPLE", "clients": "MAPLE", "role": "ops"}.items():
        app.query_params[key] = value
    app.run()
    assert not app.exception, [item.value for item in app.exception]
    assert not signed_out(app)
    assert [frame.value.to_csv(index=False) for frame in app.dataframe] == before
    assert not leaked(shown_text(app, downloads))


def test_a_forged_or_altered_session_object_signs_out(open_page):
    from dashboards import auth

    for forged in (
        auth.Session("olivia", time.time(), "0" * 64),  # an ops session without the server's key
        {"username": "olivia", "role": "ops"},
        "olivia",
    ):
        app = open_page("billing_statistics", user=ACME_USER)
        app.session_state[auth.SESSION_KEY] = forged
        app.run()
        assert signed_out(app) and not app.dataframe, forged
    # The real session of ann, re-addressed to the ops user: the signature no longer matches.
    app = open_page("billing_statistics", user=ACME_USER)
    session = app.session_state[auth.SESSION_KEY]
    app.session_state[auth.SESSION_KEY] = dataclasses.replace(session, username="olivia")
    app.run()
    assert signed_out(app) and not app.dataframe


# ----------------------------------------------------------------------------------------------
# Signing in: wrong passwords, expiry, throttling, sign-out, users file changes
# ----------------------------------------------------------------------------------------------


def new_app():
    from streamlit.testing.v1 import AppTest

    return AppTest.from_file(str(APP), default_timeout=60).run()


@pytest.fixture
def signed_out_app(use_warehouse, dashboard_warehouse):
    use_warehouse(dashboard_warehouse)
    return new_app


def test_nothing_shows_before_signing_in(signed_out_app):
    app = signed_out_app()
    assert signed_out(app)
    assert not app.dataframe and not app.metric and not app.download_button
    assert [button.label for button in app.button] == ["Sign in"]
    assert "Sign in to see your billing reports." in [caption.value for caption in app.caption]


def test_a_wrong_password_is_refused(signed_out_app):
    app = signed_out_app()
    sign_in(app, ACME_USER, "acme-secret-WRONG")
    assert signed_out(app) and not app.dataframe
    assert "Wrong username or password." in [error.value for error in app.error]
    assert app.session_state["auth_password"] == ""  # the form is cleared: the password is not kept
    sign_in(app, "nobody@example.com", "whatever")
    assert "Wrong username or password." in [error.value for error in app.error]  # the same answer
    sign_in(app, ACME_USER.upper(), PASSWORDS[ACME_USER])  # usernames are case-insensitive
    assert not signed_out(app) and metrics(app)["Jobs"] == "4"


def test_a_password_typed_again_with_spaces_is_a_different_password(signed_out_app):
    app = sign_in(signed_out_app(), ACME_USER, f" {PASSWORDS[ACME_USER]} ")
    assert signed_out(app)


def test_an_expired_session_is_refused(open_page, monkeypatch):
    from billing_reports.users import load_users
    from dashboards import auth

    app = open_page("billing_statistics", user=ACME_USER)
    user = load_users()[ACME_USER]
    # Signed in 479 minutes ago: still valid (sessions last 480 minutes by default).
    app.session_state[auth.SESSION_KEY] = auth.new_session(user, signed_in_at=time.time() - 479 * 60)
    app.run()
    assert not signed_out(app) and metrics(app)["Bills"] == "7"
    # Signed in 481 minutes ago: expired.
    app.session_state[auth.SESSION_KEY] = auth.new_session(user, signed_in_at=time.time() - 481 * 60)
    app.run()
    assert signed_out(app) and not app.dataframe
    assert "Your session has expired. Please sign in again." in [warning.value for warning in app.warning]
    # Moving the stored sign-in time without the server's signature does not revive it either.
    app = open_page("billing_statistics", user=ACME_USER)
    session = app.session_state[auth.SESSION_KEY]
    app.session_state[auth.SESSION_KEY] = dataclasses.replace(session, signed_in_at=time.time() + 3600)
    app.run()
    assert signed_out(app)


def test_the_session_length_comes_from_the_environment(open_page, monkeypatch):
    from dashboards import auth

    app = open_page("billing_statistics", user=ACME_USER)
    monkeypatch.setenv("BILLING_SESSION_MINUTES", "5")
    real_clock = auth._clock
    monkeypatch.setattr(auth, "_clock", lambda: real_clock() + 4 * 60)
    app.run()
    assert not signed_out(app)
    monkeypatch.setattr(auth, "_clock", lambda: real_clock() + 6 * 60)
    app.run()
    assert signed_out(app)


def test_repeated_failures_are_slowed_down_and_logged_without_the_password(signed_out_app, monkeypatch, caplog):
    from dashboards import auth

    now = [time.time()]
    monkeypatch.setattr(auth, "_clock", lambda: now[0])
    tab = ["tab-1"]  # the browser session (AppTests all share one session id)
    monkeypatch.setattr(auth, "_session_id", lambda: tab[0])
    caplog.set_level(logging.INFO, logger="billing_reports.auth")
    app = signed_out_app()
    for attempt in range(3):
        sign_in(app, ACME_USER, f"guess-{attempt}")
        assert "Wrong username or password." in [error.value for error in app.error]
    # After 3 failures even the right password must wait (1 s, then 2 s, 4 s, ... up to 60 s).
    sign_in(app, ACME_USER)
    assert signed_out(app)
    assert any("Too many failed sign-ins" in error.value for error in app.error)
    # Per username: a new browser session (another tab, another machine) waits too ...
    tab[0] = "tab-2"
    other = sign_in(signed_out_app(), ACME_USER)
    assert signed_out(other) and any("Too many failed sign-ins" in error.value for error in other.error)
    other = sign_in(signed_out_app(), MAPLE_USER)  # ... while that session may sign in as someone else;
    assert not signed_out(other)
    # per session: the first browser session cannot move on to another username.
    tab[0] = "tab-1"
    sign_in(app, MAPLE_USER)
    assert signed_out(app) and any("Too many failed sign-ins" in error.value for error in app.error)
    # A 4th failure doubles the wait.
    now[0] += 1.5
    sign_in(app, ACME_USER, "guess-3")
    now[0] += 1.5
    sign_in(app, ACME_USER)
    assert any("Wait 1 seconds" in error.value for error in app.error)
    now[0] += 1
    sign_in(app, ACME_USER)
    assert not signed_out(app)

    log = caplog.text
    assert log.count("failed sign-in") == 4
    assert "sign-in refused, too many failures" in log
    assert "signed in: user 'ann@acme.example'" in log
    for password in [PASSWORDS[ACME_USER], "guess-0", "guess-1", "guess-2", "guess-3"]:
        assert password not in log


def test_the_delay_doubles_and_is_capped():
    from dashboards import auth

    assert [auth.delay_after(failures) for failures in range(1, 8)] == [0, 0, 1, 2, 4, 8, 16]
    assert auth.delay_after(50) == auth.MAX_DELAY_SECONDS == 60


def test_an_unknown_username_is_logged_only_as_a_digest(signed_out_app, caplog):
    caplog.set_level(logging.INFO, logger="billing_reports.auth")
    sign_in(signed_out_app(), "my-password-by-mistake", "x")
    assert "my-password-by-mistake" not in caplog.text
    assert "<unknown user " in caplog.text


def test_sign_out_ends_the_session_and_forgets_the_filters(open_page):
    app = open_page("billing_statistics")
    app.multiselect(key="bs_clients").set_value(["MAPLE"]).run()
    app.sidebar.button(key="auth_sign_out").click().run()
    assert signed_out(app) and not app.dataframe
    assert "bs_clients" not in app.session_state
    sign_in(app, ACME_USER)
    assert not signed_out(app)


def test_a_removed_user_or_a_new_password_ends_open_sessions(open_page, tmp_path, monkeypatch):
    path = write_users_file(tmp_path / "users.toml")
    monkeypatch.setenv("BILLING_USERS_FILE", str(path))
    app = open_page("billing_statistics", user=ACME_USER)
    assert metrics(app)["Bills"] == "7"
    changed = dict(USERS)
    changed[ACME_USER] = ("client", "ACME", None, "a-new-password")
    write_users_file(path, changed)
    app.run()
    assert signed_out(app)
    sign_in(app, ACME_USER, "a-new-password")
    assert not signed_out(app)
    write_users_file(path, {name: user for name, user in USERS.items() if name != ACME_USER})
    app.run()
    assert signed_out(app) and not app.dataframe


def test_a_changed_client_takes_effect_at_the_next_click(open_page, tmp_path, monkeypatch):
    from billing_reports.users import User, load_users, save_users

    path = write_users_file(tmp_path / "users.toml")
    monkeypatch.setenv("BILLING_USERS_FILE", str(path))
    app = open_page("billing_statistics", user=ACME_USER)
    users = load_users(path)
    users[ACME_USER] = User(ACME_USER, "client", users[ACME_USER].password_hash, "MAPLE")
    save_users(path, users)
    app.run()
    assert metrics(app)["Bills"] == "2"  # MAPLE's now, ACME's no more


def test_without_a_users_file_the_dashboard_refuses_and_says_how_to_add_a_user(signed_out_app, tmp_path, monkeypatch):
    monkeypatch.setenv("BILLING_USERS_FILE", str(tmp_path / "missing.toml"))
    app = signed_out_app()
    assert "there is no users file" in app.error[0].value
    assert "billing-reports users add NAME --role ops" in "\n".join(item.value for item in app.markdown)
    assert not app.text_input and not app.dataframe


def test_an_invalid_users_file_is_refused_and_the_reason_logged(signed_out_app, tmp_path, monkeypatch, caplog):
    path = tmp_path / "users.toml"
    path.write_text('[users."ann"]\nrole = "client"\nbrances = ["NE"]\npassword_hash = "$argon2id$x"\n')
    monkeypatch.setenv("BILLING_USERS_FILE", str(path))
    app = signed_out_app()
    assert "the users file cannot be used" in app.error[0].value
    assert "brances" not in app.error[0].value  # the details (naming users) go to the log only
    assert not app.text_input and not app.dataframe
    assert "unknown keys ['brances']" in caplog.text


def test_billing_auth_off_is_a_demo_without_sign_in(signed_out_app, tmp_path, monkeypatch):
    monkeypatch.setenv("BILLING_AUTH", "off")
    monkeypatch.setenv("BILLING_USERS_FILE", str(tmp_path / "missing.toml"))
    app = signed_out_app()
    assert not signed_out(app)
    assert metrics(app)["Jobs"] == "6"  # every client
    assert "Sign-in is off" in app.sidebar.warning[0].value


def test_billing_auth_off_is_refused_on_a_server_that_listens_beyond_this_machine(signed_out_app, monkeypatch):
    from streamlit import config

    monkeypatch.setenv("BILLING_AUTH", "off")
    before = config.get_option("server.address")
    try:
        config.set_option("server.address", "0.0.0.0")  # billing-reports serve --host
        app = signed_out_app()
        assert "for a local demo only" in app.error[0].value
        assert not app.dataframe and not app.metric
        config.set_option("server.address", "127.0.0.1")
        assert metrics(signed_out_app())["Jobs"] == "6"
    finally:
        config.set_option("server.address", before)


def test_outside_a_streamlit_session_nobody_is_signed_in(use_warehouse, dashboard_warehouse):
    from dashboards import auth, data

    use_warehouse(dashboard_warehouse)
    assert data.current_scope() == auth.NOBODY
    assert data.billing_statistics().empty and data.client_ids() == []
    with auth.service_scope("a script"):
        assert data.client_ids() == ["ACME", "BOLT", "MAPLE"]  # by name: Acme, Bolt, Maple


# ----------------------------------------------------------------------------------------------
# Injection attempts in every text input
# ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("page", PAGES)
def test_injection_in_every_text_input_is_harmless(open_page, dashboard_warehouse, page):
    counts = warehouse_counts(dashboard_warehouse)
    app = open_page(page, user=ACME_USER)
    keys = [widget.key for widget in app.text_input]
    for key in keys:
        for text in INJECTIONS:
            app.text_input(key=key).input(text).run()
            assert not app.exception, [item.value for item in app.exception]
            assert not leaked(shown_text(app))
            for frame in app.dataframe:
                assert not {"MAPLE", "Maple Power"} & set(frame.value.get("Client", []))
        app.text_input(key=key).input("").run()
    assert warehouse_counts(dashboard_warehouse) == counts
    if page == "job_tracking":
        assert keys == ["jt_find", "jt_search"]
        assert metrics(app)["Jobs"] == "4"  # the tables are still there


def test_injection_in_the_sign_in_form_is_harmless(signed_out_app, dashboard_warehouse):
    counts = warehouse_counts(dashboard_warehouse)
    app = signed_out_app()
    for text in [*INJECTIONS, "olivia' --", 'olivia" or "1"="1', 'olivia\nrole = "ops"']:
        sign_in(app, text, text)
        assert not app.exception, [item.value for item in app.exception]
        assert signed_out(app) and not app.dataframe
        sign_in(app, "olivia", text)
        assert signed_out(app)
    from dashboards import auth

    auth.reset_throttle()
    sign_in(app, ACME_USER)
    assert metrics(app)["Jobs"] == "4"
    assert warehouse_counts(dashboard_warehouse) == counts


# ----------------------------------------------------------------------------------------------
# The data-access module: every public function applies the scope
# ----------------------------------------------------------------------------------------------


def _calls(data, client_ids):
    """Every public data function that takes client_ids, called with ``client_ids``."""
    return {
        "clients": lambda: data.clients(client_ids),
        "client_ids": lambda: data.client_ids(client_ids),
        "client_names": lambda: data.client_names(client_ids),
        "date_bounds": lambda: data.date_bounds("billing_statistics", client_ids),
        "default_date_range": lambda: data.default_date_range("billing_statistics", client_ids),
        "branches": lambda: data.branches(client_ids),
        "delivery_methods": lambda: data.delivery_methods(client_ids),
        "jobs": lambda: data.jobs(client_ids),
        "job_steps": lambda: data.job_steps(["J1", "J5", "J6"], client_ids),
        "job_delivery_counts": lambda: data.job_delivery_counts(["J1", "J5", "J6"], client_ids),
        "job_documents": lambda: data.job_documents(["J1", "J5", "J6"], client_ids),
        "job_document_count": lambda: data.job_document_count("J5", client_ids),
        "job_document_page": lambda: data.job_document_page("J5", client_ids),
        "job_document_types": lambda: data.job_document_types("J5", client_ids),
        "find_documents": lambda: data.find_documents("CUST-M1", client_ids, by="customer_account"),
        "document_deliveries": lambda: data.document_deliveries(["D52", "D13"], client_ids),
        "job_activity": lambda: data.job_activity("J5", client_ids),
        "job_activity_files": lambda: data.job_activity_files("J5", client_ids),
        "approval_jobs": lambda: data.approval_jobs(client_ids),
        "customer_routing": lambda: data.customer_routing(client_ids),
        "routing_channels": lambda: data.routing_channels(client_ids),
        "routing_as_of": lambda: data.routing_as_of(client_ids),
        "billing_statistics": lambda: data.billing_statistics(client_ids),
        "branch_activity": lambda: data.branch_activity(client_ids),
        "branch_billing": lambda: data.branch_billing(client_ids),
        "billing_activity_details": lambda: data.billing_activity_details(client_ids),
        "file_pickup": lambda: data.file_pickup(client_ids),
        "rule_change_audit": lambda: data.rule_change_audit(client_ids),
    }


@pytest.mark.parametrize("asked", [None, ["MAPLE"], ["ACME", "MAPLE"]], ids=["all", "other", "both"])
def test_every_data_function_keeps_a_client_user_to_their_client(
    use_warehouse, dashboard_warehouse, monkeypatch, asked
):
    import inspect

    import pandas as pd

    from billing_reports.activity_report import JobNotFound
    from dashboards import auth, data

    use_warehouse(dashboard_warehouse)
    monkeypatch.setattr(auth, "current_scope", lambda: auth.Scope("client", ACME_USER, "ACME"))
    calls = _calls(data, asked)
    public = {
        name
        for name in data.__all__
        if inspect.isfunction(getattr(data, name)) and "client_ids" in inspect.signature(getattr(data, name)).parameters
    }
    assert public == set(calls), "a new data function needs a line in _calls (and its scope)"
    for name, call in calls.items():
        if name.startswith("job_activity"):
            with pytest.raises(JobNotFound):
                call()  # MAPLE's job J5 does not exist for an ACME user
            continue
        result = call()
        if isinstance(result, pd.DataFrame):
            assert "MAPLE" not in set(result.get("client_id", [])), name
            assert not leaked(result.to_csv(index=False)), name
            if asked == ["MAPLE"]:
                assert result.empty, name
        elif isinstance(result, list | dict):
            assert "MAPLE" not in result, name
    assert data.billing_statistics(asked)["bill_count"].sum() == (0 if asked == ["MAPLE"] else 12)


def test_nobody_signed_in_reads_nothing(use_warehouse, dashboard_warehouse, monkeypatch):
    import pandas as pd

    from billing_reports.activity_report import JobNotFound
    from dashboards import auth, data

    use_warehouse(dashboard_warehouse)
    monkeypatch.setattr(auth, "current_scope", lambda: auth.NOBODY)
    for name, call in _calls(data, None).items():
        if name.startswith("job_activity"):
            with pytest.raises(JobNotFound):
                call()
            continue
        result = call()
        if isinstance(result, pd.DataFrame | list | dict):
            assert len(result) == 0, name


def test_the_scope_intersects_the_pages_filters():
    from dashboards import auth

    client = auth.Scope("client", "ann", "ACME", ("NE", "SW"))
    assert client.clients(None) == ("ACME",)
    assert client.clients(["MAPLE"]) == ()
    assert client.clients(["MAPLE", "ACME"]) == ("ACME",)
    assert client.clients([]) == ()
    assert client.branch_codes(None) == ("NE", "SW")
    assert client.branch_codes(["TOR", "NE"]) == ("NE",)
    ops = auth.Scope("ops", "olivia")
    assert ops.clients(None) is None and ops.clients(["MAPLE"]) == ("MAPLE",)
    assert auth.NOBODY.clients(None) == () and auth.NOBODY.branch_codes(None) == ()
