"""The Job tracking report's documents, tracker words and completion on the hand-made landing
folder (tests/fixtures/handmade.py): rpt_job_documents, rpt_document_deliveries, the new columns
of rpt_job_tracking(_steps) and the interim Job Activity Report.

Expected values are worked out by hand from the fixture's rows; the comments say how.
"""

from datetime import date, datetime

from billing_reports.activity_report import load_job_activity, render_html


def test_each_document_names_its_job_batch_routing_and_state(query):
    rows = query(
        "select document_id, job_id, batch_id, customer_name, delivery_channel, delivery_method, pull_class,"
        " delivery_attempt_count, mailed_or_sent_at, mailed_or_sent_date, delivery_state"
        " from marts.rpt_job_documents order by document_id"
    )
    assert rows == [
        # J1's e-mails were sent at 20:00Z on 1 March and 03:30Z on 2 March = 22:30 on 1 March in New York.
        ("D101", "J1", "BE1", "Alpha Co", "email", "email", None, 1, datetime(2026, 3, 1, 20, 0), date(2026, 3, 1), "sent"),
        ("D102", "J1", "BE1", "Alpha Co", "email", "email", None, 1, datetime(2026, 3, 2, 3, 30), date(2026, 3, 1), "sent"),
        # J2's print batch BP2 was mailed at 04:30Z on 5 March = 23:30 on 4 March in New York.
        ("D201", "J2", "BP2", "Gamma Co", "us_mail", "us_mail", None, 0, datetime(2026, 3, 5, 4, 30), date(2026, 3, 4), "sent"),
        ("D202", "J2", "BP2", "Alpha Co", "us_mail", "us_mail", None, 0, datetime(2026, 3, 5, 4, 30), date(2026, 3, 4), "sent"),
        # D203 was routed to e-mail and pulled at approval: delivered as pull, class T (R1).
        ("D203", "J2", "BE2", "Beta Co", "email", "pull", "T", 0, None, None, "pulled"),
        # D301 failed, was sent at 10:31Z, then bounced: its latest attempt decides; its first send dates it.
        ("D301", "J3", "BE3", "Alpha Co", "email", "email", None, 3, datetime(2026, 3, 5, 10, 31), date(2026, 3, 5), "bounced_or_failed"),
        ("D302", "J3", "BE3", "Gamma Co", "fax", "fax", None, 1, datetime(2026, 3, 5, 10, 15), date(2026, 3, 5), "sent"),
        # J4's batches are not mailed yet.
        ("D401", "J4", "BP4A", "Gamma Co", "us_mail", "us_mail", None, 0, None, None, "waiting"),
        ("D402", "J4", "BP4B", "Delta Co", "us_mail", "us_mail", None, 0, None, None, "waiting"),
        ("D501", "J5", None, "Alpha Co", "us_mail", "pull", "T", 0, None, None, "pulled"),
        ("D502", "J5", None, "Beta Co", "email", "pull", "T", 0, None, None, "pulled"),
        # Toronto: D601 sent 04:30Z on 9 March = 00:30 EDT (after the change), D602's batch mailed
        # 16:00Z on 8 March = 12:00 EDT.
        ("D601", "J6", "BE6", "Kappa Ltd", "email", "email", None, 1, datetime(2026, 3, 9, 4, 30), date(2026, 3, 9), "sent"),
        ("D602", "J6", "BP6", "Lambda Ltd", "us_mail", "us_mail", None, 0, datetime(2026, 3, 8, 16, 0), date(2026, 3, 8), "sent"),
        ("D701", "J7", "BE7", "Kappa Ltd", "email", "email", None, 0, None, None, "waiting"),
        ("D702", "J7", "BE7", "Kappa Ltd", "email", "pull", "T", 0, None, None, "pulled"),
        ("D801", "J8", None, "Alpha Co", "us_mail", "us_mail", None, 0, None, None, "waiting"),
        ("D802", "J8", None, "Beta Co", "email", "email", None, 0, None, None, "waiting"),
    ]  # fmt: skip


def test_a_lookup_by_document_number_names_its_job_and_batch(query):
    assert query(
        "select job_id, job_name, batch_id, batch_type from marts.rpt_job_documents where document_number = ?",
        ["INV-301"],
    ) == [("J3", "Bounce run", "BE3", "electronic")]


def test_delivery_attempts_are_numbered_in_the_order_made(query):
    assert query(
        "select delivery_id, attempt_number, outcome, sent_at from marts.rpt_document_deliveries"
        " where document_id = 'D301' order by attempt_number"
    ) == [
        ("DL301", 1, "failed", None),
        ("DL302", 2, "sent", datetime(2026, 3, 5, 10, 31)),
        ("DL303", 3, "bounced", datetime(2026, 3, 5, 11, 0, 5)),
    ]
    # Seven deliveries landed, each of a document that passed R14.
    assert query("select count(*) from marts.rpt_document_deliveries") == [(7,)]


def test_tracker_completion_is_the_job_complete_event_beside_r2(query):
    rows = query(
        "select job_id, job_completed_at, is_complete, tracker_completed_at, is_tracker_complete"
        " from marts.rpt_job_tracking order by job_id"
    )
    assert rows == [
        # R2: J1's last e-mail at 03:30Z; the tracker: its JOB_COMPLETE event at 03:31Z.
        ("J1", datetime(2026, 3, 2, 3, 30), True, datetime(2026, 3, 2, 3, 31), True),
        # R2: BP2 released 15:00Z on 3 March; JOB_COMPLETE only at 04:31Z on 5 March.
        ("J2", datetime(2026, 3, 3, 15, 0), True, datetime(2026, 3, 5, 4, 31), True),
        ("J3", datetime(2026, 3, 5, 10, 31), True, datetime(2026, 3, 5, 10, 32), True),
        ("J4", None, False, None, False),
        # Only pulled documents: R2 takes the JOB_COMPLETE event, so both agree.
        ("J5", datetime(2026, 3, 7, 2, 0), True, datetime(2026, 3, 7, 2, 0), True),
        ("J6", datetime(2026, 3, 9, 4, 30), True, datetime(2026, 3, 9, 4, 31), True),
        ("J7", None, False, None, False),
        ("J8", None, False, None, False),
        ("J9", None, False, None, False),
    ]


def test_not_applicable_steps_say_why(query):
    reasons = query(
        "select job_id, step_order, not_applicable_reason from marts.rpt_job_tracking_steps"
        " where job_id in ('J2', 'J3') and is_not_applicable order by job_id, step_order"
    )
    assert reasons == [
        # J2: no ops approval; its only electronic document was pulled, so no electronic bills.
        ("J2", 3, "N/A: ops approval not selected"),
        ("J2", 6, "N/A: this job has no electronic bills"),
        ("J2", 7, "N/A: this job has no electronic bills"),
        # J3: e-mail + fax, no approvals, no print, and no delay (no event, no scheduled_send_date).
        ("J3", 3, "N/A: ops approval not selected"),
        ("J3", 4, "N/A: customer approval not selected"),
        ("J3", 5, "N/A: this job has no print bills"),
        ("J3", 7, "N/A: electronic delivery is not delayed for this job"),
        ("J3", 8, "N/A: this job has no print bills"),
        ("J3", 9, "N/A: this job has no print bills"),
    ]
    assert query(
        "select count(*) from marts.rpt_job_tracking_steps where is_not_applicable <> (not_applicable_reason is not null)"
    ) == [(0,)]


def test_steps_7_and_9_show_their_date_in_the_title(query):
    titles = query(
        "select job_id, step_order, step_title from marts.rpt_job_tracking_steps"
        " where (job_id, step_order) in (('J6', 7), ('J6', 9), ('J2', 9), ('J4', 9)) order by job_id, step_order"
    )
    assert titles == [
        # J2: its DELIVERED_TO_POST_OFFICE event carries 4 March.
        ("J2", 9, "Paper Bills Delivered to Post Office no later than 2026-03-04"),
        # J4 (printing): no event yet; the latest post_office_due_date of its batches, 8 March.
        ("J4", 9, "Paper Bills Delivered to Post Office no later than 2026-03-08"),
        # J6: the ELECTRONIC_SCHEDULED event's 9 March; step 9 from BP6's due date, 10 March.
        ("J6", 7, "Electronic Bills Sending/Sent on 2026-03-09"),
        ("J6", 9, "Paper Bills Delivered to Post Office no later than 2026-03-10"),
    ]


def test_each_step_carries_the_help_pages_description(query):
    # Copied word for word from the help page (shared/spec/billing-summary-reports.txt), the line
    # after each status title.
    described = dict(
        query("select step_order, help_text from marts.rpt_job_tracking_steps where job_id = 'J1' order by step_order")
    )
    assert len(described) == 10 and all(described.values())
    assert described[1] == (
        "This is the initial step where data files are collected, parsed and loaded. Batch sample creation "
        "begins during this step as well."
    )
    assert described[7] == (
        "If a client is delaying delivery based on certain criteria, this step will indicate that electronic "
        "bills will be sent on a specific date."
    )
    assert described[10] == "This is the final step. All bills have been sent via the specified delivery method."


def test_a_job_in_progress_gets_an_interim_job_activity_report(handmade_warehouse):
    report = load_job_activity(handmade_warehouse, "J7")
    # J7 (waiting on ops): D701 by e-mail, not attempted yet; D702 pulled (class T); both in BE7.
    assert not report["is_complete"] and report["is_interim"]
    activity = report["activity"]
    assert activity["completed_at"] is None
    assert (
        activity["print_document_count"],
        activity["electronic_document_count"],
        activity["pulled_document_count"],
        activity["print_batch_count"],
        activity["electronic_batch_count"],
        activity["mailed_or_sent_document_count"],
        activity["waiting_document_count"],
    ) == (0, 1, 1, 0, 1, 0, 1)
    assert report["fees"] == []
    html = render_html(report)
    assert "Interim Job Activity Report: Waiting on ops" in html
    assert "Interim report." in html and "Documents still waiting" in html


def test_a_completed_job_keeps_its_final_report(handmade_warehouse):
    report = load_job_activity(handmade_warehouse, "J3")
    assert report["is_complete"] and not report["is_interim"]
    # From rpt_job_activity: D301's failed and bounced attempts.
    assert (report["activity"]["failed_delivery_count"], report["activity"]["bounced_delivery_count"]) == (1, 1)
    html = render_html(report)
    assert "Interim" not in html
    # The timeline in the tracker's words: J3 has no print bills and no delay.
    assert "N/A: this job has no print bills" in html
    assert "N/A: electronic delivery is not delayed for this job" in html
    assert "Paper Bills Delivered to Post Office no later than (no date)" in html
