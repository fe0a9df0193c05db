"""The e-mails of notify: subject, text and HTML bodies, and the Job Activity Report attached."""

from __future__ import annotations

import email.policy
import email.utils
import html
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from billing_reports.notify.outbox import _fmt_both, _fmt_local, _fmt_utc, _one_line, _token, _utc
from billing_reports.notify.planning import PICKUP_WINDOW, PlannedMessage

#: On the wire: CRLF, and headers folded only past 200 characters (RFC 5322 allows 998), so that
#: a subject is one line (Python folds a long unstructured header badly, leaving a leading space).
WIRE_POLICY = email.policy.SMTP.clone(max_line_length=200)


# --------------------------------------------------------------------------------------------
# Building the e-mails
# --------------------------------------------------------------------------------------------


class MessageBuilder:
    """Turns a planned message into an ``EmailMessage``; renders each job's report once per run."""

    def __init__(self, warehouse: Path, mail_from: str, clock: Callable[[], datetime]):
        self.warehouse = warehouse
        self.mail_from = mail_from
        self.clock = clock
        self._report_key: tuple | None = None
        self._report: tuple[dict[str, Any], str, bytes] | None = None

    def build(self, message: PlannedMessage) -> EmailMessage:
        mail = EmailMessage()
        mail["Subject"] = message.subject
        mail["From"] = self.mail_from
        mail["To"] = email.utils.formataddr((_one_line(message.recipient_name or ""), message.recipient))
        mail["Date"] = email.utils.format_datetime(self.clock())
        mail["Message-ID"] = message.message_id
        mail["Auto-Submitted"] = "auto-generated"
        mail["X-Billing-Kind"] = message.kind
        getattr(self, f"_build_{message.kind}")(message, mail)
        return mail

    # The Job Activity Report -------------------------------------------------------------

    def _job_report(self, client_id: str, job_id: str) -> tuple[dict[str, Any], str, bytes]:
        from billing_reports.activity_report import load_job_activity, render_html, render_pdf

        if self._report_key != (client_id, job_id):
            data = load_job_activity(self.warehouse, job_id, client_ids=[client_id])
            self._report = (data, render_html(data), render_pdf(data))
            self._report_key = (client_id, job_id)
        assert self._report is not None
        return self._report

    def _build_job_activity(self, message: PlannedMessage, mail: EmailMessage) -> None:
        client_id, job_id = message.key
        data, report_html, report_pdf = self._job_report(client_id, job_id)
        job, activity = data["job"], data["activity"] or {}
        lines = [
            f"Hello {message.recipient_name or ''},".replace(" ,", ","),
            "",
            f"Job {job_id} ({job.get('job_name') or ''}) has completed. Its Job Activity Report is below "
            "and attached as a PDF.",
            "",
            f"  Completed:             {_fmt_utc(activity.get('completed_at'))} "
            f"(local date {activity.get('completed_date') or ''})",
            f"  Documents:             {job.get('document_count')}",
            f"  Print documents:       {activity.get('print_document_count')}",
            f"  Electronic documents:  {activity.get('electronic_document_count')}",
            f"  Pulled documents:      {activity.get('pulled_document_count')}",
            f"  Failed deliveries:     {activity.get('failed_delivery_count')}",
            f"  Bounced deliveries:    {activity.get('bounced_delivery_count')}",
            "",
            "You can also view this report in Client Connect: Reporting tab, Job Tracking Report, "
            "details of the job, View Job Activity Report.",
            "",
            "This report is e-mailed once per completed job.",
        ]
        mail.set_content("\n".join(lines) + "\n")
        mail.add_alternative(report_html, subtype="html")
        mail.add_attachment(
            report_pdf, maintype="application", subtype="pdf", filename=f"job-activity-{_token(job_id)}.pdf"
        )

    # The overdue-file alert --------------------------------------------------------------

    def _build_overdue_file(self, message: PlannedMessage, mail: EmailMessage) -> None:
        row = message.context
        timezone = row.get("timezone")
        client = f"{row.get('client_name') or row['client_id']} ({row['client_id']})"
        expected = _utc(row["expected_pickup_by"])
        uploaded = _utc(row["uploaded_at"])
        processing_start = expected - PICKUP_WINDOW
        facts = [
            ("Client", client),
            ("File", f"{row['file_name']} (file id {row['file_id']})"),
            ("Uploaded", _fmt_both(uploaded, timezone)),
            ("Expected pickup by", _fmt_both(expected, timezone)),
        ]
        if processing_start > uploaded:
            window = (
                "A timed start rule holds processing until "
                f"{_fmt_local(processing_start, timezone) or _fmt_utc(processing_start)}; "
                "the 15-minute pickup window starts then."
            )
        else:
            window = "A file is normally picked up for processing within 15 minutes of its upload."
        action = (
            "What to do: if your job does not appear in the Job Tracking report in Client Connect, "
            "please submit a ticket to Customer Support, quoting the file name and file id above."
        )
        intro = f"The file {row['file_name']} was uploaded but has not been picked up for processing."
        footer = "You receive this alert once per file."
        _set_text_and_html(mail, message.recipient_name, intro, facts, [window, action], footer)

    # The approval reminder ---------------------------------------------------------------

    def _build_approval_reminder(self, message: PlannedMessage, mail: EmailMessage) -> None:
        row = message.context
        timezone = row.get("timezone")
        since = _utc(row["awaiting_since"])
        waited = _utc(row["reference_time"]) - since
        hours = waited.total_seconds() / 3600
        amount = row.get("amount_due")
        amount_text = "" if amount is None else f"{Decimal(amount):,.2f} {row.get('currency') or ''}".strip()
        facts = [
            ("Client", f"{row.get('client_name') or row['client_id']} ({row['client_id']})"),
            ("Job", f"{row['job_id']} ({row.get('job_name') or ''})"),
            ("Awaiting customer approval since", _fmt_both(since, timezone)),
            ("Waiting for", f"{hours:,.0f} hours"),
            ("Documents", f"{row.get('document_count')}"),
            ("Amount due", amount_text),
            ("Pulled documents (pull class T)", f"{row.get('pulled_document_count')}"),
        ]
        intro = f"Job {row['job_id']} is waiting for your approval before it can be processed to completion."
        action = (
            "What to do: in Client Connect, open the Reporting tab and run the Job Approval report; "
            "approve the job there (documents you select to be pulled are converted to pull class T)."
        )
        footer = "You receive this reminder once each time a job starts waiting for your approval."
        _set_text_and_html(mail, message.recipient_name, intro, facts, [action], footer)

    # The confirmation of a decision -------------------------------------------------------

    def _build_approval_decision(self, message: PlannedMessage, mail: EmailMessage) -> None:
        from billing_reports.approvals import describe_amounts

        row = message.context
        timezone = row.get("timezone")
        approved = row["decision"] == "approved"
        stage = "operations" if row["stage"] == "ops" else "customer"
        facts = [
            ("Client", f"{row.get('client_name') or row['client_id']} ({row['client_id']})"),
            ("Job", f"{row['job_id']} ({row.get('job_name') or ''})"),
            ("Decision", f"{row['decision']} ({stage} approval)"),
            ("Decided by", row["decided_by"]),
            ("Decided at", _fmt_both(row["decided_at"], timezone)),
        ]
        if approved:
            facts.append(("Documents to send", f"{row['send_count']} ({describe_amounts(row['send_amounts'])})"))
            facts.append(
                ("Documents pulled (Pull Class T)", f"{len(row['pulls'])} ({describe_amounts(row['pull_amounts'])})")
            )
            facts += [
                (
                    f"  pulled {pull['document_number'] or pull['document_id']}",
                    f"{pull['amount_due']} {pull['currency']}",
                )
                for pull in row["pulls"]
            ]
        if row.get("reason"):
            facts.append(("Reason", row["reason"]))
        verb = "approved" if approved else "rejected"
        intro = f"Job {row['job_id']} was {verb} in Client Connect. This confirms the decision."
        paragraphs = [
            "The decision has been passed to the billing system; the Job approval and Job tracking reports show "
            "it once the billing system has taken it."
        ]
        footer = "You receive this confirmation once per decision."
        _set_text_and_html(mail, message.recipient_name, intro, facts, paragraphs, footer)


def _set_text_and_html(
    mail: EmailMessage,
    name: str | None,
    intro: str,
    facts: list[tuple[str, str]],
    paragraphs: list[str],
    footer: str,
) -> None:
    greeting = f"Hello {name}," if name else "Hello,"
    width = max(len(label) for label, _ in facts) + 2
    text = [greeting, "", intro, ""]
    text += [f"  {label + ':':<{width}} {value}" for label, value in facts]
    text += [""] + [line for paragraph in paragraphs for line in (paragraph, "")] + [footer]
    mail.set_content("\n".join(text) + "\n")
    rows = "".join(
        f"<tr><th style='text-align:left;padding:2px 12px 2px 0;color:#52606d'>{html.escape(label)}</th>"
        f"<td>{html.escape(value)}</td></tr>"
        for label, value in facts
    )
    body = "".join(f"<p>{html.escape(paragraph)}</p>" for paragraph in paragraphs)
    mail.add_alternative(
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'></head>"
        "<body style='font-family:Helvetica,Arial,sans-serif;font-size:14px;color:#1f2933'>"
        f"<p>{html.escape(greeting)}</p><p>{html.escape(intro)}</p><table>{rows}</table>{body}"
        f"<p style='color:#7b8794;font-size:12px'>{html.escape(footer)}</p></body></html>\n",
        subtype="html",
    )
