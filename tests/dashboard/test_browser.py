"""The dashboard in a real browser: `billing-reports serve` on the hand-made warehouse, driven by
Debian's Chromium through Playwright. Every page is opened (after signing in as the ops user of
conftest's users file), a known figure checked, a filter used, and a screenshot saved to
tests/artifacts/screenshots/<page>.png. A client user signs in and sees only their client.

Skipped only when /usr/bin/chromium is missing and CI is not set; in CI it must run.
"""

from __future__ import annotations

import csv
import io
import os
import re
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from tests.dashboard.conftest import OPS_USER, PASSWORDS, PROJECT_DIR, start_serve, stop_server

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = PROJECT_DIR / "tests" / "artifacts" / "screenshots"
TIMEOUT_MS = 30_000

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists() and not os.environ.get("CI"),
        reason="Debian chromium is not installed (apt-get install -y chromium); CI installs it",
    ),
]


@pytest.fixture(scope="module")
def decisions(tmp_path_factory) -> Path:
    """Where the server writes the decisions made on the Job approval page (outbound files, log, outbox)."""
    return tmp_path_factory.mktemp("decisions")


@pytest.fixture(scope="module")
def server(dashboard_warehouse, users_file, tmp_path_factory, decisions):
    """`billing-reports serve` on a free port, sign-in on with conftest's users; stopped (SIGTERM,
    passed on to Streamlit) at the end."""
    process, url = start_serve(
        dashboard_warehouse,
        users_file,
        tmp_path_factory.mktemp("serve") / "serve.log",
        {
            "BILLING_OUTBOUND_DIR": str(decisions / "outbound"),
            "BILLING_DECISION_LOG": str(decisions / "decisions.jsonl"),
            "BILLING_OUTBOX": str(decisions / "outbox.sqlite"),
        },
    )
    yield url
    stop_server(process)


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing; CI must install chromium")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    tab = context.new_page()
    tab.set_default_timeout(TIMEOUT_MS)
    yield tab
    context.close()


def sign_in(page, username: str = OPS_USER, password: str | None = None) -> None:
    """Fill the sign-in form and submit it."""
    page.get_by_role("textbox", name="Username").fill(username)
    page.get_by_label("Password", exact=True).fill(PASSWORDS[username] if password is None else password)
    page.get_by_role("button", name="Sign in").click()


def open_report(page, server: str, path: str, title: str, user: str = OPS_USER) -> None:
    """Open a page's URL: the sign-in form comes first, then the page the URL names."""
    page.goto(f"{server}/{path}")
    page.get_by_role("button", name="Sign in").wait_for()
    sign_in(page, user)
    page.get_by_role("heading", name=title).wait_for()
    page.locator('[data-testid="stMetric"], [data-testid="stAlert"]').first.wait_for()


def metric(page, label: str):
    """The value of the metric whose label is exactly ``label``."""
    label_element = page.locator('[data-testid="stMetricLabel"]', has_text=re.compile(f"^{re.escape(label)}$"))
    return page.locator('[data-testid="stMetric"]', has=label_element).locator('[data-testid="stMetricValue"]')


def choose(page, widget_label: str, option: str) -> None:
    """Pick an option of a multiselect."""
    page.get_by_role("combobox", name=widget_label, exact=True).click()
    page.get_by_role("option", name=option, exact=True).click()
    page.keyboard.press("Escape")


def screenshot(page, name: str) -> Path:
    """The whole page (Streamlit scrolls inside its main block, so grow the viewport to fit it)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.wait_for_timeout(800)  # let charts finish drawing
    height = page.evaluate(
        "() => { const main = document.querySelector('[data-testid=stMain]');"
        " return Math.max(900, main ? main.scrollHeight : document.body.scrollHeight); }"
    )
    page.set_viewport_size({"width": 1400, "height": min(int(height) + 40, 6000)})
    page.wait_for_timeout(600)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    assert page.locator('[data-testid="stException"]').count() == 0, "the page shows a Python exception"
    return path


def expect_text(locator, text: str) -> None:
    from playwright.sync_api import expect

    expect(locator).to_have_text(text, timeout=TIMEOUT_MS)


def test_job_tracking(page, server):
    from playwright.sync_api import expect

    open_report(page, server, "", "Job tracking report")
    expect_text(metric(page, "Jobs"), "6")
    expect(page.get_by_text("Data last refreshed")).to_be_visible()
    # The details of the newest job (J6) with its 10-step tracker.
    expect(page.locator(".bt-tracker .bt-step")).to_have_count(10)
    expect(page.locator(".bt-step.bt-current")).to_contain_text("Awaiting Ops Approval")
    choose(page, "Client", "Maple Power")
    expect_text(metric(page, "Jobs"), "2")
    screenshot(page, "job_tracking")


def test_job_activity_report_downloads(page, server):
    from playwright.sync_api import expect

    open_report(page, server, "", "Job tracking report")
    page.get_by_role("textbox", name="Job ID or name").fill("March statements")
    page.keyboard.press("Enter")
    expect_text(metric(page, "Jobs"), "1")
    expect(page.get_by_text("Job Activity Report", exact=True)).to_be_visible()
    with page.expect_download() as download:
        page.get_by_role("button", name="Download PDF").click()
    path = download.value.path()
    assert Path(path).read_bytes().startswith(b"%PDF")
    assert download.value.suggested_filename == "job-activity-J1.pdf"
    page.get_by_text("View Job Activity Report").click()
    expect(page.locator(".jar").get_by_text("INV-D14")).to_be_visible()  # the report, not the documents table
    screenshot(page, "job_activity_report")


def test_job_approval(page, server):
    from playwright.sync_api import expect

    open_report(page, server, "job_approval", "Job approval")  # ops: the ops stage is their queue
    expect_text(metric(page, "Awaiting your approval"), "1")
    expect_text(metric(page, "Waiting for the client"), "1")
    expect_text(metric(page, "Documents"), "5")
    choose(page, "Client", "Acme Utilities")
    expect_text(metric(page, "Awaiting your approval"), "0")
    expect(page.get_by_text("Nothing awaits your decision.")).to_be_visible()
    screenshot(page, "job_approval")


def test_an_approver_approves_a_job_with_one_pull(page, server, decisions):
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    from playwright.sync_api import expect

    open_report(page, server, "job_approval", "Job approval", user="amy@acme.example")
    expect_text(metric(page, "Awaiting your approval"), "1")
    page.get_by_role("heading", name="Documents of a job").wait_for()  # the whole page has run
    # J4: pull D41 (200.00 USD); D42 (250.00 USD) is sent; D43 was pulled before.
    pulls = page.get_by_role("combobox", name="Documents to pull (their routing becomes Pull Class T)", exact=True)
    option = page.get_by_role("option", name="INV-D41 · CUST-A1 · 200.00 USD", exact=True)
    for attempt in range(3):  # a rerun of the page while the list opens closes it again: open it anew
        pulls.click()
        try:
            option.click(timeout=5_000)
            break
        except PlaywrightTimeout:
            if attempt == 2:
                raise
            page.keyboard.press("Escape")
    page.keyboard.press("Escape")
    page.get_by_role("button", name="Approve…").click()
    expect(page.get_by_text("Documents to send: 1 (250.00 USD)")).to_be_visible()
    expect(page.get_by_text("Documents to pull (Pull Class T): 1 (200.00 USD)")).to_be_visible()
    screenshot(page, "job_approval_confirm")
    page.get_by_role("button", name="Confirm approval").click()
    expect(
        page.get_by_text(re.compile(r"^Approved job J4: submitted at .+ waiting for the billing system\.$"))
    ).to_be_visible()
    # The queue says so too, until a refresh lands the billing system's row.
    expect(page.get_by_text(re.compile(r"^Job J4: Approved by amy@acme\.example: submitted at .+"))).to_be_visible()
    (pulls,) = (decisions / "outbound" / "document_pulls").iterdir()
    assert pulls.read_text().splitlines()[1].startswith("AP4-D41,J4,D41,")
    (approval,) = (decisions / "outbound" / "job_approvals").iterdir()
    assert approval.read_text().splitlines()[1].endswith(",approved,amy@acme.example")
    screenshot(page, "job_approval_submitted")


def test_file_pickup(page, server):
    from playwright.sync_api import expect

    open_report(page, server, "file_pickup", "File pickup")
    expect(page.get_by_text("1 file is overdue")).to_be_visible()
    expect(page.get_by_text("you can submit a ticket to Customer Support.").first).to_be_visible()
    # The overdue file's ticket: a mailto: to the support address, prefilled with the file.
    ticket = page.get_by_role("link", name="submit a ticket")
    expect(ticket).to_have_count(1)
    assert ticket.get_attribute("href").startswith("mailto:support@example.com?subject=File%20not%20picked%20up")
    assert "acme_20260331.csv" in urllib.parse.unquote(ticket.get_attribute("href"))
    # Times in the client's zone: F2 was uploaded 11:00Z = 07:00 EDT in New York.
    expect(page.get_by_text("uploaded 2026-03-31 07:00 EDT")).to_be_visible()
    screenshot(page, "file_pickup")
    choose(page, "Client", "Maple Power")
    expect_text(metric(page, "Overdue"), "0")
    expect_text(metric(page, "Waiting"), "1")


def test_billing_statistics(page, server):
    open_report(page, server, "billing_statistics", "Billing statistics")
    expect_text(metric(page, "Bills"), "9")
    page.locator(".js-plotly-plot").first.wait_for()
    choose(page, "Client", "Acme Utilities")
    expect_text(metric(page, "Bills"), "7")
    screenshot(page, "billing_statistics")


def test_billing_activity_details(page, server):
    open_report(page, server, "billing_activity_details", "Billing activity details")
    expect_text(metric(page, "Documents"), "8")
    choose(page, "Delivery", "Print")
    expect_text(metric(page, "Batches"), "2")
    screenshot(page, "billing_activity_details")


def test_branch_report(page, server):
    from playwright.sync_api import expect

    open_report(page, server, "branch_report", "Branch report")
    expect_text(metric(page, "Documents"), "9")
    # D23 has no branch: the help page's "contact customer service", with a ticket for it.
    expect(page.get_by_text("1 document with no branch number")).to_be_visible()
    expect(page.get_by_role("link", name="submit a ticket")).to_have_count(1)
    screenshot(page, "branch_report")
    choose(page, "Branch", "NE · Northeast")
    expect_text(metric(page, "Documents"), "4")


def test_branch_report_for_a_client_that_does_not_invoice_by_branch(page, server):
    from playwright.sync_api import expect

    open_report(page, server, "branch_report", "Branch report", user="bea@bolt.example")
    expect(page.get_by_text("The Branch report does not apply to Bolt Telecom.")).to_be_visible()
    expect(page.locator('[data-testid="stMetric"]')).to_have_count(0)
    screenshot(page, "branch_report_not_by_branch")


def test_branch_billing_converts_cad_at_the_typed_rate(page, server):
    open_report(page, server, "branch_billing", "Branch billing report")
    expect_text(metric(page, "Total (USD, excludes CAD fees)"), "60.00 USD")
    from playwright.sync_api import expect

    rate = page.get_by_role("spinbutton", name="Enter the exchange rate that appears on your invoice (USD per 1 CAD)")
    rate.fill("0.75")
    rate.press("Enter")
    expect_text(metric(page, "CAD fees in USD"), "75.00 USD")
    expect_text(metric(page, "Total (USD)"), "135.00 USD")
    expect(page.get_by_text("1 USD = 1.3333 CAD")).to_be_visible()
    screenshot(page, "branch_billing")
    # The downloaded fee rows carry the rate they were converted at.
    with page.expect_download() as download:
        page.get_by_role("button", name="Download CSV").last.click()
    rows = list(csv.DictReader(io.StringIO(Path(download.value.path()).read_text(encoding="utf-8-sig"))))
    assert {row["Exchange rate (USD per 1 CAD)"] for row in rows} == {"0.75"}
    assert {row["Amount (USD)"] for row in rows if row["Currency"] == "CAD"} == {"60.0", "15.0"}  # 80, 20 x 0.75
    # Typed the wrong way round (CAD per USD): outside 0.60-1.10, so the page asks first.
    rate.fill("1.37")
    rate.press("Enter")
    expect(page.get_by_text("1.3700 USD per 1 CAD is outside the usual range")).to_be_visible()
    expect(page.get_by_text("CAD fees stay in CAD until you confirm the rate.")).to_be_visible()
    screenshot(page, "branch_billing_rate_confirmation")
    page.get_by_text("Yes, use 1.3700 USD per 1 CAD").click()
    expect(page.get_by_text("137.00 USD").first).to_be_visible()  # 100.00 CAD x 1.37


def test_data_quality_for_operations(page, server):
    from playwright.sync_api import expect

    open_report(page, server, "data_quality", "Data quality")
    expect(page.get_by_role("link", name="Data quality")).to_have_count(1)  # in the ops navigation
    expect(page.get_by_text("Recent refreshes", exact=True)).to_be_visible()
    with page.expect_download() as download:
        page.get_by_role("button", name="Download CSV").last.click()
    rows = list(csv.DictReader(io.StringIO(Path(download.value.path()).read_text(encoding="utf-8-sig"))))
    assert [(row["File"], row["Row"], row["Reason"]) for row in rows] == [("documents.csv", "7", "unknown job J404")]
    screenshot(page, "data_quality")


def test_customer_routing(page, server):
    from playwright.sync_api import expect

    open_report(page, server, "customer_routing", "Customer routing report")
    expect(page.get_by_text("2026-03-31 12:00 UTC")).to_be_visible()
    expect_text(metric(page, "Customer routings"), "27")
    choose(page, "Delivery channel", "Email")
    expect_text(metric(page, "Customer routings"), "18")
    screenshot(page, "customer_routing")


def test_rule_change_audit(page, server):
    open_report(page, server, "rule_change_audit", "Processing-rule change audit")
    expect_text(metric(page, "Change requests"), "3")
    page.get_by_role("radio", name="Not authorized", exact=True).click()
    expect_text(metric(page, "Change requests"), "1")
    screenshot(page, "rule_change_audit")


def test_sign_in_refuses_a_wrong_password_and_a_client_sees_only_their_own_client(page, server):
    from playwright.sync_api import expect

    page.goto(f"{server}/billing_statistics")
    page.get_by_role("button", name="Sign in").wait_for()
    expect(page.locator('[data-testid="stMetric"]')).to_have_count(0)
    sign_in(page, "marie@maple.example", "not her password")
    expect(page.get_by_text("Wrong username or password.")).to_be_visible()
    screenshot(page, "sign_in")
    sign_in(page, "marie@maple.example")
    page.get_by_role("heading", name="Billing statistics").wait_for()
    expect_text(metric(page, "Bills"), "2")  # MAPLE's 2 bills, not the 9 of every client
    expect(page.get_by_text("Signed in as")).to_contain_text("marie@maple.example")
    # No client picker: the client's name instead; and no operations page in the navigation.
    expect(page.get_by_role("combobox", name="Client", exact=True)).to_have_count(0)
    expect(page.get_by_text("Maple Power").first).to_be_visible()
    expect(page.get_by_role("link", name="Data quality")).to_have_count(0)
    screenshot(page, "client_user_billing_statistics")
    page.get_by_role("button", name="Sign out").click()
    page.get_by_role("button", name="Sign in").wait_for()
    expect(page.locator('[data-testid="stMetric"]')).to_have_count(0)


def test_find_a_document_by_its_number(page, server):
    import csv
    import io

    from playwright.sync_api import expect

    open_report(page, server, "", "Job tracking report")
    page.get_by_role("textbox", name="Invoice (document) number").fill("INV-D23")
    page.keyboard.press("Enter")
    expect(page.get_by_text("1 document found")).to_be_visible(timeout=TIMEOUT_MS)
    # The search result's "Download CSV" (Streamlit marks a keyed element with st-key-<key>): what
    # the table shows, as CSV. Picked by its key, not its place: while the page reruns, the place
    # the results take may still hold the previous run's jobs table.
    with page.expect_download() as download:
        page.locator(".st-key-jt_found_csv").get_by_role("button", name="Download CSV").click()
    assert download.value.suggested_filename == "document_search.csv"
    rows = list(csv.DictReader(io.StringIO(Path(download.value.path()).read_text(encoding="utf-8"))))
    # D23 (conftest DOCUMENTS): J2 "Mid-March invoices", batch B3, by fax; its first attempt failed,
    # the second was sent at 11:31Z on 20 March = 07:31 EDT in New York (daylight time since 8 March).
    assert len(rows) == 1
    row = rows[0]
    assert (row["Job"], row["Batch"], row["Routed as generated"], row["Delivered as"]) == (
        "J2 · Mid-March invoices",
        "B3",
        "Fax",
        "Fax",
    )
    assert (row["Delivery attempts"], row["State"]) == ("2: failed, sent", "Sent")
    assert (row["Mailed or sent"], row["Mailed or sent (UTC)"]) == ("2026-03-20 07:31 EDT", "2026-03-20T11:31:00Z")
    screenshot(page, "job_tracking_search")
