"""``billing-reports notify`` against the hand-made warehouse and a real SMTP server (aiosmtpd).

Expected by hand from tests/fixtures/handmade.py, as of 2026-03-15 12:00Z:
* completed jobs J1, J2, J3, J5 (C1) go to CT1 pat@ and CT3 bill@ (CT2 old@ ended on 1 Feb,
  before every completion); J6 (C2) to CT4 prime@ only (CT5 is a viewer): 9 reports.
* overdue uploads: U3 (C1, 11:00Z, due 11:15Z) to pat@, the only current primary support
  contact of C1; U5 (C2, 09:30Z = 05:30 EDT, timed start 06:00 Toronto = 10:00Z, due 10:15Z)
  to prime@: 2 alerts.
* J8 awaits customer approval since 2026-03-11 13:20Z (94 h 40 min before now): a reminder to
  pat@ and bill@ at the default 24 h; J7 awaits ops approval: no reminder. 13 messages in all.
"""

from __future__ import annotations

import base64
import email
import email.policy
import logging
import re
import smtplib
import sqlite3
import zlib
from datetime import timedelta

import pytest

from billing_reports import cli, notify, settings
from billing_reports.notify import outbox as notify_outbox
from billing_reports.notify import planning, smtp
from tests.notify.conftest import NOW, RecordingHandler

ACME = {"pat@acme.example", "bill@acme.example"}
MAPLE = {"prime@maple.example"}
ALL_MESSAGES = 13


@pytest.fixture
def outbox(tmp_path):
    return tmp_path / "outbox.sqlite"


@pytest.fixture
def run(handmade_warehouse, outbox):
    """``run_notify`` on the hand-made warehouse, at NOW unless told otherwise, quietly."""

    def run_once(**options):
        options.setdefault("now", NOW)
        options.setdefault("outbox", outbox)
        return notify.run_notify(handmade_warehouse, log=lambda line: None, **options)

    return run_once


def _outbox_rows(outbox) -> dict[str, dict]:
    with sqlite3.connect(outbox) as connection:
        connection.row_factory = sqlite3.Row
        return {row["message_id"]: dict(row) for row in connection.execute("select * from outbox")}


def _pdf_strings(pdf: bytes) -> list[str]:
    """The text shown in a reportlab PDF: its content streams are ASCII85 + Flate; strings are ``(...) Tj``."""
    strings = []
    for match in re.finditer(
        rb"/Filter \[ /ASCII85Decode /FlateDecode \][^>]*>>\s*stream\r?\n(.*?)endstream", pdf, re.S
    ):
        data = match.group(1).strip().replace(b"\n", b"").replace(b"\r", b"")
        if data.endswith(b"~>"):
            data = data[:-2]
        content = zlib.decompress(base64.a85decode(data))
        for text in re.findall(rb"\(((?:\\.|[^\\)])*)\)\s*Tj", content):
            strings.append(re.sub(rb"\\(.)", rb"\1", text).decode("latin-1"))
    return strings


def _value_after(strings: list[str], label: str) -> str:
    return strings[strings.index(label) + 1]


# --------------------------------------------------------------------------------------------
# The Job Activity Report (R11)
# --------------------------------------------------------------------------------------------


def test_job_activity_report_goes_once_to_each_contact_valid_at_completion(run, smtp_server):
    server = smtp_server()
    result = run()

    assert server.recipients_by_subject("job_activity") == {
        "J1": ACME,
        "J2": ACME,
        "J3": ACME,
        "J5": ACME,
        "J6": MAPLE,
    }
    assert all(len(item.rcpt_tos) == 1 for item in server.received)
    assert "old@acme.example" not in {address for item in server.received for address in item.rcpt_tos}
    assert max(server.message_id_counts().values()) == 1
    assert result.counts["job_activity"].sent == 9
    assert result.total("sent") == ALL_MESSAGES and result.exit_code == 0


def test_job_activity_subject_names_the_job_and_its_local_completion_date(run, smtp_server):
    server = smtp_server()
    run()

    subjects = {item.subject for item in server.of_kind("job_activity")}
    # J1 completed at 03:31Z on 2 March: 1 March in New York (R3).
    assert "Job Activity Report: March e-mail run (J1) completed 2026-03-01" in subjects
    assert "Job Activity Report: Toronto DST run (J6) completed 2026-03-09" in subjects
    assert len(subjects) == 5
    first = server.of_kind("job_activity")[0]
    assert first.mail_from == "reports@billing.example"
    assert first.message["Message-ID"].startswith("<job-activity.C1.J1.")


def test_job_activity_html_body_holds_the_figures(run, smtp_server):
    server = smtp_server()
    run()

    j3 = next(item for item in server.of_kind("job_activity") if "(J3)" in item.subject)
    body = j3.message.get_body(("html",)).get_content()
    assert "<th>Documents</th><td>2</td>" in body
    assert "<th>Pulled documents (pull class T)</th><td>0</td>" in body
    assert "<th>Failed deliveries</th><td>1</td>" in body
    assert "<th>Bounced deliveries</th><td>1</td>" in body
    # Completed 10:32Z on 5 March, in C1's zone (New York, before daylight saving): 05:32 EST.
    assert "<th>Completed</th><td>2026-03-05 05:32 EST</td>" in body
    text = j3.message.get_body(("plain",)).get_content()
    assert "Failed deliveries:     1" in text and "Bounced deliveries:    1" in text


def test_job_activity_pdf_attachment_is_the_same_report(run, smtp_server):
    server = smtp_server()
    run()

    j3 = next(item for item in server.of_kind("job_activity") if "(J3)" in item.subject)
    attachments = list(j3.message.iter_attachments())
    assert [part.get_filename() for part in attachments] == ["job-activity-J3.pdf"]
    assert attachments[0].get_content_type() == "application/pdf"
    pdf = attachments[0].get_content()
    assert pdf.startswith(b"%PDF")
    strings = _pdf_strings(pdf)
    assert _value_after(strings, "Documents") == "2"
    assert _value_after(strings, "Completed") == "2026-03-05 05:32 EST"  # 10:32Z in New York
    assert _value_after(strings, "Failed deliveries") == "1"
    assert _value_after(strings, "Bounced deliveries") == "1"


# --------------------------------------------------------------------------------------------
# Exactly once
# --------------------------------------------------------------------------------------------


def test_a_second_run_sends_nothing(run, smtp_server, outbox):
    server = smtp_server()
    first = run()
    second = run(now=NOW + timedelta(days=1))

    assert first.total("sent") == ALL_MESSAGES
    assert second.total("sent") == 0
    assert second.total("skipped") == ALL_MESSAGES
    assert len(server.received) == ALL_MESSAGES
    rows = _outbox_rows(outbox)
    assert {row["state"] for row in rows.values()} == {"sent"}
    assert {row["attempts"] for row in rows.values()} == {1}
    assert rows[server.received[0].message_id]["sent_at"] == "2026-03-15T12:00:00Z"


def test_a_crash_between_send_and_record_is_not_sent_again(run, smtp_server, outbox, monkeypatch):
    server = smtp_server()

    def crash(self, message_id, now, note=None):
        raise SystemExit("killed after the SMTP send, before recording it")

    with monkeypatch.context() as patch:
        patch.setattr(notify_outbox.Outbox, "mark_sent", crash)
        with pytest.raises(SystemExit):
            run()

    assert len(server.received) == 1
    crashed = server.received[0].message_id
    assert _outbox_rows(outbox)[crashed]["state"] == "sending"

    result = run()

    assert server.message_id_counts()[crashed] == 1
    assert max(server.message_id_counts().values()) == 1
    assert len(server.received) == ALL_MESSAGES
    assert result.counts["job_activity"].recovered == 1
    assert result.total("sent") == ALL_MESSAGES - 1
    row = _outbox_rows(outbox)[crashed]
    assert row["state"] == "sent" and row["last_error"] == notify_outbox.RECOVERED_NOTE
    assert run().total("sent") == 0


def test_a_connection_lost_during_data_is_assumed_delivered(run, smtp_server, outbox, monkeypatch):
    server = smtp_server()
    real_data = smtplib.SMTP.data
    calls = []

    def data_then_disconnect(self, message):
        reply = real_data(self, message)
        calls.append(1)
        if len(calls) == 1:
            raise smtplib.SMTPServerDisconnected("connection lost while waiting for the reply")
        return reply

    monkeypatch.setattr(smtplib.SMTP, "data", data_then_disconnect)
    first = run()
    second = run()

    assert first.total("sent") == ALL_MESSAGES and second.total("sent") == 0
    assert max(server.message_id_counts().values()) == 1 and len(server.received) == ALL_MESSAGES
    uncertain = [row for row in _outbox_rows(outbox).values() if row["last_error"]]
    assert len(uncertain) == 1 and uncertain[0]["last_error"].startswith(smtp.UNCERTAIN_NOTE)


def test_a_refused_first_attempt_is_retried_after_the_backoff_and_sent_once(run, smtp_server, outbox):
    server = smtp_server(RecordingHandler(refuse_data=1))

    first = run()
    assert first.total("failed") == 1 and first.total("sent") == ALL_MESSAGES - 1
    assert first.exit_code == 0  # a failure is retried later; it fails the run only when it goes dead
    [failed] = [row for row in _outbox_rows(outbox).values() if row["state"] == "failed"]
    assert failed["attempts"] == 1
    assert failed["next_attempt_at"] == "2026-03-15T12:05:00Z"  # now + 5 min x 2^0
    assert "451" in failed["last_error"]

    too_early = run(now=NOW + timedelta(minutes=4))
    assert too_early.total("sent") == 0 and too_early.total("waiting") == 1

    due = run(now=NOW + timedelta(minutes=6))
    assert due.total("sent") == 1
    assert server.message_id_counts()[failed["message_id"]] == 1
    assert len(server.received) == ALL_MESSAGES and max(server.message_id_counts().values()) == 1
    row = _outbox_rows(outbox)[failed["message_id"]]
    assert row["state"] == "sent" and row["attempts"] == 2


def test_a_message_that_keeps_failing_goes_dead_without_blocking_the_others(run, smtp_server, outbox):
    server = smtp_server(RecordingHandler(refuse_rcpt={"prime@maple.example"}))
    options = {"max_attempts": 2, "retry_base": timedelta(minutes=1)}

    first = run(**options)
    assert first.total("failed") == 2 and first.total("sent") == ALL_MESSAGES - 2  # J6 report, U5 alert
    assert first.exit_code == 0

    second = run(now=NOW + timedelta(minutes=1), **options)
    assert second.total("dead") == 2 and second.exit_code == 1
    assert "DEAD <job-activity.C2.J6." in second.summary()
    assert "550" in second.summary()
    assert {row["state"] for row in _outbox_rows(outbox).values() if "prime@" in row["recipient"]} == {"dead"}

    third = run(now=NOW + timedelta(days=1), **options)
    assert third.total("sent") == 0 and third.total("dead_before") == 2 and third.exit_code == 0

    server.refuse_rcpt.clear()
    requeued = run(now=NOW + timedelta(days=1), retry_dead=True, **options)
    assert requeued.total("sent") == 2
    assert len(server.received) == ALL_MESSAGES and max(server.message_id_counts().values()) == 1


def test_backoff_doubles_and_gives_up_after_max_attempts(tmp_path):
    box = notify_outbox.Outbox(tmp_path / "outbox.sqlite")
    message = planning.PlannedMessage("<m@x>", "job_activity", "a@b.example", None, "s", ("C1", "J1"), {})
    box.insert_pending(message, NOW)
    waits = []
    for _ in range(3):
        assert box.claim("<m@x>", NOW)
        row = box.mark_failed("<m@x>", NOW, "451", retry_base=timedelta(minutes=5), max_attempts=4)
        waits.append(notify_outbox._utc(row["next_attempt_at"]) - NOW)
    assert waits == [timedelta(minutes=5), timedelta(minutes=10), timedelta(minutes=20)]
    assert box.claim("<m@x>", NOW)
    assert box.mark_failed("<m@x>", NOW, "451", retry_base=timedelta(minutes=5), max_attempts=4)["state"] == "dead"
    assert not box.claim("<m@x>", NOW)
    box.close()


def test_message_ids_are_deterministic_and_safe():
    digest = "53850170782a"  # sha256("pat@acme.example")[:12]
    assert notify_outbox.message_id("job_activity", "C1", "J1", recipient="pat@acme.example") == (
        f"<job-activity.C1.J1.{digest}@billing-reports.local>"
    )
    odd = notify_outbox.message_id("overdue_file", "C 1", "a.b@c", recipient="pat@acme.example")
    assert re.fullmatch(r"<overdue-file\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[0-9a-f]{12}@billing-reports\.local>", odd)
    assert odd != notify_outbox.message_id("overdue_file", "C 1", "a-b@c", recipient="pat@acme.example")


# --------------------------------------------------------------------------------------------
# Overdue files (R12) and approval reminders
# --------------------------------------------------------------------------------------------


def test_overdue_file_alert_goes_to_the_primary_support_contact(run, smtp_server):
    server = smtp_server()
    result = run()

    assert server.recipients_by_subject("overdue_file") == {"U3": {"pat@acme.example"}, "U5": MAPLE}
    assert result.counts["overdue_file"].sent == 2
    u3 = next(item for item in server.of_kind("overdue_file") if "(U3)" in item.subject)
    assert u3.subject == "File not picked up: acme_0315b.txt (U3), uploaded 2026-03-15 07:00 EDT"
    text = u3.message.get_body(("plain",)).get_content()
    assert "acme_0315b.txt (file id U3)" in text
    assert "2026-03-15 11:00 UTC (2026-03-15 07:00 EDT, America/New_York)" in text  # uploaded
    assert "2026-03-15 11:15 UTC (2026-03-15 07:15 EDT, America/New_York)" in text  # expected pickup
    assert "submit a ticket to Customer Support" in text
    assert "submit a ticket to Customer Support" in u3.message.get_body(("html",)).get_content()

    u5 = next(item for item in server.of_kind("overdue_file") if "(U5)" in item.subject)
    text = u5.message.get_body(("plain",)).get_content()
    assert "2026-03-15 10:15 UTC (2026-03-15 06:15 EDT, America/Toronto)" in text
    assert "timed start rule holds processing until 2026-03-15 06:00 EDT" in text


def test_approval_reminder_for_a_job_awaiting_customer_approval_past_the_threshold(run, smtp_server):
    server = smtp_server()
    result = run()

    assert server.recipients_by_subject("approval_reminder") == {"J8": ACME}  # not J7: ops approval
    assert result.counts["approval_reminder"].sent == 2
    reminder = server.of_kind("approval_reminder")[0]
    assert reminder.message_id.startswith("<approval-reminder.C1.J8.20260311T132000Z.")
    assert reminder.subject == (
        "Approval needed: Waiting on customer (J8) awaiting your approval since 2026-03-11 09:20 EDT"
    )
    text = reminder.message.get_body(("plain",)).get_content()
    assert "2026-03-11 13:20 UTC" in text and "95 hours" in text
    assert "Job Approval report" in text and "30.00 USD" in text


def test_no_approval_reminder_while_the_wait_is_shorter_than_the_threshold(run, smtp_server):
    server = smtp_server()
    run(approval_reminder_hours=100)  # J8 has waited 94 h 40 min
    assert server.of_kind("approval_reminder") == []

    later = run(now=NOW + timedelta(hours=6), approval_reminder_hours=100)
    assert later.counts["approval_reminder"].sent == 2
    assert later.counts["job_activity"].skipped == 9


def test_approval_reminder_hours_come_from_the_environment(run, smtp_server, monkeypatch):
    server = smtp_server()
    monkeypatch.setenv("BILLING_APPROVAL_REMINDER_HOURS", "120")
    run()
    assert server.of_kind("approval_reminder") == []


# --------------------------------------------------------------------------------------------
# Command line, dry run, settings
# --------------------------------------------------------------------------------------------


def test_dry_run_writes_eml_files_without_a_server_and_a_real_run_still_sends(
    handmade_warehouse, tmp_path, outbox, run, smtp_server, capsys
):
    eml_dir = tmp_path / "eml"
    code = cli.main(
        ["notify", "--dry-run", "--warehouse", str(handmade_warehouse), "--outbox", str(outbox)]
        + ["--eml-dir", str(eml_dir)]
    )

    assert code == 0
    assert "nothing sent" in capsys.readouterr().out
    names = sorted(path.name for path in eml_dir.glob("*.eml"))
    assert len([name for name in names if name.startswith("job-activity.")]) == 9
    assert len([name for name in names if name.startswith("overdue-file.")]) == 2
    assert not outbox.exists()  # the dry run never writes the outbox
    j1 = email.message_from_bytes(
        (eml_dir / "job-activity.C1.J1.53850170782a.eml").read_bytes(), policy=email.policy.default
    )
    assert j1["To"] == "Pat Primary <pat@acme.example>"
    assert next(j1.iter_attachments()).get_content().startswith(b"%PDF")

    server = smtp_server()
    assert run().counts["job_activity"].sent == 9
    assert len(server.of_kind("job_activity")) == 9


def test_without_an_smtp_host_a_real_run_is_a_usage_error(handmade_warehouse, outbox, capsys):
    code = cli.main(["notify", "--warehouse", str(handmade_warehouse), "--outbox", str(outbox)])
    assert code == cli.EXIT_USAGE
    assert "BILLING_SMTP_HOST" in capsys.readouterr().err
    assert not outbox.exists()


def test_the_command_prints_a_summary_per_kind(handmade_warehouse, outbox, smtp_server, capsys):
    smtp_server()
    code = cli.main(["notify", "--warehouse", str(handmade_warehouse), "--outbox", str(outbox)])
    out = capsys.readouterr().out
    assert code == 0
    assert out.startswith("notify: 13 sent, 0 skipped (already sent), 0 failed, 0 dead")
    assert re.search(r"job_activity\s+9\s+0\s+0\s+0", out)
    assert re.search(r"overdue_file\s+2\s+0\s+0\s+0", out)
    assert re.search(r"approval_reminder\s+2\s+0\s+0\s+0", out)


def test_the_smtp_password_is_never_printed_or_stored(run, smtp_server, outbox, monkeypatch, capsys):
    smtp_server()  # aiosmtpd offers no AUTH on a plain connection: the login fails
    monkeypatch.setenv("BILLING_SMTP_USER", "reports")
    monkeypatch.setenv("BILLING_SMTP_PASSWORD", "s3cret-Pa55")
    result = run()
    assert result.total("failed") == ALL_MESSAGES
    printed = capsys.readouterr()
    everything = result.summary() + printed.out + printed.err + repr(settings.SmtpSettings.from_env())
    everything += "".join(str(row) for row in _outbox_rows(outbox).values())
    assert "s3cret-Pa55" not in everything


def test_refresh_notify_calls_run_notify_with_the_published_warehouse(
    handmade_warehouse, tmp_path, outbox, smtp_server, monkeypatch
):
    """``refresh --notify`` hands run_notify the published file and the build's as_of (billing_reports.refresh)."""
    from billing_reports import refresh
    from billing_reports.refresh import run as refresh_run

    server = smtp_server()
    monkeypatch.setenv("BILLING_OUTBOX", str(outbox))
    outcome = refresh.RefreshOutcome(
        run_id="20260315T120000Z-test",
        outcome="published",
        warehouse=handmade_warehouse,
        log_file=tmp_path / "refresh.log",
        record={"run_id": "20260315T120000Z-test"},
    )
    options = refresh.RefreshOptions(
        raw_dir=tmp_path, warehouse=handmade_warehouse, dbt_vars={"as_of": "2026-03-15T12:00:00Z"}, notify=True
    )
    refresh_run._notify(options, outcome, logging.getLogger("test-refresh"))

    assert outcome.ok, outcome.notify_message
    assert len(server.received) == ALL_MESSAGES
    assert _outbox_rows(outbox)  # the outbox named by BILLING_OUTBOX, not one beside the warehouse
    assert not (handmade_warehouse.parent / "outbox.sqlite").exists()
