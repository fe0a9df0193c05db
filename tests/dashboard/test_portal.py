"""The portal as a client sees it (issue 14): times in the client's zone, names instead of ids,
the Branch report's conditions, "submit a ticket", the exchange rate, and the operations-only
data-quality page. AppTests on the hand-made warehouse of conftest.py; every expected value is
worked out by hand in the comment beside it.
"""

from __future__ import annotations

import re
import urllib.parse
from datetime import UTC, date, datetime, timedelta

import duckdb
import pytest

from tests.dashboard.conftest import build_warehouse
from tests.dashboard.test_pages import metrics, table, texts

ACME_USER = "ann@acme.example"
BOLT_USER = "bea@bolt.example"


def links(markdown_text: str, label: str = "submit a ticket") -> list[str]:
    """The targets of the markdown links called ``label``."""
    return re.findall(rf"\[{re.escape(label)}\]\(([^)\s]+)\)", markdown_text)


def markdown(app) -> str:
    return "\n".join(str(element.value) for element in [*app.markdown, *app.warning, *app.info, *app.error])


# ----------------------------------------------------------------------------------------------
# 3. The client's own time
# ----------------------------------------------------------------------------------------------


def test_times_show_in_the_clients_zone_with_the_abbreviation_on_each_side_of_the_dst_change(open_page):
    app = open_page("billing_activity_details")
    batches = table(app, "Date mailed").set_index("Batch")
    # Daylight saving starts 2026-03-08 in New York and Toronto (UTC-5 before, UTC-4 after).
    assert batches.loc["B1", "Mailed at"] == "2026-03-03 10:00 EST"  # ACME, 15:00Z - 5 h
    assert batches.loc["B3", "Mailed at"] == "2026-03-20 11:00 EDT"  # ACME, 15:00Z - 4 h
    assert batches.loc["B4", "Mailed at"] == "2026-03-16 11:00 EDT"  # MAPLE (Toronto), 15:00Z - 4 h
    # The download keeps the UTC value beside the local one (hidden on screen).
    assert batches.loc["B1", "Mailed at (UTC)"] == "2026-03-03T15:00:00Z"
    assert list(batches.columns).index("Mailed at (UTC)") == list(batches.columns).index("Mailed at") + 1


def test_rule_changes_show_local_request_times_and_filter_on_local_dates(open_page):
    app = open_page("rule_change_audit")
    changes = table(app, "Authorized").set_index("Change")
    assert changes.loc["CH1", "Requested"] == "2026-03-10 10:00 EDT"  # 14:00Z, after the change: - 4 h
    assert changes.loc["CH1", "Requested (UTC)"] == "2026-03-10T14:00:00Z"
    assert changes.loc["CH3", "Requested"] == "2026-03-25 11:00 EDT"  # MAPLE, Toronto, 15:00Z - 4 h
    assert changes.loc["CH3", "Applied"] == "–"  # not applied yet
    assert "client's time zone" in app.date_input(key="rc_dates").help


def test_file_pickup_filters_on_the_clients_local_upload_date(open_page):
    app = open_page("file_pickup")
    app.multiselect(key="fp_states").set_value([]).run()  # every state
    # F4 was uploaded 2026-03-20 02:30Z = 2026-03-19 22:30 EDT in New York: it belongs to the 19th.
    app.date_input(key="fp_dates").set_value((date(2026, 3, 19), date(2026, 3, 19))).run()
    files = table(app, "State")
    assert list(files["File"]) == ["acme_20260319_late.csv"]
    assert list(files["Uploaded"]) == ["2026-03-19 22:30 EDT"]
    assert list(files["Uploaded (UTC)"]) == ["2026-03-20T02:30:00Z"]
    app.date_input(key="fp_dates").set_value((date(2026, 3, 20), date(2026, 3, 20))).run()
    assert "No uploaded files in this date range." in texts(app.info)


def test_job_tracking_filters_on_the_clients_local_creation_date(use_warehouse, tmp_path, service_scope):
    from dashboards import data

    path = build_warehouse(tmp_path / "billing.duckdb")
    with duckdb.connect(str(path)) as connection:
        # J2 (ACME) created 2026-03-20 02:00Z = 2026-03-19 22:00 EDT in New York.
        connection.execute("update marts.rpt_job_tracking set created_at = '2026-03-20 02:00' where job_id = 'J2'")
    use_warehouse(path)
    assert data.jobs(start=date(2026, 3, 19), end=date(2026, 3, 19))["job_id"].tolist() == ["J2"]
    assert data.jobs(start=date(2026, 3, 20), end=date(2026, 3, 20)).empty


def test_the_refresh_banner_shows_a_client_user_their_own_time(open_page, tmp_path):
    # Published 2026-03-08 06:30Z: 01:30 EST in New York, the last hour before daylight saving.
    path = build_warehouse(tmp_path / "billing.duckdb", refreshed_at=datetime(2026, 3, 8, 6, 30, tzinfo=UTC))
    assert "Last refreshed 2026-03-08 01:30 EST" in texts(open_page("billing_statistics", path, user=ACME_USER).warning)
    assert "Last refreshed 2026-03-08 06:30 UTC" in texts(open_page("billing_statistics", path).warning)  # ops


def test_the_job_activity_report_shows_the_clients_times(dashboard_warehouse):
    from billing_reports.activity_report import load_job_activity, render_html

    before = render_html(load_job_activity(dashboard_warehouse, "J1"))
    assert "<th>Completed</th><td>2026-03-02 13:00 EST</td>" in before  # 18:00Z - 5 h
    assert "<th>Client</th><td>Acme Utilities</td>" in before
    assert "Times are in the client&#x27;s time zone (America/New_York)" in before
    after = render_html(load_job_activity(dashboard_warehouse, "J2"))
    assert "<th>Completed</th><td>2026-03-20 08:00 EDT</td>" in after  # 12:00Z - 4 h


# ----------------------------------------------------------------------------------------------
# 10. Names, not ids
# ----------------------------------------------------------------------------------------------


def test_the_client_filter_lists_client_names(open_page):
    app = open_page("billing_statistics")
    picker = app.multiselect(key="bs_clients")
    assert list(picker.options) == ["Acme Utilities", "Bolt Telecom", "Maple Power"]  # by name
    picker.set_value(["MAPLE"]).run()
    assert set(table(app, "Job complete date")["Client"]) == {"Maple Power"}


def test_a_client_user_sees_their_clients_name_and_no_client_picker(open_page):
    app = open_page("billing_statistics", user=ACME_USER)
    assert not [widget for widget in app.multiselect if widget.key == "bs_clients"]
    assert "Acme Utilities" in markdown(app)
    assert set(table(app, "Job complete date")["Client"]) == {"Acme Utilities"}
    app = open_page("rule_change_audit", user=ACME_USER)
    assert set(table(app, "Authorized")["Client"]) == {"Acme Utilities"}
    assert "ACME" not in set(table(app, "Authorized")["Client"])
    # The sidebar names the client too, and gives the session's end in its zone (New York: EST
    # or EDT by the date of the test run), not in UTC.
    sidebar = "\n".join(caption.value for caption in app.sidebar.caption)
    assert f"Signed in as `{ACME_USER}` · client Acme Utilities" in sidebar
    assert re.search(r"Session ends \d{4}-\d{2}-\d{2} \d{2}:\d{2} E[SD]T\.", sidebar), sidebar


# ----------------------------------------------------------------------------------------------
# 7. and 8. The Branch report's conditions, "submit a ticket"
# ----------------------------------------------------------------------------------------------


def test_a_client_that_does_not_invoice_by_branch_is_told_why(open_page):
    app = open_page("branch_report", user=BOLT_USER)
    message = texts(app.info)
    assert "The Branch report does not apply to Bolt Telecom." in message
    assert "not set up to invoice by branch" in message
    assert "support@example.com" in message  # the support contact (default setting)
    assert not app.dataframe


def test_ops_see_which_clients_the_branch_report_leaves_out(open_page):
    app = open_page("branch_report")
    assert "Not shown: Bolt Telecom" in texts(app.caption)
    assert metrics(app)["Documents"] == "9"  # ACME 7 + MAPLE 2, as before
    app.multiselect(key="br_clients").set_value(["BOLT"]).run()
    assert "does not apply to Bolt Telecom" in texts(app.info)


def test_a_branch_without_a_number_offers_a_ticket_for_that_branch(open_page):
    app = open_page("branch_report")
    warning = texts(app.warning)
    # D23 (J2, fax) has no branch: UNASSIGNED, 1 document in the default range.
    assert "Acme Utilities: 1 document with no branch number" in warning
    assert "contact customer service" in warning
    [link] = links(warning)
    target = urllib.parse.urlsplit(link)
    assert (target.scheme, target.path) == ("mailto", "support@example.com")
    fields = urllib.parse.parse_qs(target.query)
    assert fields["subject"] == ["Branch report: no branch number for branch UNASSIGNED (Acme Utilities)"]
    assert "Branch: UNASSIGNED (no branch number)" in fields["body"][0]
    assert "Documents: 1 (2026-02-19 to 2026-03-20)" in fields["body"][0]


def test_a_branch_without_a_name_offers_a_ticket_through_the_support_url(open_page, monkeypatch):
    monkeypatch.setenv("BILLING_SUPPORT_URL", "https://support.example/tickets/new?queue=billing")
    app = open_page("branch_report")
    app.date_input(key="br_dates").set_value((date(2026, 1, 1), date(2026, 1, 31))).run()
    warning = texts(app.warning)
    assert "Acme Utilities: 1 document with no branch name** (branch W9)" in warning  # W9, 2026-01-20
    [link] = links(warning)
    target = urllib.parse.urlsplit(link)
    assert f"{target.scheme}://{target.netloc}{target.path}" == "https://support.example/tickets/new"
    fields = urllib.parse.parse_qs(target.query)
    assert fields["queue"] == ["billing"]  # the URL's own query is kept
    assert fields["subject"] == ["Branch report: no branch name for branch W9 (Acme Utilities)"]
    assert "Branch: W9 (no branch name)" in fields["description"][0]


def test_an_overdue_file_offers_a_ticket_prefilled_with_the_file(open_page, monkeypatch):
    monkeypatch.setenv("BILLING_SUPPORT_EMAIL", "help@provider.example")
    app = open_page("file_pickup")
    [link] = links(markdown(app))
    target = urllib.parse.urlsplit(link)
    assert (target.scheme, target.path) == ("mailto", "help@provider.example")
    fields = urllib.parse.parse_qs(target.query)
    assert fields["subject"] == ["File not picked up: acme_20260331.csv (Acme Utilities)"]
    body = fields["body"][0]
    assert "File: acme_20260331.csv (file id F2)" in body
    # Uploaded 11:00Z, expected by 11:15Z on 31 March; New York is on EDT (UTC-4).
    assert "Uploaded: 2026-03-31 07:00 EDT" in body and "Expected pickup by: 2026-03-31 07:15 EDT" in body


# ----------------------------------------------------------------------------------------------
# 9. The exchange rate
# ----------------------------------------------------------------------------------------------


def test_the_rate_states_its_direction_and_shows_the_inverse(open_page):
    app = open_page("branch_billing")
    assert "USD per 1 CAD" in app.number_input(key="bb_rate").label
    app.number_input(key="bb_rate").set_value(0.75).run()
    assert "1 CAD = 0.7500 USD" in markdown(app) and "1 USD = 1.3333 CAD" in markdown(app)  # 1 / 0.75
    assert not [box for box in app.checkbox if box.key.startswith("bb_rate_confirm")]  # within 0.60-1.10
    # The rate used travels with the downloaded rows.
    assert set(table(app, "Fee date")["Exchange rate (USD per 1 CAD)"]) == {0.75}
    assert set(table(app, "Client", "Branch")["Exchange rate (USD per 1 CAD)"]) == {0.75}


def test_a_rate_outside_the_plausible_band_needs_confirmation(open_page):
    app = open_page("branch_billing")
    app.number_input(key="bb_rate").set_value(1.37).run()  # CAD per USD, typed the wrong way round
    warning = texts(app.warning)
    assert "1.3700 USD per 1 CAD is outside the usual range (0.60 to 1.10)" in warning
    assert "1 ÷ 1.3700 = 0.7299" in warning  # 1 / 1.37 = 0.72993
    # Until confirmed the rate is not used: CAD stays CAD, and no rate goes into the CSV.
    assert metrics(app)["CAD fees in USD"] == "Enter a rate"
    assert table(app, "Fee date")["Exchange rate (USD per 1 CAD)"].isna().all()
    app.checkbox(key="bb_rate_confirm_1.3700").check().run()
    assert metrics(app)["CAD fees in USD"] == "137.00 USD"  # 100.00 CAD x 1.37
    assert metrics(app)["Total (USD)"] == "197.00 USD"  # 60.00 + 137.00
    assert set(table(app, "Fee date")["Exchange rate (USD per 1 CAD)"]) == {1.37}
    app.number_input(key="bb_rate").set_value(0.75).run()  # back inside the band: no question
    assert metrics(app)["CAD fees in USD"] == "75.00 USD"


# ----------------------------------------------------------------------------------------------
# 11. Data quality, for operations users only
# ----------------------------------------------------------------------------------------------


def test_the_data_quality_page_shows_runs_accounting_and_rejected_rows(open_page):
    app = open_page("data_quality")
    runs = table(app, "Started")
    assert list(runs["Outcome"]) == ["Failed", "Published"]  # newest first
    assert list(runs["Build"]) == ["Incremental", "Full"]
    assert list(runs["Duration"]) == ["5 min 00 s", "5 min 30 s"]  # conftest: 25->30 min; 5 min 30 s
    assert all(value.endswith(" UTC") for value in runs["Started"])  # ops see every client: UTC
    accounting = table(app, "Table", "Files").set_index("Table")
    assert (accounting.loc["documents", "Rows landed"], accounting.loc["documents", "Rejected"]) == (18, 1)
    rejected = table(app, "Table", "File", "Row")
    assert rejected.to_dict("records") == [
        {
            "Table": "documents",
            "File": "documents.csv",
            "Row": 7,
            "Reason": "unknown job J404",
            "Key": "D999",
            "Level": "row",
            "Path": "/landing/documents/documents.csv",
        }
    ]
    assert [button.label for button in app.get("download_button")] == ["Download CSV"] * 3  # all three tables


def test_the_data_quality_page_has_the_refresh_banner(open_page, stale_warehouse):
    assert "2 hours ago" in texts(open_page("data_quality").info)  # conftest: published two hours ago
    assert "Stale data" in texts(open_page("data_quality", stale_warehouse).warning)


def test_the_data_quality_page_without_refresh_runs(open_page, empty_warehouse):
    app = open_page("data_quality", empty_warehouse)
    assert "No refresh run is recorded in this warehouse." in texts(app.info)
    assert "No landing accounting in this warehouse." in texts(app.info)
    assert not app.dataframe


def test_client_users_cannot_open_the_data_quality_page(open_page):
    app = open_page("billing_statistics", user=ACME_USER)
    # A client user's navigation does not register the page at all.
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        app.switch_page("app_pages/data_quality.py")
    # An ops user's does.
    app = open_page("data_quality")
    assert app.title[0].value == "Data quality"


def test_the_data_quality_queries_are_for_operations_users_only(use_warehouse, dashboard_warehouse):
    from dashboards import data

    use_warehouse(dashboard_warehouse)
    with pytest.raises(data.OpsOnly):  # nobody signed in
        data.rejected_rows()


def test_the_banner_reads_the_published_outcome(use_warehouse, tmp_path):
    from dashboards import data

    finished = datetime(2026, 3, 31, 6, 0, tzinfo=UTC)
    use_warehouse(build_warehouse(tmp_path / "billing.duckdb", with_rows=False, refreshed_at=finished))
    with duckdb.connect(str(tmp_path / "billing.duckdb"), read_only=True) as connection:
        assert connection.execute("select outcome from ops.refresh_runs order by run_id").fetchall() == [
            ("published",),
            ("failed",),
        ]
    info = data.last_refresh(now=finished + timedelta(hours=2))
    assert (info.refreshed_at, info.source) == (finished, "refresh_runs")
