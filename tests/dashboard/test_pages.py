"""Every dashboard page, run with Streamlit's AppTest against the hand-made warehouse (conftest.py).

The expected figures are worked out by hand in conftest.py's docstring.
"""

from __future__ import annotations

import json
import re
from datetime import date

import pytest

PAGES = [
    "job_tracking",
    "job_approval",
    "file_pickup",
    "billing_statistics",
    "billing_activity_details",
    "branch_report",
    "branch_billing",
    "customer_routing",
    "rule_change_audit",
]


def metrics(app) -> dict[str, str]:
    return {metric.label: metric.value for metric in app.metric}


def table(app, *leading_columns: str):
    """The table whose first columns are ``leading_columns`` (tables without selection carry no key)."""
    frames = [frame.value for frame in app.dataframe]
    for frame in frames:
        if list(frame.columns[: len(leading_columns)]) == list(leading_columns):
            return frame
    raise AssertionError(f"no table starting {leading_columns}; tables: {[list(f.columns) for f in frames]}")


def texts(elements) -> str:
    return "\n".join(str(element.value) for element in elements)


# ----------------------------------------------------------------------------------------------
# Every page: the banner, the empty warehouse, a missing warehouse
# ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("page", PAGES)
def test_every_page_says_when_the_data_was_refreshed(open_page, page):
    app = open_page(page)
    assert "Data last refreshed" in texts(app.info)
    # The successful run two hours ago counts; the failed run after it does not.
    assert "2 hours ago" in texts(app.info)
    assert "Stale" not in texts(app.warning)
    assert app.title[0].value and app.caption[0].value  # the report's name and its one-line description


@pytest.mark.parametrize("page", PAGES)
def test_every_page_marks_data_older_than_26_hours_as_stale(open_page, stale_warehouse, page):
    app = open_page(page, stale_warehouse)
    warning = texts(app.warning)
    assert "Stale data" in warning
    assert "more than 26 hours ago" in warning
    assert "3 days ago" in warning


def test_the_staleness_threshold_comes_from_the_environment(open_page, monkeypatch):
    monkeypatch.setenv("BILLING_STALE_AFTER_HOURS", "1")
    app = open_page("billing_statistics")
    assert "more than 1 hours ago" in texts(app.warning)


def test_without_refresh_runs_the_banner_uses_the_warehouse_files_time(open_page, empty_warehouse):
    app = open_page("billing_statistics", empty_warehouse)
    assert "the warehouse file's time" in texts(app.info)


EMPTY_STATES = {
    "job_tracking": "No jobs in this date range.",
    "job_approval": "No jobs are awaiting approval.",
    "file_pickup": "No files waiting or overdue in this date range.",
    "billing_statistics": "No bills for jobs completed in this date range.",
    "billing_activity_details": "No batches mailed in this date range.",
    "branch_report": "No branch activity in this date range.",
    "branch_billing": "No fees in this date range.",
    "customer_routing": "No customers are set up for delivery channels other than US Mail.",
    "rule_change_audit": "No processing-rule changes in this date range.",
}


@pytest.mark.parametrize("page", PAGES)
def test_every_page_has_an_empty_state(open_page, empty_warehouse, page):
    app = open_page(page, empty_warehouse)
    assert EMPTY_STATES[page] in texts(app.info)
    assert not app.dataframe


def test_a_missing_warehouse_says_to_build_first(open_page, tmp_path):
    app = open_page("billing_statistics", tmp_path / "nothing-here.duckdb")
    assert "does not exist yet: run `billing-reports build` first" in texts(app.error)


# ----------------------------------------------------------------------------------------------
# Billing statistics (R4)
# ----------------------------------------------------------------------------------------------


def bills_by_method(app) -> dict[str, int]:
    summary = table(app, "Delivery method", "Bills")
    return dict(zip(summary["Delivery method"], summary["Bills"].astype(int), strict=True))


def test_billing_statistics_counts_bills_by_delivery_method(open_page):
    app = open_page("billing_statistics")
    # Default range: the 30 days up to the latest completion date in the data.
    assert app.date_input(key="bs_dates").value == (date(2026, 2, 19), date(2026, 3, 20))
    assert metrics(app)["Bills"] == "9"
    assert bills_by_method(app) == {"Email": 3, "US Mail": 3, "Fax": 1, "Pull": 1, "eInvoice Connect": 1}
    detail = table(app, "Job complete date")
    assert detail["Bills"].sum() == 9
    assert [button.label for button in app.download_button] == ["Download CSV", "Download CSV"]


def test_billing_statistics_chart_stacks_bills_by_method(open_page):
    app = open_page("billing_statistics")
    [chart] = app.get("plotly_chart")
    figure = json.loads(chart.proto.spec)
    assert figure["layout"]["barmode"] == "stack"
    assert {trace["type"] for trace in figure["data"]} == {"bar"}
    assert {trace["name"] for trace in figure["data"]} == {"Email", "US Mail", "Fax", "Pull", "eInvoice Connect"}


def test_billing_statistics_client_filter(open_page):
    app = open_page("billing_statistics")
    app.multiselect(key="bs_clients").set_value(["ACME"]).run()
    assert metrics(app)["Bills"] == "7"
    assert bills_by_method(app) == {"Email": 3, "US Mail": 2, "Fax": 1, "Pull": 1}


def test_billing_statistics_date_range_is_inclusive(open_page):
    app = open_page("billing_statistics")
    app.date_input(key="bs_dates").set_value((date(2026, 1, 20), date(2026, 3, 20))).run()
    assert metrics(app)["Bills"] == "14"  # January's 5 US Mail bills join in
    app.date_input(key="bs_dates").set_value((date(2026, 3, 2), date(2026, 3, 2))).run()
    assert bills_by_method(app) == {"US Mail": 2, "Email": 1, "Pull": 1}


def test_billing_statistics_delivery_method_filter(open_page):
    app = open_page("billing_statistics")
    app.multiselect(key="bs_methods").set_value(["email"]).run()
    assert metrics(app)["Bills"] == "3"


def test_billing_statistics_empty_range(open_page):
    app = open_page("billing_statistics")
    app.date_input(key="bs_dates").set_value((date(2025, 1, 1), date(2025, 1, 31))).run()
    assert "No bills for jobs completed in this date range." in texts(app.info)


# ----------------------------------------------------------------------------------------------
# Job tracking (R6) and the Job Activity Report (R11)
# ----------------------------------------------------------------------------------------------


def test_job_tracking_lists_the_jobs_of_the_range_with_tracker_and_item_counts(open_page):
    app = open_page("job_tracking")
    assert app.date_input(key="jt_dates").value == (date(2026, 3, 1), date(2026, 3, 30))
    shown = metrics(app)
    assert {label: shown[label] for label in ("Jobs", "Complete", "In progress", "Awaiting approval", "Documents")} == {
        "Jobs": "6",
        "Complete": "3",
        "In progress": "1",
        "Awaiting approval": "2",
        "Documents": "16",
    }
    jobs = table(app, "Job ID", "Job name", "Client", "Current status", "Tracker").set_index("Job ID")
    assert list(jobs.index) == ["J6", "J4", "J3", "J2", "J5", "J1"]  # newest first; J0 is January's
    assert jobs.loc["J1", "Tracker"] == "✔✔––✔✔✔✔✔✔"
    assert jobs.loc["J4", "Tracker"] == "✔✔–●○○–○○○"
    assert (jobs.loc["J1", "US Mail"], jobs.loc["J1", "Email"], jobs.loc["J1", "Pull"]) == (2, 1, 1)
    assert (jobs.loc["J2", "Email"], jobs.loc["J2", "Fax"]) == (2, 1)
    assert jobs.loc["J5", "eInvoice Connect"] == 1


def test_job_tracking_filters(open_page):
    app = open_page("job_tracking")
    app.multiselect(key="jt_clients").set_value(["MAPLE"]).run()
    assert list(table(app, "Job ID", "Job name", "Client", "Current status", "Tracker")["Job ID"]) == ["J6", "J5"]
    app.multiselect(key="jt_clients").set_value([]).run()
    app.multiselect(key="jt_methods").set_value(["fax"]).run()
    assert list(table(app, "Job ID", "Job name", "Client", "Current status", "Tracker")["Job ID"]) == ["J2"]
    app.multiselect(key="jt_methods").set_value([]).run()
    app.text_input(key="jt_search").input("march").run()
    assert list(table(app, "Job ID", "Job name", "Client", "Current status", "Tracker")["Job ID"]) == [
        "J3",
        "J2",
        "J5",
        "J1",
    ]
    app.text_input(key="jt_search").input("").run()
    app.date_input(key="jt_dates").set_value((date(2026, 1, 1), date(2026, 1, 31))).run()
    assert list(table(app, "Job ID", "Job name", "Client", "Current status", "Tracker")["Job ID"]) == ["J0"]


def test_job_tracking_empty_range(open_page):
    app = open_page("job_tracking")
    app.date_input(key="jt_dates").set_value((date(2025, 6, 1), date(2025, 6, 30))).run()
    assert "No jobs in this date range." in texts(app.info)


def tracker_states(app) -> list[str]:
    tracker = next(item.value for item in app.html if "bt-tracker" in item.value)
    return re.findall(r'data-state="(\w+)"', tracker)


def test_job_details_show_the_10_step_tracker_with_dates(open_page):
    app = open_page("job_tracking")
    app.selectbox(key="jt_job").set_value("J4").run()
    assert tracker_states(app) == [
        "done", "done", "not_applicable", "current", "pending",
        "pending", "not_applicable", "pending", "pending", "pending",
    ]  # fmt: skip
    app.selectbox(key="jt_job").set_value("J2").run()
    tracker = next(item.value for item in app.html if "bt-tracker" in item.value)
    assert "Electronic Bills Sending/Sent on 2026-03-20" in tracker  # step 7 shows its date in its title
    assert "(Date)" not in tracker
    assert "N/A: ops approval not selected" in tracker  # J2's step 3 says why it does not apply


def test_clicking_a_job_row_opens_its_details(open_page):
    app = open_page("job_tracking")
    assert app.selectbox(key="jt_job").value == "J6"
    app.session_state["jt_table"] = {"selection": {"rows": [5], "columns": [], "cells": []}}  # J1
    app.run()
    assert app.selectbox(key="jt_job").value == "J1"
    assert "March statements" in texts(app.subheader)


def test_a_completed_job_offers_its_job_activity_report_as_pdf_and_html(open_page):
    app = open_page("job_tracking")
    app.selectbox(key="jt_job").set_value("J1").run()
    labels = [button.label for button in app.download_button]
    assert "Download PDF" in labels and "Download HTML" in labels
    assert metrics(app)["Bounced deliveries"] == "1"
    assert metrics(app)["Fees billed"] == "54.50 USD"
    report = next(item.value for item in app.html if "Job Activity Report" in item.value)
    assert "INV-D14" in report  # the pulled document
    assert "B1" in report and "2026-03-03" in report  # its print batch and the date mailed


def test_a_job_in_progress_has_an_interim_job_activity_report(open_page):
    app = open_page("job_tracking")
    app.selectbox(key="jt_job").set_value("J3").run()
    # J3 (printing): D31 and D32 by US Mail in batch B6, which has no date mailed yet (not in
    # BATCHES): 0 of 2 mailed, 1 print batch, no delivery attempt.
    assert "Interim report" in texts(app.warning)
    shown = metrics(app)
    assert (shown["Mailed or sent so far"], shown["Batches"], shown["Failed deliveries"]) == ("0 of 2", "1", "0")
    assert "Fees billed" not in shown
    names = {button.label: button for button in app.download_button}
    assert "Download PDF" in names and "Download HTML" in names
    report = next(item.value for item in app.html if "Job Activity Report" in item.value)
    assert "Interim Job Activity Report: Late March invoices" in report


# ----------------------------------------------------------------------------------------------
# Job approval (R7)
# ----------------------------------------------------------------------------------------------


def approval_tables(app) -> list:
    """The job tables of the Job approval page, in order: the user's queue, then the other party's."""
    return [
        frame.value
        for frame in app.dataframe
        if list(frame.value.columns[:4]) == ["Job ID", "Job name", "Client", "Awaiting"]
    ]


def test_job_approval_lists_jobs_awaiting_approval_with_pulled_documents(open_page):
    app = open_page("job_approval")  # the ops user: the ops stage is their queue
    assert metrics(app) == {
        "Awaiting your approval": "1",
        "Waiting for the client": "1",
        "Documents": "5",
        "Pulled documents": "1",
    }
    mine, others = (frame.set_index("Job ID") for frame in approval_tables(app))
    assert list(mine.index) == ["J6"] and list(others.index) == ["J4"]
    assert others.loc["J4", "Awaiting"] == "Customer approval"
    assert (others.loc["J4", "Amount due"], others.loc["J4", "Currency"]) == (600.0, "USD")
    assert (mine.loc["J6", "Amount due"], mine.loc["J6", "Currency"]) == (250.0, "CAD")
    assert (mine.loc["J6", "Client"], mine.loc["J6", "Approval"]) == ("Maple Power", "Pending")
    # J6 has awaited since 14:00Z on 30 March: 10:00 EDT in Toronto.
    assert mine.loc["J6", "Awaiting since"] == "2026-03-30 10:00 EDT"
    assert mine.loc["J6", "Awaiting since (UTC)"] == "2026-03-30T14:00:00Z"  # downloads keep UTC
    assert "Shown for information only: the client decides these." in texts(app.caption)
    pulled = table(app, "Job ID", "Document")
    assert list(pulled["Document"]) == ["INV-D43"]
    assert list(pulled["Routed to"]) == ["US Mail"]
    documents = table(app, "Document")  # the first job, J4
    assert list(documents["Delivery method"]) == ["US Mail", "Email", "Pull"]


def test_job_approval_client_filter(open_page):
    app = open_page("job_approval")
    app.multiselect(key="ja_clients").set_value(["ACME"]).run()
    assert [list(frame["Job ID"]) for frame in approval_tables(app)] == [["J4"]]
    assert metrics(app)["Awaiting your approval"] == "0"
    assert "No jobs are awaiting your approval." in texts(app.info)


def test_a_client_sees_their_queue_and_the_jobs_waiting_for_operations_for_information(open_page):
    app = open_page("job_approval", user="marie@maple.example")  # MAPLE: J6 awaits ops approval
    assert (metrics(app)["Awaiting your approval"], metrics(app)["Waiting for operations"]) == ("0", "1")
    assert [list(frame["Job ID"]) for frame in approval_tables(app)] == [["J6"]]
    assert "Shown for information only: the provider's operations team decides these." in texts(app.caption)
    assert not [button for button in app.button if button.key in ("ja_approve", "ja_reject")]
    assert "Nothing awaits your decision." in texts(app.info)


def test_a_client_user_who_is_not_an_approver_sees_the_queue_without_buttons(open_page):
    app = open_page("job_approval", user="ann@acme.example")
    assert [list(frame["Job ID"]) for frame in approval_tables(app)] == [["J4"]]
    assert not [button for button in app.button if button.key in ("ja_approve", "ja_reject")]
    assert "approving them is for your company's approvers" in texts(app.info)


def test_an_approver_approves_a_job_with_one_pull_after_confirming(open_page, approval_places):
    app = open_page("job_approval", user="amy@acme.example")
    assert app.selectbox(key="ja_decide_job").value == "AP4"
    # J4: D41 200.00 USD (US Mail), D42 250.00 USD (Email), D43 150.00 USD already pulled.
    assert app.multiselect(key="ja_pulls_AP4").options == [
        "INV-D41 · CUST-A1 · 200.00 USD",
        "INV-D42 · CUST-A3 · 250.00 USD",
    ]
    app.multiselect(key="ja_pulls_AP4").set_value(["D41"]).run()
    app.button(key="ja_approve").click().run()
    confirmation = texts(app.markdown)
    assert "Approve job J4 (Approval batch)?" in confirmation
    assert "Documents to send: **1** (250.00 USD)" in confirmation
    assert "Documents to pull (Pull Class T): **1** (200.00 USD)" in confirmation
    assert "INV-D41: 200.00 USD" in confirmation
    assert not approval_places["BILLING_DECISION_LOG"].exists()  # nothing is decided before the confirmation
    app.button(key="ja_confirm_button").click().run()
    assert not app.exception, [item.value for item in app.exception]
    success = texts(app.success)
    assert success.startswith("Approved job J4: submitted at ") and success.endswith("waiting for the billing system.")
    (mine,) = approval_tables(app)
    assert mine.set_index("Job ID").loc["J4", "Approval"].startswith("Approved by amy@acme.example: submitted at ")
    outbound = approval_places["BILLING_OUTBOUND_DIR"]
    (approval_file,) = (outbound / "job_approvals").iterdir()
    assert approval_file.read_text().splitlines()[1].startswith("AP4,J4,customer,2026-03-29T11:00:00Z,")
    assert approval_file.read_text().splitlines()[1].endswith(",approved,amy@acme.example")
    (pull_file,) = (outbound / "document_pulls").iterdir()
    assert pull_file.read_text().splitlines()[1].startswith("AP4-D41,J4,D41,")
    # Decided: nothing is offered any more, and the browser session's id is not in the log.
    assert "Nothing awaits your decision." in texts(app.info)
    assert '"via": "dashboard"' in approval_places["BILLING_DECISION_LOG"].read_text()


def test_a_rejection_asks_for_a_reason_before_it_can_be_confirmed(open_page, approval_places):
    app = open_page("job_approval")  # ops: J6, ops stage
    app.button(key="ja_reject").click().run()
    assert "A rejection needs a reason" in texts(app.error)
    assert app.button(key="ja_confirm_button").disabled
    app.text_input(key="ja_reason").input("totals look wrong").run()
    app.button(key="ja_reject").click().run()
    assert "The job is rejected: no document is sent and none is pulled." in texts(app.markdown)
    app.button(key="ja_confirm_button").click().run()
    assert texts(app.success).startswith("Rejected job J6: submitted at ")
    (approval_file,) = (approval_places["BILLING_OUTBOUND_DIR"] / "job_approvals").iterdir()
    assert approval_file.read_text().splitlines()[1].endswith(",rejected,olivia")
    assert not (approval_places["BILLING_OUTBOUND_DIR"] / "document_pulls").exists()


def test_with_sign_in_off_the_demo_user_decides_both_stages(open_page, monkeypatch, approval_places):
    monkeypatch.setenv("BILLING_AUTH", "off")  # scripts/demo.sh: a local demo, one user for both sides
    app = open_page("job_approval", user=None)
    app.switch_page("app_pages/job_approval.py")
    app.run()
    assert metrics(app)["Awaiting your approval"] == "2"
    assert [list(frame["Job ID"]) for frame in approval_tables(app)] == [["J4", "J6"]]
    app.selectbox(key="ja_decide_job").set_value("AP6").run()
    app.button(key="ja_approve").click().run()
    # J6: D61 and D62, 125.00 CAD each, all sent.
    assert "Documents to send: **2** (250.00 CAD)" in texts(app.markdown)
    app.button(key="ja_confirm_button").click().run()
    assert texts(app.success).startswith("Approved job J6: submitted at ")
    record = json.loads(approval_places["BILLING_DECISION_LOG"].read_text().splitlines()[0])
    assert (record["decided_by"], record["role"], record["approval_id"]) == ("demo", "demo", "AP6")


# ----------------------------------------------------------------------------------------------
# Customer routing (R5)
# ----------------------------------------------------------------------------------------------


def test_customer_routing_counts_customers_per_channel_as_of_the_build(open_page):
    app = open_page("customer_routing")
    assert "2026-03-31 12:00 UTC" in texts(app.caption)  # an ops user sees every client: UTC
    assert metrics(app)["Customer routings"] == "27"
    routing = table(app, "Client", "Delivery channel")
    counts = dict(
        zip(zip(routing["Client"], routing["Delivery channel"], strict=True), routing["Customers"], strict=True)
    )
    assert counts == {
        ("Acme Utilities", "Email"): 12,
        ("Acme Utilities", "Fax"): 3,
        ("Acme Utilities", "Pull"): 2,
        ("Maple Power", "eInvoice Connect"): 4,
        ("Maple Power", "Email"): 6,
    }
    assert app.get("plotly_chart")


def test_customer_routing_filters(open_page):
    app = open_page("customer_routing")
    app.multiselect(key="cr_clients").set_value(["MAPLE"]).run()
    assert metrics(app)["Customer routings"] == "10"
    app.multiselect(key="cr_clients").set_value([]).run()
    app.multiselect(key="cr_channels").set_value(["email"]).run()
    assert metrics(app)["Customer routings"] == "18"


# ----------------------------------------------------------------------------------------------
# Branch report (R8)
# ----------------------------------------------------------------------------------------------


def documents_by_branch(app) -> dict[str, int]:
    summary = table(app, "Client", "Branch")
    return dict(zip(summary["Branch"], summary["Documents"].astype(int), strict=True))


def test_branch_report_counts_documents_by_branch(open_page):
    app = open_page("branch_report")
    assert metrics(app)["Documents"] == "9"
    assert documents_by_branch(app) == {"NE": 4, "SW": 2, "UNASSIGNED": 1, "TOR": 2}
    summary = table(app, "Client", "Branch").set_index("Branch")
    assert (summary.loc["NE", "Amount due"], summary.loc["NE", "Currency"]) == (700.0, "USD")
    assert (summary.loc["TOR", "Amount due"], summary.loc["TOR", "Currency"]) == (200.0, "CAD")


def test_branch_report_filters(open_page):
    app = open_page("branch_report")
    app.multiselect(key="br_branches").set_value(["NE"]).run()
    assert documents_by_branch(app) == {"NE": 4}
    app.date_input(key="br_dates").set_value((date(2026, 1, 1), date(2026, 3, 31))).run()
    assert documents_by_branch(app) == {"NE": 9}
    app.multiselect(key="br_branches").set_value([]).run()
    app.multiselect(key="br_methods").set_value(["email"]).run()
    assert documents_by_branch(app) == {"NE": 2, "SW": 1}


# ----------------------------------------------------------------------------------------------
# Branch billing (R9): the exchange rate the user types
# ----------------------------------------------------------------------------------------------


def test_branch_billing_without_a_rate_keeps_cad_in_cad_and_says_the_total_excludes_it(open_page):
    app = open_page("branch_billing")
    rate = app.number_input(key="bb_rate")
    assert rate.label == "Enter the exchange rate that appears on your invoice (USD per 1 CAD)"
    assert rate.value is None
    assert metrics(app) == {
        "USD fees": "60.00 USD",
        "CAD fees": "100.00 CAD",
        "CAD fees in USD": "Enter a rate",
        "Total (USD, excludes CAD fees)": "60.00 USD",
    }
    assert "excludes CAD fees of 100.00 CAD" in texts(app.warning)
    branches = table(app, "Client", "Branch").set_index("Branch")
    assert branches.loc["TOR", "CAD fees"] == 100.0
    assert branches.loc["TOR", "Total USD (excl. CAD)"] == 5.5
    fees = table(app, "Fee date")
    # The model's fee_amount_usd (built at 0.70) is not used: CAD rows have no USD amount yet.
    assert fees.loc[fees["Currency"] == "CAD", "Amount (USD)"].isna().all()


def test_branch_billing_converts_cad_at_the_rate_the_user_types(open_page):
    app = open_page("branch_billing")
    app.number_input(key="bb_rate").set_value(0.75).run()
    assert metrics(app) == {
        "USD fees": "60.00 USD",
        "CAD fees": "100.00 CAD",
        "CAD fees in USD": "75.00 USD",  # 100.00 CAD x 0.75
        "Total (USD)": "135.00 USD",  # 60.00 + 75.00
    }
    assert "excludes" not in texts(app.warning)
    branches = table(app, "Client", "Branch").set_index("Branch")
    assert branches.loc["TOR", "CAD fees in USD"] == 75.0
    assert branches.loc["TOR", "Total USD"] == 80.5
    assert branches.loc["NE", "Total USD"] == 52.5
    fees = table(app, "Fee date")
    cad = fees[fees["Currency"] == "CAD"].set_index("Fee type")
    assert (cad.loc["Print", "Amount (USD)"], cad.loc["Postage", "Amount (USD)"]) == (60.0, 15.0)


def test_branch_billing_filters_apply_to_the_totals(open_page):
    app = open_page("branch_billing")
    app.multiselect(key="bb_branches").set_value(["TOR"]).run()
    app.number_input(key="bb_rate").set_value(0.75).run()
    assert metrics(app)["Total (USD)"] == "80.50 USD"  # 5.50 USD + 100.00 CAD x 0.75
    app.multiselect(key="bb_branches").set_value([]).run()
    app.multiselect(key="bb_clients").set_value(["ACME"]).run()
    assert metrics(app)["Total (USD)"] == "54.50 USD"
    assert metrics(app)["CAD fees"] == "0.00 CAD"
    app.date_input(key="bb_dates").set_value((date(2026, 1, 1), date(2026, 3, 31))).run()
    assert metrics(app)["Total (USD)"] == "84.50 USD"  # January's 30.00 print fee


# ----------------------------------------------------------------------------------------------
# Billing activity details (R10)
# ----------------------------------------------------------------------------------------------


def test_billing_activity_details_lists_batches_by_date_mailed(open_page):
    app = open_page("billing_activity_details")
    assert app.date_input(key="ba_dates").value == (date(2026, 2, 19), date(2026, 3, 20))
    shown = metrics(app)
    assert (shown["Batches"], shown["Documents"], shown["Invoices"], shown["Statements"]) == ("5", "8", "7", "1")
    assert (shown["Postage (USD)"], shown["Postage (CAD)"]) == ("1.46", "1.30")
    batches = table(app, "Date mailed")
    assert list(batches["Batch"]) == ["B2", "B1", "B5", "B4", "B3"]


def test_billing_activity_details_filters(open_page):
    app = open_page("billing_activity_details")
    app.multiselect(key="ba_types").set_value(["print"]).run()
    assert (metrics(app)["Batches"], metrics(app)["Documents"]) == ("2", "3")
    app.multiselect(key="ba_types").set_value([]).run()
    app.date_input(key="ba_dates").set_value((date(2026, 1, 1), date(2026, 1, 31))).run()
    assert list(table(app, "Date mailed")["Batch"]) == ["B0"]
    app.date_input(key="ba_dates").set_value((date(2026, 2, 1), date(2026, 2, 28))).run()
    assert "No batches mailed in this date range." in texts(app.info)


# ----------------------------------------------------------------------------------------------
# File pickup (R12) and rule changes (R13)
# ----------------------------------------------------------------------------------------------


def test_file_pickup_shows_waiting_and_overdue_files_with_the_support_hint(open_page):
    app = open_page("file_pickup")
    assert "approximately a 15-minute window" in texts(app.info)
    assert "you can submit a ticket to Customer Support" in texts(app.info)
    assert metrics(app) == {"Overdue": "1", "Waiting": "1", "Picked up": "0"}
    assert "1 file is overdue" in texts(app.error)
    files = table(app, "State")
    assert list(files["File"]) == ["maple_20260331.csv", "acme_20260331.csv"]
    assert list(files["State"]) == ["Waiting", "Overdue"]


def test_file_pickup_filters(open_page):
    app = open_page("file_pickup")
    app.multiselect(key="fp_states").set_value([]).run()  # every state
    assert len(table(app, "State")) == 5  # F0..F4
    app.multiselect(key="fp_clients").set_value(["MAPLE"]).run()
    assert len(table(app, "State")) == 2
    app.multiselect(key="fp_states").set_value(["overdue"]).run()
    assert "No files waiting or overdue in this date range." in texts(app.info)


def test_rule_change_audit_flags_unauthorized_requests(open_page):
    app = open_page("rule_change_audit")
    assert metrics(app) == {"Change requests": "3", "Not authorized": "1", "Applied though not authorized": "1"}
    assert "only a primary support contact may request changes" in texts(app.caption)
    app.segmented_control(key="rc_authorization").set_value("not_authorized").run()
    changes = table(app, "Authorized")
    assert list(changes["Change"]) == ["CH2"]
    assert list(changes["Why"]) == ["requester's role is billing, not primary_support"]
    app.segmented_control(key="rc_authorization").set_value("all").run()
    app.multiselect(key="rc_clients").set_value(["MAPLE"]).run()
    assert list(table(app, "Authorized")["Change"]) == ["CH3"]
