"""Billing statistics (R2, R3, R4) on the hand-made landing folder; figures worked out by hand.

See tests/fixtures/handmade.py for the story of each job.
"""

from datetime import date, datetime

import pytest


@pytest.fixture
def query(query_on_each_engine):
    """Every test here checks its hand-worked figures on the DuckDB build and on the Spark build."""
    return query_on_each_engine


def test_bills_by_local_completion_date_and_method(query):
    rows = query(
        "select client_id, job_complete_date, delivery_method, job_count, bill_count "
        "from marts.rpt_billing_statistics order by 1, 2, 3"
    )
    assert rows == [
        ("C1", date(2026, 3, 1), "email", 1, 2),  # J1: D101, D102
        ("C1", date(2026, 3, 3), "pull", 1, 1),  # J2: D203 pulled -> pull
        ("C1", date(2026, 3, 3), "us_mail", 1, 2),  # J2: D201, D202
        ("C1", date(2026, 3, 5), "email", 1, 1),  # J3: D301
        ("C1", date(2026, 3, 5), "fax", 1, 1),  # J3: D302
        ("C1", date(2026, 3, 6), "pull", 1, 2),  # J5: D501, D502 both pulled
        ("C2", date(2026, 3, 9), "email", 1, 1),  # J6: D601
        ("C2", date(2026, 3, 9), "us_mail", 1, 1),  # J6: D602
    ]


def test_last_email_after_midnight_utc_counts_on_the_local_day(query):
    # J1's last e-mail: 2026-03-02 03:30Z = 2026-03-01 22:30 in New York.
    assert query("select job_completed_at, job_complete_date from marts.rpt_job_tracking where job_id = 'J1'") == [
        (datetime(2026, 3, 2, 3, 30), date(2026, 3, 1))
    ]


def test_job_with_pulled_document_completes_when_sent_to_print(query):
    # J2: the pulled e-mail document is neither print nor electronic; the print batch was
    # released at 15:00Z, so that is the completion, not the later mailing.
    assert query("select job_completed_at, job_complete_date from marts.rpt_job_tracking where job_id = 'J2'") == [
        (datetime(2026, 3, 3, 15, 0), date(2026, 3, 3))
    ]


def test_first_send_counts_when_a_bounce_follows_a_failed_attempt(query):
    # J3: D301 failed at 10:00, was sent at 10:31, bounced at 11:00:05; D302 sent 10:15.
    assert query("select job_completed_at from marts.rpt_job_tracking where job_id = 'J3'") == [
        (datetime(2026, 3, 5, 10, 31),)
    ]


def test_unreleased_print_batch_keeps_job_incomplete(query):
    assert query("select job_completed_at, is_complete from marts.rpt_job_tracking where job_id = 'J4'") == [
        (None, False)
    ]
    assert query(
        "select count(*) from marts.rpt_billing_statistics where job_complete_date = '2026-03-06' "
        "and delivery_method = 'us_mail'"
    ) == [(0,)]


def test_job_with_only_pulled_documents_completes_at_its_job_complete_event(query):
    # J5: JOB_COMPLETE at 2026-03-07 02:00Z = 2026-03-06 21:00 in New York.
    assert query("select job_completed_at, job_complete_date from marts.rpt_job_tracking where job_id = 'J5'") == [
        (datetime(2026, 3, 7, 2, 0), date(2026, 3, 6))
    ]


def test_local_date_follows_daylight_saving_change(query):
    # J6 (Toronto): last e-mail 2026-03-09 04:30Z. After the 8 March change Toronto is UTC-4,
    # so that is 00:30 on 9 March; a fixed UTC-5 would wrongly give 8 March.
    assert query("select job_completed_at, job_complete_date from marts.rpt_job_tracking where job_id = 'J6'") == [
        (datetime(2026, 3, 9, 4, 30), date(2026, 3, 9))
    ]


def test_inclusive_date_range_filter(query):
    # R4: a date-range filter is inclusive at both ends: 3 March to 5 March, C1.
    assert query(
        "select sum(bill_count) from marts.rpt_billing_statistics "
        "where client_id = 'C1' and job_complete_date between ? and ?",
        [date(2026, 3, 3), date(2026, 3, 5)],
    ) == [(5,)]


def test_document_for_unknown_job_never_reaches_reports(query):
    assert query("select count(*) from marts.fct_documents where document_id = 'D999'") == [(0,)]
    assert query("select source_table, source_row, reason from ops.rejected_rows where record_key = 'D999'") == [
        ("documents", 18, "unknown reference: job_id 'J404' is not in jobs")
    ]
