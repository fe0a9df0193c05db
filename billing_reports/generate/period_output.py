"""The full-period generator's output: one view per raw table, written as one CSV per extract day."""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path

from billing_reports.generate.contract import STATUS_CODES, TABLE_COLUMNS
from billing_reports.generate.names import CA_AREA, US_AREA
from billing_reports.generate.sql import sql_list, sql_timestamp
from billing_reports.sql import sql_string


class PeriodOutput:
    """The views and the writer of :class:`~billing_reports.generate.period.PeriodBuilder`."""

    # -- output views: (vday, sk, <contract columns>) ---------------------------------------------------
    def views(self) -> None:
        rand, NOW = self.rand, self.NOW
        f = self.fid
        cid = f"{self.client_ids}[client_idx + 1]"
        last = sql_timestamp(self.end - timedelta(days=1))
        snap = f"CAST({last} AS DATE)"
        first = f"CAST({self.START} AS DATE)"

        def vlist(*exprs: str) -> str:
            """Extract days of a record's versions: creation day plus the day of each later change < NOW."""
            items = ", ".join(f"CASE WHEN ({e}) < {NOW} THEN CAST({e} AS DATE) END" for e in exprs)
            return f"list_distinct([{items}])"

        def shown(e: str) -> str:
            return f"CASE WHEN ({e}) < vday + INTERVAL 1 DAY THEN ({e}) END"

        self.run(f"""CREATE VIEW v_clients AS SELECT {snap} AS vday, client_idx AS sk, client_id, client_name,
            timezone, by_branch AS invoices_by_branch FROM cl""")
        self.run(f"""CREATE VIEW v_contacts AS SELECT {snap} AS vday, contact_id AS sk, contact_id,
            {cid} AS client_id, full_name, email, role, fts(valid_from) AS valid_from, fts(valid_to) AS valid_to
            FROM contacts""")
        self.run(f"""CREATE VIEW v_branches AS SELECT {snap} AS vday, client_idx * 1000 + bi AS sk,
            {cid} AS client_id, branch_code, branch_name, c.country
            FROM clbr JOIN cl c USING (client_idx)""")
        self.run(f"""CREATE VIEW v_customers AS SELECT {snap} AS vday, gc AS sk, {cid} AS client_id,
            {f("customer", "acct_idx + 1")} AS customer_account_id, customer_name, branch_code FROM cust""")
        # routing: first appears on its valid_from day (or the first extract day), re-sent when it ends
        self.run(f"""CREATE TABLE rt_v AS SELECT *, unnest(list_distinct([greatest(CAST(vf AS DATE), {first}),
            CASE WHEN vt < {NOW} THEN greatest(CAST(vt AS DATE), {first}) END])) AS vday FROM rt""")
        cl_country = sql_list([c["country"] for c in self.cfg["clients"]])
        rk = "routing_no"
        area = (
            f"CASE WHEN {cl_country}[client_idx + 1] = 'CA' "
            f"THEN {rand.pick(sql_list(CA_AREA), len(CA_AREA), 'area', rk)} "
            f"ELSE {rand.pick(sql_list(US_AREA), len(US_AREA), 'area', rk)} END"
        )
        slug = "trim(lower(regexp_replace(customer_name, '[^A-Za-z0-9]+', '-', 'g')), '-')"
        self.run(f"""CREATE VIEW v_customer_routing AS
            SELECT vday, routing_no AS sk, {f("routing", "routing_no")} AS routing_id, {cid} AS client_id,
              {f("customer", "acct_idx + 1")} AS customer_account_id, chan_name(ch) AS delivery_channel,
              CASE ch
                WHEN 1 THEN {
            rand.pick(sql_list(["ap", "accounts.payable", "billing", "invoices", "finance"]), 5, "eml", rk)
        } || '@' || {slug} || '.example.com'
                WHEN 7 THEN 'ap-data@' || {slug} || '.example.com'
                WHEN 4 THEN '+1-' || {area} || '-555-' || lpad(CAST(CAST(floor({
            rand.uniform("fax", rk)
        } * 10000) AS INTEGER)
                            AS VARCHAR), 4, '0')
                WHEN 2 THEN 'EIC-' || lpad(CAST(CAST(floor({
            rand.uniform("pid", rk)
        } * 10000000) AS INTEGER) AS VARCHAR), 7, '0')
                WHEN 3 THEN 'IC-' || lpad(CAST(CAST(floor({
            rand.uniform("pid", rk)
        } * 1000000) AS INTEGER) AS VARCHAR), 6, '0')
                WHEN 5 THEN 'SML-' || lpad(CAST(CAST(floor({
            rand.uniform("pid", rk)
        } * 100000) AS INTEGER) AS VARCHAR), 5, '0')
                WHEN 6 THEN 'sftp://ftp.' || {slug} || '.example.com/inbound'
              END AS destination,
              CASE WHEN ch = 8 THEN pc END AS pull_class,
              CASE WHEN {rand.uniform("src", rk)} < 0.2 THEN 'billing_file' ELSE 'portal' END AS routing_source,
              fts(vf) AS valid_from, fts({shown("vt")}) AS valid_to
            FROM rt_v""")
        self.run(f"""CREATE VIEW v_processing_rules AS SELECT {snap} AS vday, rule_id AS sk, rule_id,
            {cid} AS client_id, rule_type, rule_value, fts(valid_from) AS valid_from, fts(valid_to) AS valid_to
            FROM rules""")
        self.run(f"""CREATE VIEW v_processing_rule_changes AS SELECT {snap} AS vday, change_id AS sk, change_id,
            {cid} AS client_id, rule_id, contact_id AS requested_by_contact_id, fts(requested_at) AS requested_at,
            fts(applied_at) AS applied_at, summary FROM changes""")
        # file uploads: re-sent on the day they are picked up / the job is created
        self.run(f"""CREATE TABLE up_v AS
            SELECT u.*, j.job_idx, u.job_at AS job_reveal,
                   unnest({vlist("u.uploaded_at", "u.pick_at", "CASE WHEN j.job_idx IS NOT NULL THEN u.job_at END")})
                       AS vday
            FROM uploads u LEFT JOIN jobs j USING (file_no)""")
        cslug = sql_list([c["slug"] for c in self.cfg["clients"]])
        ext = sql_list([".txt", ".csv", ".xml", ".dat"])
        self.run(f"""CREATE VIEW v_file_uploads AS
            SELECT vday, file_no AS sk, {f("file", "file_no")} AS file_id, {cid} AS client_id,
              {cslug}[client_idx + 1] || '_' || kind || '_' || strftime(up_local, '%Y%m%d_%H%M')
                  || {ext}[1 + client_idx % 4] AS file_name,
              fts(uploaded_at) AS uploaded_at,
              CAST(coalesce(jd.doc_count, 20 + floor({rand.uniform("fsz0", "file_no")} * 400))
                   * (700 + floor({rand.uniform("fsz", "file_no")} * 1500)) + 2048 AS BIGINT) AS size_bytes,
              fts({shown("pick_at")}) AS picked_up_at,
              CASE WHEN job_idx IS NOT NULL AND job_reveal < vday + INTERVAL 1 DAY
                   THEN {f("job", "job_idx")} END AS job_id
            FROM up_v LEFT JOIN (SELECT job_idx, doc_count FROM jobs) jd USING (job_idx)""")
        self.run(f"""CREATE VIEW v_jobs AS
            SELECT vday, job_idx AS sk, {f("job", "job_idx")} AS job_id, {cid} AS client_id,
              short || ' ' || CASE WHEN kind = 'statements' THEN 'Statements' ELSE 'Invoices' END || ' '
                || strftime(local_day, '%Y-%m-%d') || ' #' || day_seq AS job_name,
              fts(created) AS created_at, ops AS ops_approval_required, cust AS customer_approval_required
            FROM jobs""")
        codes = sql_list(STATUS_CODES)
        self.run(f"""CREATE VIEW v_job_status_events AS
            SELECT CAST(event_at AS DATE) AS vday, event_no AS sk, {f("event", "event_no")} AS event_id,
              {f("job", "job_idx")} AS job_id, {codes}[step] AS status_code, fts(event_at) AS event_at, status_date
            FROM ev""")
        self.run(f"""CREATE TABLE ap_v AS SELECT *, unnest({vlist("requested_at", "decided_at")}) AS vday FROM ap""")
        self.run(f"""CREATE VIEW v_job_approvals AS
            SELECT vday, approval_no AS sk, {f("approval", "approval_no")} AS approval_id,
              {f("job", "job_idx")} AS job_id, stage AS approval_stage, fts(requested_at) AS requested_at,
              fts({shown("decided_at")}) AS decided_at,
              CASE WHEN decided_at < vday + INTERVAL 1 DAY THEN decision END AS decision,
              CASE WHEN decided_at < vday + INTERVAL 1 DAY THEN decided_by END AS decided_by
            FROM ap_v""")
        self.run(f"""CREATE TABLE bt_v AS SELECT *,
            unnest({vlist("created", "released", "completed", "mailed", "sched_reveal")}) AS vday FROM bt""")
        self.run(f"""CREATE VIEW v_batches AS
            SELECT vday, batch_no AS sk, {f("batch", "batch_no")} AS batch_id, {f("job", "job_idx")} AS job_id,
              CASE WHEN is_print THEN 'print' ELSE 'electronic' END AS batch_type, facility AS print_facility,
              fts({shown("released")}) AS released_at,
              CASE WHEN sched_reveal < vday + INTERVAL 1 DAY THEN sched END AS scheduled_send_date,
              fts({shown("completed")}) AS completed_at,
              CASE WHEN completed < vday + INTERVAL 1 DAY AND is_print THEN due END AS post_office_due_date,
              fts({shown("mailed")}) AS mailed_at,
              mail_class, pieces AS piece_count, CASE WHEN is_print THEN sheets END AS sheet_count,
              CAST(pieces * rate AS DECIMAL(14, 2)) AS postage_amount, postage_currency
            FROM bt_v""")
        dnum = "CASE dtype WHEN 0 THEN 'INV-' WHEN 1 THEN 'ST-' ELSE 'CM-' END || CAST(1000000 + doc_id AS VARCHAR)"
        self.run(f"""CREATE VIEW v_documents AS
            SELECT vday, doc_id AS sk, {f("document", "doc_id")} AS document_id, {cid} AS client_id,
              {f("job", "job_idx")} AS job_id, {f("batch", "batch_no")} AS batch_id,
              {f("customer", "acct_idx + 1")} AS customer_account_id, br_exp AS branch_code,
              ['invoice', 'statement', 'credit_memo'][dtype + 1] AS document_type, {dnum} AS document_number,
              doc_date AS document_date, amount AS amount_due, {self.client_cur}[client_idx + 1] AS currency,
              chan_name(chan) AS delivery_channel, pull_class, pages AS page_count
            FROM docs""")
        self.run(f"""CREATE VIEW v_document_pulls AS
            SELECT CAST(pulled_at AS DATE) AS vday, pull_no AS sk, {f("pull", "pull_no")} AS pull_id,
              {f("job", "job_idx")} AS job_id, {f("document", "doc_id")} AS document_id,
              fts(pulled_at) AS pulled_at, pulled_by
            FROM pl""")
        self.run(f"""CREATE TABLE dl_v AS SELECT *, unnest({vlist("attempted_at", "reveal")}) AS vday FROM dl""")
        self.run(f"""CREATE VIEW v_deliveries AS
            SELECT vday, dl_no AS sk, {f("delivery", "dl_no")} AS delivery_id, {f("document", "doc_id")} AS document_id,
              chan_name(chan) AS delivery_channel, fts(attempted_at) AS attempted_at, fts(sent_at) AS sent_at,
              CASE WHEN reveal IS NOT NULL AND NOT (reveal < vday + INTERVAL 1 DAY) THEN 'sent' ELSE outcome END
                  AS outcome
            FROM dl_v""")
        self.run(f"""CREATE VIEW v_fees AS
            SELECT CAST(fee_ts AS DATE) AS vday, fee_no AS sk, {f("fee", "fee_no")} AS fee_id, {cid} AS client_id,
              {f("job", "job_idx")} AS job_id, {f("batch", "batch_no")} AS batch_id,
              {f("document", "doc_id")} AS document_id, br AS branch_code, fee_type, qty AS quantity,
              unit AS unit_price, amount, currency, fee_date, facility AS print_facility
            FROM fe""")

    # -- write ----------------------------------------------------------------------------------------------
    # tables whose rows are costly to format are formatted once, then split into files
    MATERIALIZE = {"customer_routing"}
    # backing tables no longer needed once a table is written (frees memory for the next ones)
    DROP_AFTER = {"customers": ["cust"], "customer_routing": ["rt_v"], "documents": ["docs"], "deliveries": ["dl_v"]}

    #: Rows per pass when counting distinct keys: one hash table of all 100M document keys does not fit
    #: the scratch connection's memory limit, so large tables are counted in slices of their key hash.
    KEYS_PER_PASS = 20_000_000

    def distinct_keys(self, src: str, rows: int) -> int:
        passes = max(1, -(-rows // self.KEYS_PER_PASS))
        if passes == 1:
            return self.scalar(f"SELECT count(DISTINCT sk) FROM {src}")
        return sum(
            self.scalar(f"SELECT count(DISTINCT sk) FROM {src} WHERE hash(sk) % {passes} = {part}")
            for part in range(passes)
        )

    def write(self, out: Path) -> dict:
        tables: dict[str, dict] = {}
        for t, cols in TABLE_COLUMNS.items():
            t1 = time.time()
            src = f"v_{t}"
            if t in self.MATERIALIZE:
                self.run(f"CREATE TABLE o_{t} AS SELECT * FROM v_{t}")
                src = f"o_{t}"
            tdir = out / t
            if tdir.exists():
                for old in list(tdir.glob("*.csv")) + list(tdir.glob("*.csv.gz")):
                    old.unlink()
            tdir.mkdir(parents=True, exist_ok=True)
            vdays = [row[0] for row in self.con.execute(f"SELECT DISTINCT vday FROM {src} ORDER BY 1").fetchall()]
            collist = self.contract_columns(src, cols)
            rows = nbytes = 0
            for vd in vdays:
                path = tdir / f"{vd.isoformat()}.csv"
                res = self.con.execute(
                    f"COPY (SELECT {collist} FROM {src} WHERE vday = DATE '{vd.isoformat()}' ORDER BY sk) "
                    f"TO {sql_string(path)} (FORMAT csv, HEADER, DELIMITER ',')"
                ).fetchone()
                rows += int(res[0]) if res else 0
                nbytes += path.stat().st_size
            keys = self.distinct_keys(src, rows)
            if t in self.MATERIALIZE:
                self.drop(f"o_{t}")
            self.drop(*self.DROP_AFTER.get(t, []))
            tables[t] = {"rows": rows, "keys": keys, "files": len(vdays), "bytes": nbytes}
            self.step(
                f"wrote {t}: {rows:,} rows ({keys:,} keys) in {len(vdays)} file(s), "
                f"{nbytes / 1e6:,.1f} MB ({time.time() - t1:.1f}s)"
            )
        return tables
