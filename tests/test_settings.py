"""billing_reports.settings: every setting's default, a good value, and a bad value refused by name.

The one policy (issue 19): unset or empty means the default; a value that is set but cannot be
used raises ``SettingsError`` naming the variable, the value and what is accepted; every command
prints that on one line and exits 2, without a stack trace.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from billing_reports import cli, settings
from billing_reports.settings import PROJECT_DIR, SettingsError, SmtpSettings

#: (reader, variable, default, a good value, what the reader makes of it)
GOOD = [
    (settings.raw_dir, "BILLING_RAW_DIR", PROJECT_DIR / "data/raw", "landing", PROJECT_DIR / "landing"),
    (
        settings.warehouse_path,
        "BILLING_WAREHOUSE",
        PROJECT_DIR / "warehouse/billing.duckdb",
        "/srv/billing/billing.duckdb",
        Path("/srv/billing/billing.duckdb"),
    ),
    (settings.outbound_dir, "BILLING_OUTBOUND_DIR", PROJECT_DIR / "warehouse/outbound", "/srv/out", Path("/srv/out")),
    (
        settings.users_file,
        "BILLING_USERS_FILE",
        PROJECT_DIR / "warehouse/users.toml",
        "/etc/u.toml",
        Path("/etc/u.toml"),
    ),
    (settings.export_dir, "BILLING_EXPORT_DIR", PROJECT_DIR / "warehouse/export", "/srv/parquet", Path("/srv/parquet")),
    (settings.engine, "BILLING_ENGINE", "duckdb", " Spark ", "spark"),
    (settings.auth_disabled, "BILLING_AUTH", False, "OFF", True),
    (settings.support_url, "BILLING_SUPPORT_URL", None, "https://help.example/new", "https://help.example/new"),
    (settings.support_email, "BILLING_SUPPORT_EMAIL", "support@example.com", "help@p.example", "help@p.example"),
    (settings.approval_reminder_hours, "BILLING_APPROVAL_REMINDER_HOURS", 24.0, "1.5", 1.5),
    (settings.mail_from, "BILLING_MAIL_FROM", settings.DEFAULT_MAIL_FROM, "Ops <ops@p.example>", "Ops <ops@p.example>"),
]

#: (reader, variable, a bad value, the start of the message)
BAD = [
    (settings.engine, "BILLING_ENGINE", "postgres", "BILLING_ENGINE must be one of duckdb, spark; got 'postgres'"),
    (settings.auth_disabled, "BILLING_AUTH", "of", "BILLING_AUTH must be on or off; got 'of'"),
    (settings.support_url, "BILLING_SUPPORT_URL", "help.example", "BILLING_SUPPORT_URL must be an http://"),
    (settings.support_email, "BILLING_SUPPORT_EMAIL", "support", "BILLING_SUPPORT_EMAIL must be an e-mail address"),
    (
        settings.approval_reminder_hours,
        "BILLING_APPROVAL_REMINDER_HOURS",
        "abc",
        "BILLING_APPROVAL_REMINDER_HOURS must be a number of hours, 0 or more; got 'abc'",
    ),
    (settings.approval_reminder_hours, "BILLING_APPROVAL_REMINDER_HOURS", "-1", "BILLING_APPROVAL_REMINDER_HOURS must"),
    (
        settings.approval_reminder_hours,
        "BILLING_APPROVAL_REMINDER_HOURS",
        "nan",
        "BILLING_APPROVAL_REMINDER_HOURS must",
    ),
    (
        settings.approval_reminder_hours,
        "BILLING_APPROVAL_REMINDER_HOURS",
        "inf",
        "BILLING_APPROVAL_REMINDER_HOURS must",
    ),
    (settings.mail_from, "BILLING_MAIL_FROM", "billing", "BILLING_MAIL_FROM must be an e-mail address"),
]


@pytest.mark.parametrize(("read", "name", "default", "value", "expected"), GOOD, ids=[row[1] for row in GOOD])
def test_each_setting_has_a_default_and_reads_a_good_value(monkeypatch, read, name, default, value, expected):
    monkeypatch.delenv(name, raising=False)
    assert read() == default
    monkeypatch.setenv(name, "  ")  # empty (blank) is the same as unset
    assert read() == default
    monkeypatch.setenv(name, value)
    assert read() == expected


@pytest.mark.parametrize(("read", "name", "value", "message"), BAD, ids=[f"{row[1]}={row[2]}" for row in BAD])
def test_a_bad_value_is_refused_naming_the_variable_and_the_value(monkeypatch, read, name, value, message):
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as raised:
        read()
    assert str(raised.value).startswith(message)
    assert repr(value) in str(raised.value)


def test_a_refresh_exports_beside_its_warehouse_unless_the_export_dir_is_set(monkeypatch, tmp_path):
    monkeypatch.delenv("BILLING_EXPORT_DIR", raising=False)
    assert settings.export_dir(tmp_path / "billing.duckdb") == tmp_path / "export"
    monkeypatch.setenv("BILLING_EXPORT_DIR", str(tmp_path / "parquet"))
    assert settings.export_dir(tmp_path / "billing.duckdb") == tmp_path / "parquet"


def test_state_files_sit_beside_the_warehouse_unless_set(monkeypatch, tmp_path):
    monkeypatch.delenv("BILLING_OUTBOX", raising=False)
    assert (
        settings.beside_warehouse("BILLING_OUTBOX", "outbox.sqlite", tmp_path / "b.duckdb")
        == tmp_path / "outbox.sqlite"
    )
    monkeypatch.setenv("BILLING_OUTBOX", "/var/lib/outbox.sqlite")
    assert settings.beside_warehouse("BILLING_OUTBOX", "outbox.sqlite", tmp_path / "b.duckdb") == Path(
        "/var/lib/outbox.sqlite"
    )


# --------------------------------------------------------------------------------------------
# The SMTP server of notify
# --------------------------------------------------------------------------------------------


def test_smtp_settings_default_the_port_by_tls_mode_and_keep_the_password_out_of_repr():
    smtp = SmtpSettings.from_env({"BILLING_SMTP_HOST": "mail.example", "BILLING_SMTP_TLS": "StartTLS"})
    assert (smtp.host, smtp.port, smtp.tls, smtp.user, smtp.password) == ("mail.example", 587, "starttls", None, None)
    assert (smtp.mail_from, smtp.timeout) == (settings.DEFAULT_MAIL_FROM, 30.0)
    assert SmtpSettings.from_env({"BILLING_SMTP_HOST": "m", "BILLING_SMTP_TLS": "ssl"}).port == 465
    assert SmtpSettings.from_env({"BILLING_SMTP_HOST": "m"}).port == 25

    smtp = SmtpSettings.from_env(
        {
            "BILLING_SMTP_HOST": "mail.example",
            "BILLING_SMTP_PORT": "2525",
            "BILLING_SMTP_USER": "reports",
            "BILLING_SMTP_PASSWORD": " s3cret ",
            "BILLING_SMTP_TIMEOUT": "5",
            "BILLING_MAIL_FROM": "Ops <ops@p.example>",
        }
    )
    assert (smtp.port, smtp.user, smtp.password, smtp.timeout) == (2525, "reports", " s3cret ", 5.0)
    assert smtp.mail_from == "Ops <ops@p.example>"
    assert "s3cret" not in repr(smtp)


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({}, "BILLING_SMTP_HOST is not set"),
        ({"BILLING_SMTP_TLS": "tls"}, "BILLING_SMTP_TLS must be one of none, starttls, ssl; got 'tls'"),
        ({"BILLING_SMTP_PORT": "smtp"}, "BILLING_SMTP_PORT must be a port number from 1 to 65535; got 'smtp'"),
        ({"BILLING_SMTP_PORT": "70000"}, "BILLING_SMTP_PORT must be a port number from 1 to 65535; got '70000'"),
        ({"BILLING_SMTP_TIMEOUT": "0"}, "BILLING_SMTP_TIMEOUT must be a number of seconds, above 0; got '0'"),
        ({"BILLING_MAIL_FROM": "reports"}, "BILLING_MAIL_FROM must be an e-mail address"),
    ],
)
def test_bad_smtp_settings_are_refused_by_name(env, message):
    host = {} if not env else {"BILLING_SMTP_HOST": "mail.example"}
    with pytest.raises(SettingsError, match="^" + message.replace("(", r"\(")):
        SmtpSettings.from_env(host | env)


# --------------------------------------------------------------------------------------------
# Every command: one line, exit code 2
# --------------------------------------------------------------------------------------------


#: What the ``billing-reports`` console script runs (pyproject.toml), in a fresh interpreter.
ENTRY_POINT = "import sys; from billing_reports.cli import main; sys.exit(main())"


def test_a_bad_setting_is_one_line_and_exit_code_2_from_the_command_line(tmp_path):
    environment = dict(os.environ, BILLING_APPROVAL_REMINDER_HOURS="abc", PYTHONPATH=str(PROJECT_DIR))
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            ENTRY_POINT,
            "notify",
            "--dry-run",
            "--warehouse",
            str(tmp_path / "no.duckdb"),
        ],
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == cli.EXIT_USAGE == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.splitlines() == [
        "billing-reports notify: error: BILLING_APPROVAL_REMINDER_HOURS must be a number of hours, 0 or more; got 'abc'"
    ]


def test_serve_checks_the_dashboards_settings_before_it_starts(monkeypatch, capsys):
    monkeypatch.setenv("BILLING_AUTH", "maybe")
    assert cli.main(["serve", "--warehouse", "/nonexistent/billing.duckdb"]) == cli.EXIT_USAGE
    assert capsys.readouterr().err == "billing-reports serve: error: BILLING_AUTH must be on or off; got 'maybe'\n"
