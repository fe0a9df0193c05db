"""The Job Activity Report (R11) module, on the hand-made warehouse: no Streamlit involved."""

from __future__ import annotations

import re
import sys
from decimal import Decimal

import pytest

from billing_reports.activity_report import JobNotFound, load_job_activity, render_html, render_pdf


def test_load_job_activity_gathers_the_report_of_a_completed_job(dashboard_warehouse):
    report = load_job_activity(dashboard_warehouse, "J1")
    assert report["is_complete"]
    assert report["job"]["job_name"] == "March statements"
    assert {row["delivery_method"]: row["document_count"] for row in report["delivery_counts"]} == {
        "us_mail": 2,
        "email": 1,
        "pull": 1,
    }
    assert [step["step_order"] for step in report["steps"]] == list(range(1, 11))
    assert [step["step_state"] for step in report["steps"]][:5] == [
        "done", "done", "not_applicable", "not_applicable", "done",
    ]  # fmt: skip
    assert [document["document_number"] for document in report["pulled_documents"]] == ["INV-D14"]
    assert [(batch["batch_id"], str(batch["date_mailed"])) for batch in report["batches"]] == [
        ("B2", "2026-03-02"),
        ("B1", "2026-03-03"),
    ]
    assert report["activity"]["bounced_delivery_count"] == 1
    assert report["activity"]["failed_delivery_count"] == 0
    assert report["fees"] == [{"currency": "USD", "amount": Decimal("54.50")}]
    assert {recipient["email"] for recipient in report["recipients"]} == {"pat@acme.example", "bill@acme.example"}


def test_cad_fees_stay_in_cad(dashboard_warehouse):
    report = load_job_activity(dashboard_warehouse, "J5")
    assert report["fees"] == [
        {"currency": "USD", "amount": Decimal("5.50")},
        {"currency": "CAD", "amount": Decimal("100.00")},
    ]


def test_a_job_outside_the_callers_clients_is_not_found(dashboard_warehouse):
    assert load_job_activity(dashboard_warehouse, "J1", client_ids=["ACME"])["job"]["client_id"] == "ACME"
    with pytest.raises(JobNotFound):
        load_job_activity(dashboard_warehouse, "J1", client_ids=["MAPLE"])
    with pytest.raises(JobNotFound):
        load_job_activity(dashboard_warehouse, "NO-SUCH-JOB")


def test_the_html_report_is_self_contained_and_shows_the_figures(dashboard_warehouse):
    html = render_html(load_job_activity(dashboard_warehouse, "J1"))
    assert html.startswith("<!DOCTYPE html>")
    assert "Job Activity Report: March statements" in html
    for figure in ("INV-D14", "54.50 USD", "B1", "2026-03-03", "Bounced deliveries", "US Mail"):
        assert figure in html, figure
    assert len(re.findall(r"state-(?:done|current|pending|not_applicable)'", html)) == 10
    # Self-contained: no scripts, no external files.
    assert "<script" not in html.lower()
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html, re.IGNORECASE)


def test_the_html_report_escapes_what_it_shows(dashboard_warehouse):
    report = load_job_activity(dashboard_warehouse, "J1")
    report["job"]["job_name"] = "<img src=x onerror=alert(1)>"
    html = render_html(report)
    assert "<img src=x" not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html


def test_an_incomplete_job_renders_as_an_interim_view(dashboard_warehouse):
    report = load_job_activity(dashboard_warehouse, "J3")
    assert not report["is_complete"]
    assert "not complete yet" in render_html(report)
    assert render_pdf(report).startswith(b"%PDF")


def test_the_pdf_report(dashboard_warehouse):
    pdf = render_pdf(load_job_activity(dashboard_warehouse, "J1"))
    assert pdf.startswith(b"%PDF-")
    assert pdf.rstrip().endswith(b"%%EOF")
    assert len(pdf) > 2_000


def test_the_report_module_does_not_need_streamlit():
    import subprocess

    code = (
        "import sys; import billing_reports.activity_report as report; "
        "assert 'streamlit' not in sys.modules, 'imports streamlit'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
