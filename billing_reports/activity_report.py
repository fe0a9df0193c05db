"""The Job Activity Report (R11) of one job, read from the published warehouse.

``load_job_activity`` reads the public models in schema ``marts`` (read-only, one connection,
closed at once); ``render_html`` turns its result into one self-contained HTML page and
``render_pdf`` into a PDF (reportlab). Nothing here needs Streamlit: the dashboard offers the
report for download and the e-mail job sends it.

The report is the one the help page describes ("Click details to the right of the job ... and
click View Job Activity Report"): the job, its items per delivery method, pulled documents,
failed and bounced deliveries, the 10-step status timeline, its batches with the dates mailed
and the fees billed for it. R11 gives a report to every job with a ``JOB_COMPLETE`` event;
for a job still in progress ``load_job_activity`` returns the same data with
``is_complete = False`` and ``is_interim = True``: an interim report of what is done so far,
built from the other models (``rpt_job_documents``), and the renderers mark it as interim.
"""

from __future__ import annotations

import csv
import html
import io
from collections.abc import Iterable
from datetime import UTC, date, datetime
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from billing_reports.settings import PROJECT_DIR

STEP_STATE_LABELS = {
    "done": "Done",
    "current": "Current",
    "pending": "Pending",
    "not_applicable": "N/A",
}


class JobNotFound(LookupError):
    """No such job in the warehouse (or not one of the clients the caller may see)."""


@cache
def delivery_method_labels() -> dict[str, str]:
    """Display names of delivery methods, from the ``delivery_channels`` seed (one place to edit)."""
    labels: dict[str, str] = {}
    seed = PROJECT_DIR / "seeds" / "delivery_channels.csv"
    try:
        with seed.open(newline="", encoding="utf-8") as handle:
            for row in csv.DictReader(handle):
                labels[row["delivery_channel"]] = row["channel_label"]
    except (OSError, KeyError):
        pass
    return labels


def delivery_method_label(method: str | None) -> str:
    if method is None:
        return "Unknown"
    return delivery_method_labels().get(method, method.replace("_", " ").title())


def _rows(connection: Any, sql: str, params: list[Any]) -> list[dict[str, Any]]:
    cursor = connection.execute(sql, params)
    names = [column[0] for column in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def load_job_activity(
    warehouse_path: str | Path, job_id: str, client_ids: Iterable[str] | None = None, connection=None
) -> dict[str, Any]:
    """Everything the Job Activity Report of ``job_id`` shows, as plain Python values.

    ``client_ids`` limits the job to those clients (None = any client); a job outside them is
    reported as not found. Raises ``JobNotFound`` when there is no such job. ``connection``: an
    open (read-only) connection to use and leave open; by default the file is opened and closed.
    """
    import duckdb

    clients = None if client_ids is None else [str(client_id) for client_id in client_ids]
    own_connection = connection is None
    if own_connection:
        connection = duckdb.connect(str(warehouse_path), read_only=True)
    try:
        jobs = _rows(
            connection,
            """
            select
                client_id, job_id, job_name, created_at, current_status_code, current_status_label,
                current_status_at, document_count, pulled_document_count, is_complete,
                job_completed_at, job_complete_date
            from marts.rpt_job_tracking
            where job_id = ? and (?::varchar[] is null or list_contains(?::varchar[], client_id))
            """,
            [str(job_id), clients, clients],
        )
        if not jobs:
            raise JobNotFound(f"no job {job_id!r} in the warehouse")
        job = jobs[0]
        # Every part of the report is the job's AND its client's: a row published under the job's id
        # for another client (R14 rejects such landed rows) must never reach this client's report.
        activity = _rows(
            connection,
            """
            select
                completed_at, completed_date, print_document_count, electronic_document_count,
                pulled_document_count, failed_delivery_count, bounced_delivery_count,
                print_batch_count, electronic_batch_count, fee_amount_usd_billed, fee_amount_cad_billed
            from marts.rpt_job_activity
            where job_id = ? and client_id = ?
            """,
            [job["job_id"], job["client_id"]],
        )
        delivery_counts = _rows(
            connection,
            """
            select delivery_method, document_count, pulled_document_count
            from marts.rpt_job_delivery_counts
            where job_id = ? and client_id = ?
            order by document_count desc, delivery_method
            """,
            [job["job_id"], job["client_id"]],
        )
        steps = _rows(
            connection,
            """
            select
                step_order, status_code, status_label, step_state, entered_at, status_date,
                step_title, not_applicable_reason
            from marts.rpt_job_tracking_steps
            where job_id = ? and client_id = ?
            order by step_order
            """,
            [job["job_id"], job["client_id"]],
        )
        pulled_documents = _rows(
            connection,
            """
            select
                document_id, document_number, document_type, customer_account_id, delivery_channel,
                pulled_at, amount_due, currency
            from marts.fct_documents
            where job_id = ? and client_id = ? and is_pulled
            order by document_number, document_id
            """,
            [job["job_id"], job["client_id"]],
        )
        batches = _rows(
            connection,
            """
            select
                batch_id, batch_type, print_facility, date_mailed, mail_class, document_count,
                invoice_count, statement_count, cast(page_count as bigint) as page_count,
                piece_count, postage_amount, postage_currency
            from marts.rpt_billing_activity_details
            where job_id = ? and client_id = ?
            order by date_mailed, batch_id
            """,
            [job["job_id"], job["client_id"]],
        )
        recipients = _rows(
            connection,
            """
            select contact_id, full_name, email, role
            from marts.rpt_job_activity_recipients
            where job_id = ? and client_id = ?
            order by role, full_name, contact_id
            """,
            [job["job_id"], job["client_id"]],
        )
        client = _rows(
            connection,
            "select display_name as name, timezone from marts.dim_clients where client_id = ?",
            [job["client_id"]],
        )
        # No report row yet (R11: only a job with a JOB_COMPLETE event has one): an interim report
        # of what is done so far, from the other models.
        interim = None if activity else _interim_activity(connection, job["job_id"])
    finally:
        if own_connection:
            connection.close()

    activity_row = activity[0] if activity else None
    fees = []
    if activity_row is not None:
        fees = [
            {"currency": "USD", "amount": activity_row["fee_amount_usd_billed"]},
            {"currency": "CAD", "amount": activity_row["fee_amount_cad_billed"]},
        ]
        fees = [fee for fee in fees if fee["amount"]]
    return {
        "job": job,
        "is_complete": activity_row is not None,
        "is_interim": activity_row is None,
        "activity": activity_row if activity_row is not None else interim,
        "delivery_counts": delivery_counts,
        "steps": steps,
        "pulled_documents": pulled_documents,
        "batches": batches,
        "fees": fees,
        "recipients": recipients,
        # Times are shown in the client's zone (R3), with its abbreviation; the values stay UTC.
        "client": {
            "client_id": job["client_id"],
            "name": (client[0]["name"] if client else None) or job["client_id"],
            "timezone": client[0]["timezone"] if client else None,
        },
        "generated_at": datetime.now(UTC).replace(microsecond=0),
    }


def _interim_activity(connection: Any, job_id: str) -> dict[str, Any]:
    """What the report of a job still in progress can say so far, from ``marts.rpt_job_documents``
    (documents by group, delivery attempts that failed or bounced, batches holding them, documents
    mailed or sent and still waiting). ``rpt_job_activity`` keeps its grain (completed jobs)."""
    rows = _rows(
        connection,
        """
        select
            cast(null as timestamp) as completed_at,
            cast(null as date) as completed_date,
            count(case when delivery_method_group = 'print' then 1 end) as print_document_count,
            count(case when delivery_method_group = 'electronic' then 1 end) as electronic_document_count,
            count(case when is_pulled then 1 end) as pulled_document_count,
            coalesce(sum(failed_attempt_count), 0) as failed_delivery_count,
            coalesce(sum(bounced_attempt_count), 0) as bounced_delivery_count,
            count(distinct case when batch_type = 'print' then batch_id end) as print_batch_count,
            count(distinct case when batch_type = 'electronic' then batch_id end) as electronic_batch_count,
            count(mailed_or_sent_at) as mailed_or_sent_document_count,
            count(case when delivery_state = 'waiting' then 1 end) as waiting_document_count,
            count(case when delivery_state = 'bounced_or_failed' then 1 end) as bounced_or_failed_document_count
        from marts.rpt_job_documents
        where job_id = ?
        """,
        [job_id],
    )
    return rows[0]


# --------------------------------------------------------------------------------------------
# Formatting shared by both renderers
# --------------------------------------------------------------------------------------------


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(UTC).replace(tzinfo=None)
        return value.strftime("%Y-%m-%d %H:%M UTC")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal | float):
        return f"{value:,.2f}"
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def _when(value: datetime | None, data: dict[str, Any]) -> str:
    """A UTC timestamp (naive = UTC) in the client's time zone with its abbreviation,
    e.g. "2026-03-08 01:30 EST"; UTC when the client's zone is not known."""
    if value is None:
        return ""
    zone_name = (data.get("client") or {}).get("timezone")
    try:
        zone = ZoneInfo(zone_name) if zone_name else UTC
    except (ZoneInfoNotFoundError, ValueError):
        zone = UTC
    moment = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    moment = moment.astimezone(zone)
    return f"{moment:%Y-%m-%d %H:%M} {moment.tzname()}"


def _zone_note(data: dict[str, Any]) -> str:
    zone_name = (data.get("client") or {}).get("timezone")
    where = f"the client's time zone ({zone_name})" if zone_name else "UTC"
    return f"Times are in {where}; dates are the client's local dates."


def _money(amount: Any, currency: str | None) -> str:
    if amount is None:
        return ""
    return f"{amount:,.2f} {currency or ''}".strip()


def _summary(data: dict[str, Any]) -> list[tuple[str, str]]:
    job, activity = data["job"], data["activity"] or {}
    rows = [
        ("Client", _text((data.get("client") or {}).get("name") or job["client_id"])),
        ("Job", f"{job['job_id']} ({job['job_name']})" if job.get("job_name") else _text(job["job_id"])),
        ("Created", _when(job["created_at"], data)),
        ("Status", _text(job["current_status_label"])),
        (
            "Completed",
            _when(activity.get("completed_at"), data) if activity.get("completed_at") else "Not complete yet",
        ),
        ("Documents", _text(job["document_count"])),
    ]
    if activity:
        rows += [
            ("Print documents", _text(activity["print_document_count"])),
            ("Electronic documents", _text(activity["electronic_document_count"])),
            ("Pulled documents (pull class T)", _text(activity["pulled_document_count"])),
            ("Failed deliveries", _text(activity["failed_delivery_count"])),
            ("Bounced deliveries", _text(activity["bounced_delivery_count"])),
            ("Print batches", _text(activity["print_batch_count"])),
            ("Electronic batches", _text(activity["electronic_batch_count"])),
        ]
    if data.get("is_interim") and activity:
        rows += [
            ("Documents mailed or sent so far", _text(activity["mailed_or_sent_document_count"])),
            ("Documents bounced or failed (latest attempt)", _text(activity["bounced_or_failed_document_count"])),
            ("Documents still waiting", _text(activity["waiting_document_count"])),
        ]
    else:
        rows.append(("Pulled documents (pull class T)", _text(job["pulled_document_count"])))
    return rows


def _step_title(step: dict[str, Any]) -> str:
    """The step's title as the tracker shows it: steps 7 and 9 with their date, not "(Date)"."""
    return step.get("step_title") or step["status_label"]


def _step_state(step: dict[str, Any]) -> str:
    """The step's state; a step that does not apply says why ("N/A: this job has no print bills")."""
    state = step["step_state"]
    if state == "not_applicable" and step.get("not_applicable_reason"):
        return step["not_applicable_reason"]
    return STEP_STATE_LABELS.get(state, state)


def _step_date(step: dict[str, Any], data: dict[str, Any]) -> str:
    if step.get("status_date") is not None:
        return _text(step["status_date"])
    return _when(step.get("entered_at"), data)


def _title(data: dict[str, Any]) -> str:
    job = data["job"]
    interim = "Interim " if data.get("is_interim") else ""
    return f"{interim}Job Activity Report: {job['job_name'] or job['job_id']}"


# --------------------------------------------------------------------------------------------
# HTML
# --------------------------------------------------------------------------------------------

_CSS = """
.jar { font-family: -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif; color: #1f2933;
       max-width: 960px; margin: 0 auto; padding: 24px; font-size: 14px; }
.jar h1 { font-size: 22px; margin: 0 0 4px; }
.jar h2 { font-size: 16px; margin: 24px 0 8px; border-bottom: 1px solid #d9e2ec; padding-bottom: 4px; }
.jar .note { color: #52606d; margin: 0 0 12px; }
.jar .interim { background: #fff8e1; border: 1px solid #f0b429; padding: 8px 12px; border-radius: 4px; }
.jar table { border-collapse: collapse; width: 100%; }
.jar th, .jar td { text-align: left; padding: 4px 8px; border-bottom: 1px solid #e4e7eb; vertical-align: top; }
.jar th { background: #f5f7fa; font-weight: 600; }
.jar td.num, .jar th.num { text-align: right; }
.jar table.summary th { width: 40%; background: none; font-weight: 500; color: #52606d; }
.jar .state { display: inline-block; min-width: 64px; padding: 1px 8px; border-radius: 10px; font-size: 12px;
              text-align: center; }
.jar .state-done { background: #e3f9e5; color: #1f6e2c; }
.jar .state-current { background: #dceefb; color: #0b4f8a; font-weight: 600; }
.jar .state-pending { background: #f0f4f8; color: #52606d; }
.jar .state-not_applicable { background: #fafafa; color: #9aa5b1; }
.jar .empty { color: #7b8794; font-style: italic; }
.jar footer { margin-top: 24px; color: #7b8794; font-size: 12px; }
"""


def _delivery_counts_section(data: dict[str, Any]) -> dict[str, Any]:
    """Items by delivery method, as both the HTML and the PDF show it."""
    return dict(
        headers=["Delivery method", "Documents", "Of which pulled"],
        rows=[
            [
                delivery_method_label(row["delivery_method"]),
                _text(row["document_count"]),
                _text(row["pulled_document_count"]),
            ]
            for row in data["delivery_counts"]
        ],
        numeric={1, 2},
        empty="No documents.",
    )


def _pulled_documents_section(data: dict[str, Any]) -> dict[str, Any]:
    """The documents pulled at approval, as both the HTML and the PDF show them."""
    return dict(
        headers=["Document", "Type", "Customer", "Routed to", "Pulled at", "Amount due"],
        rows=[
            [
                _text(row["document_number"] or row["document_id"]),
                _text(row["document_type"]),
                _text(row["customer_account_id"]),
                delivery_method_label(row["delivery_channel"]),
                _when(row["pulled_at"], data),
                _money(row["amount_due"], row["currency"]),
            ]
            for row in data["pulled_documents"]
        ],
        numeric={5},
        empty="No documents were pulled.",
    )


def _fees_section(data: dict[str, Any]) -> dict[str, Any]:
    """The job's fees per currency, as both the HTML and the PDF show them."""
    return dict(
        headers=["Currency", "Amount billed"],
        rows=[[fee["currency"], _money(fee["amount"], fee["currency"])] for fee in data["fees"]],
        numeric={1},
        empty="No fees billed for this job." if data["is_complete"] else "Fees are shown once the job completes.",
    )


def _html_table(headers: list[str], rows: list[list[str]], numeric: set[int] = frozenset(), empty: str = "") -> str:
    if not rows:
        return f'<p class="empty">{html.escape(empty or "None.")}</p>'
    head = "".join(
        f'<th class="num">{html.escape(name)}</th>' if index in numeric else f"<th>{html.escape(name)}</th>"
        for index, name in enumerate(headers)
    )
    body = "".join(
        "<tr>"
        + "".join(
            f'<td class="num">{html.escape(cell)}</td>' if index in numeric else f"<td>{html.escape(cell)}</td>"
            for index, cell in enumerate(row)
        )
        + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def render_html_body(data: dict[str, Any]) -> str:
    """The report as one ``<div class="jar">`` with its own scoped ``<style>`` (for embedding)."""
    job = data["job"]
    parts = [f"<style>{_CSS}</style>", '<div class="jar">', f"<h1>{html.escape(_title(data))}</h1>"]
    client_name = (data.get("client") or {}).get("name") or job["client_id"]
    parts.append(f'<p class="note">Job {html.escape(job["job_id"])} for {html.escape(client_name)}</p>')
    if not data["is_complete"]:
        parts.append(
            '<p class="interim"><strong>Interim report.</strong> This job is not complete yet: this report '
            "shows what is done so far. The Job Activity Report is e-mailed automatically once the job has "
            "completed.</p>"
        )

    parts.append("<h2>Summary</h2><table class='summary'><tbody>")
    parts += [f"<tr><th>{html.escape(label)}</th><td>{html.escape(value)}</td></tr>" for label, value in _summary(data)]
    parts.append("</tbody></table>")

    parts.append("<h2>Items by delivery method</h2>")
    parts.append(_html_table(**_delivery_counts_section(data)))

    parts.append("<h2>Status timeline</h2>")
    step_rows = []
    for step in data["steps"]:
        state = step["step_state"]
        step_rows.append(
            f"<tr><td class='num'>{step['step_order']}</td><td>{html.escape(_step_title(step))}</td>"
            f"<td><span class='state state-{html.escape(state)}'>{html.escape(_step_state(step))}"
            f"</span></td><td>{html.escape(_step_date(step, data))}</td></tr>"
        )
    parts.append(
        "<table><thead><tr><th class='num'>Step</th><th>Status</th><th>State</th><th>Date</th></tr></thead>"
        f"<tbody>{''.join(step_rows)}</tbody></table>"
    )

    parts.append("<h2>Batches</h2>")
    parts.append(
        _html_table(
            [
                "Batch",
                "Type",
                "Facility",
                "Date mailed",
                "Documents",
                "Invoices",
                "Statements",
                "Pages",
                "Pieces",
                "Postage",
            ],
            [
                [
                    _text(row["batch_id"]),
                    _text(row["batch_type"]),
                    _text(row["print_facility"]),
                    _text(row["date_mailed"]),
                    _text(row["document_count"]),
                    _text(row["invoice_count"]),
                    _text(row["statement_count"]),
                    _text(row["page_count"]),
                    _text(row["piece_count"]),
                    _money(row["postage_amount"], row["postage_currency"]),
                ]
                for row in data["batches"]
            ],
            numeric={4, 5, 6, 7, 8, 9},
            empty="No batch has been mailed or sent yet.",
        )
    )

    parts.append("<h2>Pulled documents</h2>")
    parts.append(_html_table(**_pulled_documents_section(data)))

    parts.append("<h2>Fees</h2>")
    parts.append(_html_table(**_fees_section(data)))

    parts.append(
        f"<footer>Generated {html.escape(_when(data['generated_at'], data))}. {html.escape(_zone_note(data))}</footer>"
    )
    parts.append("</div>")
    return "".join(parts)


def render_html(data: dict[str, Any]) -> str:
    """The report as one self-contained HTML page (inline CSS, no scripts, no external files)."""
    return (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        f"<title>{html.escape(_title(data))}</title></head><body>"
        f"{render_html_body(data)}</body></html>\n"
    )


# --------------------------------------------------------------------------------------------
# PDF
# --------------------------------------------------------------------------------------------


def render_pdf(data: dict[str, Any]) -> bytes:
    """The report as a PDF (US letter: the clients are in the US and Canada)."""
    from reportlab.lib import colors
    from reportlab.lib.enums import TA_RIGHT
    from reportlab.lib.pagesizes import letter
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.lib.units import inch
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    styles = getSampleStyleSheet()
    small = styles["BodyText"].clone("small", fontSize=8, leading=10)
    cell = styles["BodyText"].clone("cell", fontSize=8.5, leading=10.5)
    number = cell.clone("number", alignment=TA_RIGHT)
    buffer = io.BytesIO()
    document = SimpleDocTemplate(
        buffer,
        pagesize=letter,
        leftMargin=0.6 * inch,
        rightMargin=0.6 * inch,
        topMargin=0.6 * inch,
        bottomMargin=0.6 * inch,
        title=_title(data),
        author="Billing reports",
    )
    width = letter[0] - 1.2 * inch
    grid = TableStyle(
        [
            ("FONT", (0, 0), (-1, 0), "Helvetica-Bold", 8.5),
            ("FONT", (0, 1), (-1, -1), "Helvetica", 8.5),
            ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#f5f7fa")),
            ("LINEBELOW", (0, 0), (-1, -1), 0.25, colors.HexColor("#d9e2ec")),
            ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ]
    )

    def table(
        headers: list[str],
        rows: list[list[str]],
        numeric: Iterable[int] = (),
        empty: str = "None.",
        widths: list[float] | None = None,
    ):
        if not rows:
            return Paragraph(html.escape(empty), small)
        numeric = set(numeric)
        body = [
            [Paragraph(html.escape(value), number if index in numeric else cell) for index, value in enumerate(row)]
            for row in rows
        ]
        result = Table(
            [headers, *body],
            repeatRows=1,
            hAlign="LEFT",
            colWidths=[width * share for share in widths] if widths else None,
        )
        style = TableStyle(grid.getCommands())
        for index in numeric:
            style.add("ALIGN", (index, 0), (index, -1), "RIGHT")
        result.setStyle(style)
        return result

    story: list[Any] = [Paragraph(html.escape(_title(data)), styles["Title"])]
    job = data["job"]
    client_name = (data.get("client") or {}).get("name") or job["client_id"]
    story.append(Paragraph(html.escape(f"Job {job['job_id']} for {client_name}"), styles["Normal"]))
    if not data["is_complete"]:
        story.append(Spacer(1, 6))
        story.append(
            Paragraph(
                "Interim report. This job is not complete yet: this report shows what is done so far.",
                styles["Italic"],
            )
        )

    story += [Spacer(1, 10), Paragraph("Summary", styles["Heading2"])]
    summary = Table(
        [[Paragraph(html.escape(label), cell), Paragraph(html.escape(value), cell)] for label, value in _summary(data)],
        colWidths=[width * 0.4, width * 0.6],
        hAlign="LEFT",
    )
    summary.setStyle(TableStyle([("LINEBELOW", (0, 0), (-1, -1), 0.25, colors.HexColor("#d9e2ec"))]))
    story.append(summary)

    story += [Paragraph("Items by delivery method", styles["Heading2"])]
    story.append(table(**_delivery_counts_section(data)))

    story += [Paragraph("Status timeline", styles["Heading2"])]
    story.append(
        table(
            ["Step", "Status", "State", "Date"],
            [
                [
                    str(step["step_order"]),
                    _step_title(step),
                    _step_state(step),
                    _step_date(step, data),
                ]
                for step in data["steps"]
            ],
            numeric=(0,),
            widths=[0.07, 0.5, 0.13, 0.3],
        )
    )

    story += [Paragraph("Batches", styles["Heading2"])]
    story.append(
        table(
            ["Batch", "Type", "Facility", "Date mailed", "Docs", "Pages", "Pieces", "Postage"],
            [
                [
                    _text(row["batch_id"]),
                    _text(row["batch_type"]),
                    _text(row["print_facility"]),
                    _text(row["date_mailed"]),
                    _text(row["document_count"]),
                    _text(row["page_count"]),
                    _text(row["piece_count"]),
                    _money(row["postage_amount"], row["postage_currency"]),
                ]
                for row in data["batches"]
            ],
            numeric=(4, 5, 6, 7),
            empty="No batch has been mailed or sent yet.",
        )
    )

    story += [Paragraph("Pulled documents", styles["Heading2"])]
    story.append(table(**_pulled_documents_section(data)))

    story += [Paragraph("Fees", styles["Heading2"])]
    story.append(table(**_fees_section(data)))
    story += [
        Spacer(1, 14),
        Paragraph(
            html.escape(f"Generated {_when(data['generated_at'], data)}. {_zone_note(data)}"),
            small,
        ),
    ]
    document.build(story)
    return buffer.getvalue()
