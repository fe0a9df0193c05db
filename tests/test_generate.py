"""The synthetic landing-folder generator (billing_reports.generate).

A small run (3,000 documents) is generated once per module; the checks read it back with DuckDB the way
the warehouse does: every CSV of a table, later files replacing earlier rows with the same key.
"""

from __future__ import annotations

import hashlib
import shutil
from datetime import datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from billing_reports import cli
from billing_reports.generate import CHANNELS, STATUS_CODES, TABLE_COLUMNS, extend_one_day, generate

N_DOCS = 3000
KEYS = {
    "clients": ["client_id"],
    "contacts": ["contact_id"],
    "branches": ["client_id", "branch_code"],
    "customers": ["client_id", "customer_account_id"],
    "customer_routing": ["routing_id"],
    "processing_rules": ["rule_id"],
    "processing_rule_changes": ["change_id"],
    "file_uploads": ["file_id"],
    "jobs": ["job_id"],
    "job_status_events": ["event_id"],
    "job_approvals": ["approval_id"],
    "batches": ["batch_id"],
    "documents": ["document_id"],
    "document_pulls": ["pull_id"],
    "deliveries": ["delivery_id"],
    "fees": ["fee_id"],
}


def _tree_digest(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(root.rglob("*.csv"))}


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("gen") / "raw"
    messages: list[str] = []
    summary = generate(out, documents=N_DOCS, seed=42, progress=messages.append)
    return out, summary, messages


def _open(out: Path):
    """DuckDB views: raw_<table> (every row of every file) and <table> (latest version per key)."""
    c = duckdb.connect()
    for table in TABLE_COLUMNS:
        c.execute(
            f"CREATE VIEW raw_{table} AS SELECT * FROM read_csv('{out}/{table}/*.csv', header = true, "
            "all_varchar = true, filename = true)"
        )
        key = ", ".join(KEYS[table])
        c.execute(
            f"CREATE VIEW {table} AS SELECT * EXCLUDE (filename) FROM raw_{table} "
            f"QUALIFY row_number() OVER (PARTITION BY {key} ORDER BY filename DESC) = 1"
        )
    return c


@pytest.fixture(scope="module")
def con(run):
    out, _, _ = run
    c = _open(out)
    yield c
    c.close()


def one(con, sql: str):
    return con.execute(sql).fetchone()[0]


# -- shape, determinism ------------------------------------------------------------------------------------


def test_summary_and_progress(run):
    out, summary, messages = run
    assert set(summary["tables"]) == set(TABLE_COLUMNS)
    assert summary["rows"]["documents"] == N_DOCS
    assert summary["files"] == len(list(out.rglob("*.csv")))
    assert summary["bytes"] == sum(p.stat().st_size for p in out.rglob("*.csv"))
    assert summary["seconds"] >= 0
    assert summary["as_of"] == "2026-10-31T00:00:00Z"
    assert any("documents" in m for m in messages) and len(messages) >= len(TABLE_COLUMNS)


def test_every_table_has_contract_header(run):
    out, _, _ = run
    for table, cols in TABLE_COLUMNS.items():
        files = sorted((out / table).glob("*.csv"))
        assert files, f"no file for {table}"
        for f in files:
            with f.open(encoding="utf-8") as fh:
                assert fh.readline().rstrip("\n").split(",") == cols, f


def test_large_tables_split_by_extract_day(run):
    out, _, _ = run
    for table in ["jobs", "job_status_events", "batches", "documents", "deliveries", "fees", "job_approvals"]:
        names = sorted(p.name for p in (out / table).glob("*.csv"))
        assert len(names) > 5, table
        for n in names:
            datetime.strptime(n, "%Y-%m-%d.csv")
            assert "2026-10-01.csv" <= n <= "2026-10-30.csv", (table, n)


def test_deterministic_for_a_seed(run, tmp_path):
    out, _, _ = run
    again = generate(tmp_path / "same", documents=N_DOCS, seed=42)
    other = generate(tmp_path / "other", documents=N_DOCS, seed=7)
    first = _tree_digest(out)
    assert _tree_digest(tmp_path / "same") == first
    assert _tree_digest(tmp_path / "other") != first
    assert again["rows"] == run[1]["rows"]
    assert other["rows"]["documents"] == N_DOCS


def test_document_count_is_exact(con):
    assert one(con, "SELECT count(*) FROM raw_documents") == N_DOCS
    assert one(con, "SELECT count(DISTINCT document_id) FROM documents") == N_DOCS


def test_no_key_twice_in_one_file(con):
    for table, key in KEYS.items():
        k = ", ".join(key)
        dup = one(con, f"SELECT count(*) FROM (SELECT filename, {k} FROM raw_{table} GROUP BY ALL HAVING count(*) > 1)")
        assert dup == 0, table


def test_formats(con):
    ts = r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$"
    assert one(con, f"SELECT count(*) FROM raw_jobs WHERE NOT regexp_matches(created_at, '{ts}')") == 0
    assert (
        one(
            con,
            f"SELECT count(*) FROM raw_batches WHERE mailed_at IS NOT NULL AND NOT regexp_matches(mailed_at, '{ts}')",
        )
        == 0
    )
    assert one(con, r"SELECT count(*) FROM raw_documents WHERE NOT regexp_matches(amount_due, '^-?\d+\.\d\d$')") == 0
    assert (
        one(
            con,
            r"SELECT count(*) FROM raw_documents WHERE NOT regexp_matches(document_date, "
            r"'^\d{4}-\d\d-\d\d$')",
        )
        == 0
    )
    assert one(con, "SELECT count(*) FROM raw_jobs WHERE ops_approval_required NOT IN ('true', 'false')") == 0
    assert one(con, r"SELECT count(*) FROM raw_fees WHERE NOT regexp_matches(amount, '^\d+\.\d\d$')") == 0


# -- referential integrity -------------------------------------------------------------------------------


REFERENCES = [
    ("documents", "job_id", "jobs", "job_id"),
    ("documents", "batch_id", "batches", "batch_id"),
    ("documents", "client_id, customer_account_id", "customers", "client_id, customer_account_id"),
    ("documents", "client_id, branch_code", "branches", "client_id, branch_code"),
    ("customers", "client_id, branch_code", "branches", "client_id, branch_code"),
    ("customer_routing", "client_id, customer_account_id", "customers", "client_id, customer_account_id"),
    ("deliveries", "document_id", "documents", "document_id"),
    ("fees", "job_id", "jobs", "job_id"),
    ("fees", "document_id", "documents", "document_id"),
    ("fees", "batch_id", "batches", "batch_id"),
    ("fees", "client_id, branch_code", "branches", "client_id, branch_code"),
    ("batches", "job_id", "jobs", "job_id"),
    ("job_status_events", "job_id", "jobs", "job_id"),
    ("job_approvals", "job_id", "jobs", "job_id"),
    ("document_pulls", "document_id", "documents", "document_id"),
    ("document_pulls", "job_id", "jobs", "job_id"),
    ("file_uploads", "job_id", "jobs", "job_id"),
    ("jobs", "client_id", "clients", "client_id"),
    ("contacts", "client_id", "clients", "client_id"),
    ("processing_rules", "client_id", "clients", "client_id"),
    ("processing_rule_changes", "rule_id", "processing_rules", "rule_id"),
    ("processing_rule_changes", "requested_by_contact_id", "contacts", "contact_id"),
]


def _missing_references(con, child, fk, parent, pk) -> int:
    cols = [c.strip() for c in fk.split(",")]
    pcols = [c.strip() for c in pk.split(",")]
    on = " AND ".join(f"c.{a} = p.{b}" for a, b in zip(cols, pcols, strict=True))
    last = cols[-1]
    return one(con, f"SELECT count(*) FROM {child} c ANTI JOIN {parent} p ON {on} WHERE c.{last} IS NOT NULL")


@pytest.mark.parametrize("child, fk, parent, pk", REFERENCES)
def test_references_resolve(con, child, fk, parent, pk):
    assert _missing_references(con, child, fk, parent, pk) == 0


def test_codes_are_in_the_contract(con):
    codes = ", ".join(f"'{c}'" for c in STATUS_CODES)
    assert len(STATUS_CODES) == 10
    assert one(con, f"SELECT count(*) FROM raw_job_status_events WHERE status_code NOT IN ({codes})") == 0
    chans = ", ".join(f"'{c}'" for c in CHANNELS)
    assert one(con, f"SELECT count(*) FROM documents WHERE delivery_channel NOT IN ({chans})") == 0
    assert one(con, f"SELECT count(*) FROM customer_routing WHERE delivery_channel NOT IN ({chans})") == 0
    assert (
        one(con, "SELECT count(*) FROM documents WHERE document_type NOT IN ('invoice', 'statement', 'credit_memo')")
        == 0
    )
    assert (
        one(
            con,
            "SELECT count(*) FROM fees WHERE fee_type NOT IN "
            "('print', 'postage', 'email', 'fax', 'portal', 'pull', 'storage', 'other')",
        )
        == 0
    )
    assert one(con, "SELECT count(*) FROM raw_deliveries WHERE outcome NOT IN ('sent', 'bounced', 'failed')") == 0
    assert (
        one(con, "SELECT count(*) FROM contacts WHERE role NOT IN ('primary_support', 'support', 'billing', 'viewer')")
        == 0
    )


def test_events_follow_the_status_order(con):
    order = ", ".join(f"('{c}', {i})" for i, c in enumerate(STATUS_CODES, 1))
    bad = one(
        con,
        f"""
        WITH o(code, n) AS (VALUES {order}),
        e AS (SELECT e.job_id, e.event_at, o.n FROM job_status_events e JOIN o ON o.code = e.status_code)
        SELECT count(*) FROM e a JOIN e b ON a.job_id = b.job_id AND a.n < b.n AND a.event_at > b.event_at""",
    )
    assert bad == 0
    # one event per step and job
    assert (
        one(
            con,
            "SELECT count(*) FROM (SELECT job_id, status_code FROM job_status_events GROUP BY ALL HAVING count(*) > 1)",
        )
        == 0
    )


def test_routing_periods_do_not_overlap(con):
    assert (
        one(
            con,
            """
        SELECT count(*) FROM customer_routing a JOIN customer_routing b
          ON a.client_id = b.client_id AND a.customer_account_id = b.customer_account_id
         AND a.routing_id < b.routing_id
         AND a.valid_from < coalesce(b.valid_to, '9999') AND b.valid_from < coalesce(a.valid_to, '9999')""",
        )
        == 0
    )


def test_fee_amount_is_quantity_times_unit_price(con):
    assert (
        one(
            con,
            "SELECT count(*) FROM fees WHERE CAST(amount AS DECIMAL(14,2)) "
            "<> CAST(CAST(quantity AS BIGINT) * CAST(unit_price AS DECIMAL(10,2)) AS DECIMAL(14,2))",
        )
        == 0
    )
    assert one(con, "SELECT count(*) FROM fees WHERE CAST(amount AS DECIMAL(14,2)) < 0") == 0


# -- features a real month has -----------------------------------------------------------------------------


def test_pulled_documents(con):
    assert one(con, "SELECT count(*) FROM document_pulls") > 0
    # pulled at customer approval: the job requires it
    assert (
        one(
            con,
            "SELECT count(*) FROM document_pulls p JOIN jobs j USING (job_id) "
            "WHERE j.customer_approval_required <> 'true'",
        )
        == 0
    )


def test_bounced_and_failed_deliveries(con):
    assert one(con, "SELECT count(*) FROM deliveries WHERE outcome = 'bounced' AND sent_at IS NOT NULL") > 0
    assert one(con, "SELECT count(*) FROM deliveries WHERE outcome = 'failed' AND sent_at IS NULL") > 0
    # a failed attempt followed by a successful retry of the same document
    assert (
        one(
            con,
            """SELECT count(*) FROM deliveries f JOIN deliveries s USING (document_id)
                       WHERE f.outcome = 'failed' AND s.outcome = 'sent' AND s.attempted_at > f.attempted_at""",
        )
        > 0
    )
    # no delivery for a print, pull or pulled document
    assert (
        one(
            con,
            "SELECT count(*) FROM deliveries d JOIN documents USING (document_id) "
            "WHERE documents.delivery_channel IN ('us_mail', 'pull')",
        )
        == 0
    )
    assert one(con, "SELECT count(*) FROM deliveries JOIN document_pulls USING (document_id)") == 0


def test_cad_fees_and_canadian_print_facility(con):
    assert one(con, "SELECT count(*) FROM fees WHERE currency = 'CAD' AND print_facility = 'CA'") > 0
    assert one(con, "SELECT count(*) FROM batches WHERE batch_type = 'print' AND print_facility = 'CA'") > 0
    assert one(con, "SELECT count(*) FROM batches WHERE print_facility = 'CA' AND postage_currency <> 'CAD'") == 0
    assert (
        one(
            con,
            "SELECT count(*) FROM documents d JOIN clients c USING (client_id) "
            "WHERE c.timezone IN ('America/Toronto', 'America/Vancouver', 'America/Halifax') "
            "AND d.currency <> 'CAD'",
        )
        == 0
    )


def test_billing_file_routing(con):
    assert one(con, "SELECT count(*) FROM customer_routing WHERE routing_source = 'billing_file'") > 0
    assert (
        one(
            con,
            "SELECT count(*) FROM customer_routing WHERE delivery_channel IN ('us_mail', 'pull') "
            "AND destination IS NOT NULL",
        )
        == 0
    )
    assert one(con, "SELECT count(*) FROM customer_routing WHERE delivery_channel = 'pull' AND pull_class IS NULL") == 0


def test_processing_rules_and_an_unauthorized_change(con):
    assert (
        one(
            con,
            "SELECT count(*) FROM processing_rules WHERE rule_type = 'timed_start' "
            r"AND regexp_matches(rule_value, '^\d\d:\d\d$')",
        )
        > 0
    )
    assert one(con, "SELECT count(*) FROM processing_rules WHERE valid_to IS NOT NULL") > 0
    unauthorized = one(
        con,
        """
        SELECT count(*) FROM processing_rule_changes ch
        WHERE NOT EXISTS (SELECT 1 FROM contacts c WHERE c.contact_id = ch.requested_by_contact_id
                           AND c.client_id = ch.client_id AND c.role = 'primary_support'
                           AND c.valid_from <= ch.requested_at
                           AND (c.valid_to IS NULL OR ch.requested_at < c.valid_to))""",
    )
    assert unauthorized > 0
    assert one(con, "SELECT count(*) FROM processing_rule_changes") > unauthorized


def test_file_uploads_waiting_and_overdue(run, con):
    _, summary, _ = run
    as_of = datetime.strptime(summary["as_of"], "%Y-%m-%dT%H:%M:%SZ")
    recent = (as_of - timedelta(minutes=15)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert one(con, f"SELECT count(*) FROM file_uploads WHERE picked_up_at IS NULL AND uploaded_at > '{recent}'") > 0
    old = (as_of - timedelta(hours=24)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert one(con, f"SELECT count(*) FROM file_uploads WHERE picked_up_at IS NULL AND uploaded_at < '{old}'") > 0
    assert one(con, "SELECT count(*) FROM file_uploads WHERE picked_up_at < uploaded_at") == 0
    # every job came from exactly one file
    assert one(con, "SELECT count(*) FROM jobs ANTI JOIN file_uploads USING (job_id)") == 0


def test_delayed_electronic_batch(con):
    assert (
        one(con, "SELECT count(*) FROM batches WHERE batch_type = 'electronic' AND scheduled_send_date IS NOT NULL") > 0
    )
    assert (
        one(
            con,
            "SELECT count(*) FROM job_status_events WHERE status_code = 'ELECTRONIC_SCHEDULED' "
            "AND status_date IS NOT NULL",
        )
        > 0
    )
    assert (
        one(
            con,
            "SELECT count(*) FROM job_status_events WHERE status_code = 'DELIVERED_TO_POST_OFFICE' "
            "AND status_date IS NULL",
        )
        == 0
    )


def test_records_are_resent_as_they_progress(con):
    # a batch first sent without mailed_at, re-sent later with it
    assert (
        one(
            con,
            """SELECT count(*) FROM raw_batches a JOIN raw_batches b USING (batch_id)
                       WHERE a.filename < b.filename AND a.mailed_at IS NULL AND b.mailed_at IS NOT NULL""",
        )
        > 0
    )
    # the latest version never loses a value an earlier one had
    assert (
        one(
            con,
            """SELECT count(*) FROM raw_batches a JOIN raw_batches b USING (batch_id)
                       WHERE a.filename < b.filename AND a.released_at IS NOT NULL AND b.released_at IS NULL""",
        )
        == 0
    )


def test_in_progress_work_at_the_end(con):
    assert one(con, "SELECT count(*) FROM batches WHERE batch_type = 'print' AND released_at IS NULL") > 0
    assert one(con, "SELECT count(*) FROM job_approvals WHERE decided_at IS NULL AND decision IS NULL") > 0
    assert one(con, "SELECT count(*) FROM job_approvals WHERE decision = 'rejected'") >= 0
    done = one(con, "SELECT count(DISTINCT job_id) FROM job_status_events WHERE status_code = 'JOB_COMPLETE'")
    assert 0 < done < one(con, "SELECT count(*) FROM jobs")


def test_realistic_mix(con):
    share = dict(
        con.execute("SELECT document_type, count(*) / sum(count(*)) OVER () FROM documents GROUP BY 1").fetchall()
    )
    assert 0.6 < share["invoice"] < 0.95 and 0.03 < share["statement"] < 0.35
    mail = one(con, "SELECT avg(CASE WHEN delivery_channel = 'us_mail' THEN 1.0 ELSE 0 END) FROM documents")
    assert 0.3 < mail < 0.6
    top = one(con, "SELECT max(n) / sum(n) FROM (SELECT count(*) AS n FROM documents GROUP BY client_id)")
    assert top > 0.3
    assert one(con, "SELECT count(*) FROM clients WHERE invoices_by_branch = 'true'") > 0
    assert one(con, "SELECT count(*) FROM contacts WHERE valid_to IS NOT NULL") > 0
    assert one(con, "SELECT count(*) FROM fees WHERE branch_code IS NOT NULL") > 0
    assert one(con, "SELECT count(*) FROM fees WHERE job_id IS NULL AND document_id IS NULL") > 0


# -- one more day on top of a folder (extend_one_day, generate --extend-days) ------------------------------------

EXT_START = "2026-10-03"  # 10 days: the folder ends on Monday 2026-10-12, the extension day is a Tuesday
EXT_DAY = "2026-10-13"
EXT_FILE = f"{EXT_DAY}.csv"
LARGE = ["file_uploads", "jobs", "job_status_events", "batches", "documents", "deliveries", "fees"]
SNAPSHOT = ["clients", "contacts", "branches", "customers", "customer_routing", "processing_rules"]
RESENDABLE = {"file_uploads", "job_approvals", "batches", "deliveries"}
ORDER_SQL = ", ".join(f"('{c}', {i})" for i, c in enumerate(STATUS_CODES, 1))


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    out = tmp_path_factory.mktemp("ext_base") / "raw"
    generate(out, documents=N_DOCS, days=10, seed=42, start_date=EXT_START)
    return out


@pytest.fixture(scope="module")
def extended(base, tmp_path_factory):
    out = tmp_path_factory.mktemp("ext_one") / "raw"
    shutil.copytree(base, out)
    messages: list[str] = []
    summary = extend_one_day(out, progress=messages.append)
    return out, summary, messages


@pytest.fixture(scope="module")
def ext_con(extended):
    """The extended folder; ``old_<table>``: the latest version per key before the extension."""
    out, _, _ = extended
    c = _open(out)
    for table in TABLE_COLUMNS:
        key = ", ".join(KEYS[table])
        c.execute(
            f"CREATE VIEW old_{table} AS SELECT * EXCLUDE (filename) FROM raw_{table} "
            f"WHERE NOT ends_with(filename, '{EXT_FILE}') "
            f"QUALIFY row_number() OVER (PARTITION BY {key} ORDER BY filename DESC) = 1"
        )
        c.execute(
            f"CREATE VIEW new_{table} AS SELECT * EXCLUDE (filename) FROM raw_{table} "
            f"WHERE ends_with(filename, '{EXT_FILE}')"
        )
    yield c
    c.close()


def _events_out_of_order(con) -> int:
    return one(
        con,
        f"""
        WITH o(code, n) AS (VALUES {ORDER_SQL}),
        e AS (SELECT e.job_id, e.event_at, o.n FROM job_status_events e JOIN o ON o.code = e.status_code)
        SELECT count(*) FROM e a JOIN e b ON a.job_id = b.job_id AND a.n < b.n AND a.event_at > b.event_at""",
    )


def test_extension_summary_and_progress(extended, ext_con):
    out, summary, messages = extended
    assert summary["day"] == EXT_DAY
    assert summary["as_of"] == "2026-10-14T00:00:00Z"
    assert summary["documents"] == summary["documents_per_day"] == N_DOCS // 10  # the folder's documents / its days
    for table in TABLE_COLUMNS:
        assert summary["rows"][table] == one(ext_con, f"SELECT count(*) FROM new_{table}"), table
        assert summary["resent"][table] <= summary["rows"][table]
    assert summary["files"] == len(list(out.rglob(EXT_FILE)))
    assert summary["bytes"] == sum(p.stat().st_size for p in out.rglob(EXT_FILE))
    assert any("documents" in m for m in messages) and any("done" in m for m in messages)


def test_extension_writes_one_later_file_per_table(base, extended):
    out, summary, _ = extended
    before = _tree_digest(base)
    after = _tree_digest(out)
    assert {k: v for k, v in after.items() if k in before} == before  # earlier files untouched
    new = sorted(set(after) - set(before))
    assert new == sorted(f"{t}/{EXT_FILE}" for t in TABLE_COLUMNS if summary["rows"][t] > 0)
    for table in LARGE:
        assert f"{table}/{EXT_FILE}" in new, table
    for table in SNAPSHOT:
        assert f"{table}/{EXT_FILE}" not in new, table
    for name in new:
        table = name.split("/")[0]
        assert all(p.name < EXT_FILE for p in (base / table).glob("*.csv")), table
        with (out / name).open(encoding="utf-8") as fh:
            assert fh.readline().rstrip("\n").split(",") == TABLE_COLUMNS[table], name
    assert not list(out.rglob("*.part"))


def test_extension_ids_continue_after_the_folder(extended, ext_con):
    _, summary, _ = extended
    for table, key in KEYS.items():
        k = ", ".join(key)
        resent = one(ext_con, f"SELECT count(*) FROM new_{table} n SEMI JOIN old_{table} o USING ({k})")
        assert resent == summary["resent"][table], table
        if table not in RESENDABLE:
            assert resent == 0, table
        if len(key) == 1:  # a fresh id sorts after every id of the folder (same width at this size)
            fresh_min = one(ext_con, f"SELECT min({k}) FROM new_{table} n ANTI JOIN old_{table} o USING ({k})")
            if fresh_min is not None:
                assert fresh_min > one(ext_con, f"SELECT max({k}) FROM old_{table}"), table
    assert one(ext_con, "SELECT count(DISTINCT document_id) FROM documents") == N_DOCS + N_DOCS // 10
    # whatever was re-sent is a record that progressed: batches, uploads and approvals, deliveries
    assert summary["resent"]["batches"] > 0 and summary["resent"]["file_uploads"] > 0


@pytest.mark.parametrize("child, fk, parent, pk", REFERENCES)
def test_extension_references_resolve(ext_con, child, fk, parent, pk):
    assert _missing_references(ext_con, child, fk, parent, pk) == 0


def test_extension_resent_batches_carry_later_progress(ext_con):
    cols = ["released_at", "completed_at", "mailed_at", "post_office_due_date", "scheduled_send_date"]
    got_mailed = one(
        ext_con,
        "SELECT count(*) FROM new_batches n JOIN old_batches o USING (batch_id) "
        "WHERE o.mailed_at IS NULL AND n.mailed_at IS NOT NULL",
    )
    assert got_mailed > 0
    for col in cols:  # nothing known before is lost or changed
        changed = one(
            ext_con,
            f"SELECT count(*) FROM new_batches n JOIN old_batches o USING (batch_id) "
            f"WHERE o.{col} IS NOT NULL AND n.{col} IS DISTINCT FROM o.{col}",
        )
        assert changed == 0, col
    # every re-sent batch moved on
    stale = one(
        ext_con,
        "SELECT count(*) FROM new_batches n JOIN old_batches o USING (batch_id) WHERE "
        + " AND ".join(f"n.{c} IS NOT DISTINCT FROM o.{c}" for c in cols),
    )
    assert stale == 0
    assert (
        one(ext_con, "SELECT count(*) FROM new_batches WHERE mailed_at < completed_at OR completed_at < released_at")
        == 0
    )


def test_extension_moves_open_jobs_forward(ext_con):
    t0, t1 = f"{EXT_DAY}T00:00:00Z", "2026-10-14T00:00:00Z"
    assert (
        one(ext_con, f"SELECT count(*) FROM new_job_status_events WHERE event_at < '{t0}' OR event_at >= '{t1}'") == 0
    )
    progressed = dict(
        ext_con.execute(
            "SELECT status_code, count(*) FROM new_job_status_events SEMI JOIN old_jobs USING (job_id) GROUP BY 1"
        ).fetchall()
    )
    assert progressed.get("JOB_COMPLETE", 0) > 0
    assert progressed.get("PRINTING_COMPLETE", 0) + progressed.get("DELIVERED_TO_POST_OFFICE", 0) > 0
    assert _events_out_of_order(ext_con) == 0
    assert (
        one(
            ext_con,
            "SELECT count(*) FROM (SELECT job_id, status_code FROM job_status_events GROUP BY ALL HAVING count(*) > 1)",
        )
        == 0
    )
    # pending approvals of the folder decided during the day
    assert (
        one(
            ext_con,
            "SELECT count(*) FROM new_job_approvals n JOIN old_job_approvals o USING (approval_id) "
            "WHERE o.decided_at IS NULL AND n.decided_at IS NOT NULL AND n.decision IS NOT NULL",
        )
        > 0
    )
    # uploads that were waiting are picked up and turned into jobs
    assert (
        one(
            ext_con,
            "SELECT count(*) FROM new_file_uploads n JOIN old_file_uploads o USING (file_id) "
            "WHERE o.job_id IS NULL AND n.job_id IS NOT NULL",
        )
        > 0
    )
    # and the new day leaves work in progress for the next one
    assert (
        one(
            ext_con,
            "SELECT count(*) FROM jobs ANTI JOIN job_status_events e ON e.job_id = jobs.job_id "
            "AND e.status_code = 'JOB_COMPLETE'",
        )
        > 0
    )


def test_extension_is_deterministic(base, extended, tmp_path):
    out, summary, _ = extended
    mine = {k: v for k, v in _tree_digest(out).items() if k.endswith(EXT_FILE)}
    for name, seed in [("same", summary["seed"]), ("default", None), ("other", summary["seed"] + 1)]:
        copy = tmp_path / name
        shutil.copytree(base, copy)
        again = extend_one_day(copy, seed=seed)
        digest = {k: v for k, v in _tree_digest(copy).items() if k.endswith(EXT_FILE)}
        if name == "other":
            assert digest != mine
        else:
            assert digest == mine, name
            assert again["rows"] == summary["rows"]


def test_extension_documents_per_day(base, tmp_path):
    copy = tmp_path / "raw"
    shutil.copytree(base, copy)
    summary = extend_one_day(copy, documents_per_day=1234, seed=5)
    assert summary["rows"]["documents"] == 1234
    with pytest.raises(ValueError):
        extend_one_day(copy, documents_per_day=0)


def test_cli_extend_days(base, tmp_path):
    out = tmp_path / "raw"
    shutil.copytree(base, out)
    assert cli.main(["generate", "--out", str(out), "--extend-days", "3"]) == cli.EXIT_OK
    days = ["2026-10-13.csv", "2026-10-14.csv", "2026-10-15.csv"]
    assert sorted(p.name for p in (out / "documents").glob("*.csv"))[-3:] == days
    c = _open(out)
    try:
        assert one(c, "SELECT count(DISTINCT document_id) FROM documents") == N_DOCS + 3 * (N_DOCS // 10)
        for child, fk, parent, pk in REFERENCES:
            assert _missing_references(c, child, fk, parent, pk) == 0, (child, fk)
        assert _events_out_of_order(c) == 0
        for table, key in KEYS.items():
            k = ", ".join(key)
            dup = one(
                c, f"SELECT count(*) FROM (SELECT filename, {k} FROM raw_{table} GROUP BY ALL HAVING count(*) > 1)"
            )
            assert dup == 0, table
        # failed deliveries are re-sent (same delivery_id) and now succeed or bounce
        assert (
            one(
                c,
                """SELECT count(*) FROM raw_deliveries a JOIN raw_deliveries b USING (delivery_id)
                   WHERE a.filename < b.filename AND a.outcome = 'failed' AND b.outcome IN ('sent', 'bounced')
                     AND b.sent_at IS NOT NULL AND b.attempted_at > a.attempted_at""",
            )
            > 0
        )
        # nothing of the generated folder is left hanging: its open jobs (stalled approvals included) finish
        assert (
            one(
                c,
                f"""SELECT count(*) FROM jobs WHERE created_at < '{EXT_DAY}' AND job_id NOT IN
                   (SELECT job_id FROM job_status_events WHERE status_code = 'JOB_COMPLETE')""",
            )
            == 0
        )
        assert (
            one(c, f"SELECT count(*) FROM job_approvals WHERE decided_at IS NULL AND requested_at < '{EXT_DAY}'") == 0
        )
        # a job completed in the extension has every electronic document sent (R2)
        unsent = one(
            c,
            f"""SELECT count(*) FROM documents d
                JOIN job_status_events e ON e.job_id = d.job_id AND e.status_code = 'JOB_COMPLETE'
                 AND e.event_at >= '{EXT_DAY}'
                WHERE d.delivery_channel NOT IN ('us_mail', 'pull')
                  AND d.document_id NOT IN (SELECT document_id FROM document_pulls)
                  AND d.document_id NOT IN (SELECT document_id FROM raw_deliveries WHERE sent_at IS NOT NULL)""",
        )
        assert unsent == 0
        assert (
            one(
                c,
                "SELECT count(*) FROM fees WHERE CAST(amount AS DECIMAL(14,2)) "
                "<> CAST(CAST(quantity AS BIGINT) * CAST(unit_price AS DECIMAL(10,2)) AS DECIMAL(14,2))",
            )
            == 0
        )
    finally:
        c.close()


def test_cli_extend_days_needs_a_generated_folder(tmp_path):
    assert cli.main(["generate", "--out", str(tmp_path / "nowhere"), "--extend-days", "1"]) == cli.EXIT_USAGE
    (tmp_path / "empty" / "jobs").mkdir(parents=True)
    assert cli.main(["generate", "--out", str(tmp_path / "empty"), "--extend-days", "1"]) == cli.EXIT_USAGE
    assert not list((tmp_path / "empty").rglob("*.csv"))


def test_distinct_keys_counted_in_slices_of_the_key_hash_equal_one_count():
    # 10,000 rows over 1,000 keys (i % 1000); 700 keys per pass makes ceil(10,000 / 700) = 15 slices.
    import duckdb

    from billing_reports.generate.period_output import PeriodOutput

    con = duckdb.connect()
    con.execute("CREATE TABLE t AS SELECT i % 1000 AS sk FROM range(10000) r(i)")

    class Steps:
        KEYS_PER_PASS = 700

        def scalar(self, sql):
            return con.execute(sql).fetchone()[0]

    assert PeriodOutput.distinct_keys(Steps(), "t", 10_000) == 1000
    assert PeriodOutput.distinct_keys(Steps(), "t", 500) == 1000  # one pass
