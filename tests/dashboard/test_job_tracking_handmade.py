"""The Job tracking page (AppTest) on the dbt build of the hand-made landing folder
(tests/fixtures/handmade.py): finding a document, the tracker in the help page's words, the
counts of complete jobs, a job's documents and the interim Job Activity Report.

Times: C1 is in America/New_York (EST, UTC-5, until 8 March 07:00Z), C2 in America/Toronto.
"""

from __future__ import annotations

import re

import pytest

from tests.dashboard.test_pages import metrics, table, texts


@pytest.fixture
def job_tracking(open_page, handmade_warehouse):
    def open_() -> object:
        return open_page("job_tracking", warehouse=handmade_warehouse)

    return open_


#: The first columns of each table of the page (tables without selection carry no key in AppTest).
TABLES = {
    "jt_found": ("Document", "Job", "Batch"),
    "jt_found_attempts": ("Document", "Attempt"),
    "jt_table": ("Job ID", "Job name"),
    "jt_documents": ("Document", "Batch"),
}


def frame(app, key: str):
    return table(app, *TABLES[key])


def tracker(app) -> str:
    return next(item.value for item in app.html if "bt-tracker" in item.value)


def test_a_lookup_by_invoice_number_names_its_job_and_batch(job_tracking):
    app = job_tracking()
    app.text_input(key="jt_find").input("INV-301").run()
    found = frame(app, "jt_found")
    assert len(found) == 1
    row = found.iloc[0]
    assert (row["Document"], row["Job"], row["Batch"]) == ("INV-301", "J3 · Bounce run", "BE3")
    assert (row["Customer"], row["Amount due"]) == ("A1 · Alpha Co", "10.00 USD")
    assert (row["Routed as generated"], row["Delivered as"]) == ("Email", "Email")
    # DL301 failed, DL302 sent at 10:31Z, DL303 bounced: the latest attempt decides the state; the
    # first send is the date sent, 10:31Z = 05:31 EST.
    assert (row["State"], row["Delivery attempts"]) == ("Bounced or failed", "3: failed, sent, bounced")
    assert (row["Mailed or sent"], row["Mailed or sent (UTC)"]) == ("2026-03-05 05:31 EST", "2026-03-05T10:31:00Z")
    attempts = frame(app, "jt_found_attempts")
    assert list(attempts["Attempted"]) == ["2026-03-05 05:00 EST", "2026-03-05 05:30 EST", "2026-03-05 06:00 EST"]
    assert list(attempts["Outcome"]) == ["failed", "sent", "bounced"]


def test_a_pulled_document_shows_its_routing_as_generated_and_as_delivered(job_tracking):
    app = job_tracking()
    app.text_input(key="jt_find").input("inv-203").run()  # typed in lower case: found in capitals
    row = frame(app, "jt_found").iloc[0]
    # D203 was routed to e-mail when J2 was generated and pulled at approval: Pull Class T (R1).
    assert (row["Job"], row["Batch"], row["Routed as generated"]) == ("J2 · March print run", "BE2", "Email")
    assert (row["Delivered as"], row["State"]) == ("Pull (class T)", "Pulled (Pull Class T or routed to pull)")


def test_a_lookup_by_customer_account_finds_its_documents_across_jobs(job_tracking):
    app = job_tracking()
    app.radio(key="jt_find_by").set_value("customer_account").run()
    app.text_input(key="jt_find").input("A3").run()
    found = frame(app, "jt_found")
    # Gamma Co (A3) was billed D201 (J2), D302 (J3) and D401 (J4); by document number.
    assert list(found["Document"]) == ["CM-302", "INV-201", "INV-401"]
    assert list(found["Job"]) == ["J3 · Bounce run", "J2 · March print run", "J4 · Big print run"]
    # INV-201's batch BP2 was mailed 04:30Z on 5 March = 23:30 EST on 4 March; INV-401's is not.
    assert list(found["Mailed or sent"]) == ["2026-03-05 05:15 EST", "2026-03-04 23:30 EST", "–"]
    assert list(found["State"]) == ["Sent", "Sent", "Waiting"]
    app.text_input(key="jt_find").input("NOPE-1").run()
    assert "No document for that account." in texts(app.info)


def test_complete_counts_follow_the_trackers_last_step(job_tracking):
    app = job_tracking()
    shown = metrics(app)
    # Nine jobs, 2026-02-13..2026-03-14 (30 days up to the last creation). JOB_COMPLETE events:
    # J1, J2, J3, J5, J6 = 5. Awaiting approval: J7 (ops; its tie goes to the later step) and J8.
    # In progress: J4 (printing) and J9 (no event).
    assert [shown[label] for label in ("Jobs", "Complete", "In progress", "Awaiting approval")] == ["9", "5", "2", "2"]
    jobs = frame(app, "jt_table").set_index("Job ID")
    # J2's tracker reached Job Complete at 04:31Z on 5 March = 23:31 EST on 4 March; R2 dates it by
    # BP2's release, 15:00Z on 3 March, and shows only under its own label.
    assert jobs.loc["J2", "Completed"] == "2026-03-04 23:31 EST"
    assert str(jobs.loc["J2", "Billing-statistics complete date (R2)"])[:10] == "2026-03-03"
    assert jobs.loc["J4", "Completed"] == "–"
    # Toronto, after the change to daylight time: J6 completed at 04:31Z on 9 March = 00:31 EDT.
    assert jobs.loc["J6", "Completed"] == "2026-03-09 00:31 EDT"
    assert jobs.loc["J6", "Client"] == "Maple Power"


def test_the_tracker_says_why_a_step_does_not_apply_and_dates_steps_7_and_9(job_tracking):
    app = job_tracking()
    app.selectbox(key="jt_job").set_value("J2").run()
    labels = re.findall(r'<div class="bt-label">([^<]*)</div>', tracker(app))
    states = re.findall(r'<div class="bt-state">([^<]*)</div>', tracker(app))
    # J2: no ops approval (step 3); its only e-mail was pulled, so steps 6 and 7 do not apply.
    assert states[2] == "N/A: ops approval not selected"
    assert states[5] == states[6] == "N/A: this job has no electronic bills"
    assert labels[8] == "Paper Bills Delivered to Post Office no later than 2026-03-04"
    assert "(Date)" not in "".join(labels)
    steps = next(item.value for item in app.table if "Description" in item.value.columns)
    assert steps.iloc[0]["Description"].startswith("This is the initial step where data files are collected")
    # Step 1 entered at 12:00Z on 3 March = 07:00 EST.
    assert steps.iloc[0]["Entered"] == "2026-03-03 07:00 EST"
    app.selectbox(key="jt_job").set_value("J6").run()
    labels = re.findall(r'<div class="bt-label">([^<]*)</div>', tracker(app))
    assert labels[6] == "Electronic Bills Sending/Sent on 2026-03-09"


def test_job_details_list_the_jobs_documents_with_filters(job_tracking):
    app = job_tracking()
    app.selectbox(key="jt_job").set_value("J3").run()
    documents = frame(app, "jt_documents")
    assert list(documents["Document"]) == ["CM-302", "INV-301"]
    assert list(documents["Batch"]) == ["BE3", "BE3"]
    assert list(documents["Delivery attempts"]) == ["1: sent", "3: failed, sent, bounced"]
    app.multiselect(key="jt_doc_states").set_value(["bounced_or_failed"]).run()
    assert list(frame(app, "jt_documents")["Document"]) == ["INV-301"]
    app.multiselect(key="jt_doc_states").set_value([]).run()
    app.multiselect(key="jt_doc_types").set_value(["credit_memo"]).run()
    assert list(frame(app, "jt_documents")["Document"]) == ["CM-302"]
    app.multiselect(key="jt_doc_types").set_value([]).run()
    app.multiselect(key="jt_doc_methods").set_value(["fax"]).run()
    assert list(frame(app, "jt_documents")["Document"]) == ["CM-302"]
    assert "jt_documents_csv" in [button.key for button in app.download_button]


def test_a_job_in_progress_has_an_interim_job_activity_report(job_tracking):
    app = job_tracking()
    app.selectbox(key="jt_job").set_value("J4").run()
    assert "Interim report" in texts(app.warning)
    shown = metrics(app)
    # J4: D401 (BP4A) and D402 (BP4B) by US Mail, neither batch mailed, no delivery attempt.
    assert (shown["Mailed or sent so far"], shown["Batches"], shown["Bounced deliveries"]) == ("0 of 2", "2", "0")
    files = {button.label: button for button in app.download_button}
    assert {"Download PDF", "Download HTML"} <= set(files)
    report = next(item.value for item in app.html if "Job Activity Report" in item.value)
    assert "Interim Job Activity Report: Big print run" in report
