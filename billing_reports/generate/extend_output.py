"""The one-more-day extension's output: the day's rows per raw table, staged then renamed into place."""

from __future__ import annotations

from pathlib import Path

from billing_reports.generate.contract import STATUS_CODES, TABLE_COLUMNS
from billing_reports.generate.sql import sql_list
from billing_reports.sql import sql_string


class ExtensionOutput:
    """The output views and the writer of :class:`~billing_reports.generate.extend.DayExtender`."""

    # -- output views: (sk, resent, <contract columns>) -------------------------------------------------------
    def output_views(self) -> None:
        T1 = self.S1
        f = self.fid
        cid = "c.client_id"

        def shown(e: str) -> str:
            return f"fts(CASE WHEN ({e}) < {T1} THEN ({e}) END)"

        cslug = "c.slug"
        ext = sql_list([".txt", ".csv", ".xml", ".dat"])
        self.outputs["file_uploads"] = f"""
            SELECT u.file_no AS sk, u.is_old AS resent, coalesce(u.file_id, {f("file", "u.file_no")}) AS file_id,
              {cid} AS client_id,
              coalesce(u.old_name, {cslug} || '_' || u.kind || '_' || strftime(u.up_local, '%Y%m%d_%H%M')
                                   || {ext}[1 + u.client_idx % 4]) AS file_name,
              fts(u.uploaded_at) AS uploaded_at,
              coalesce(u.old_size, CAST(CAST(coalesce(j.doc_count, 20 + floor({self.rand.uniform("fsz0", "u.file_no")} * 400))
                   * (700 + floor({self.rand.uniform("fsz", "u.file_no")} * 1500)) + 2048 AS BIGINT) AS VARCHAR)) AS size_bytes,
              {shown("u.pick_at")} AS picked_up_at,
              CASE WHEN j.job_idx IS NOT NULL THEN {f("job", "j.job_idx")} END AS job_id
            FROM nup u JOIN cl c USING (client_idx) LEFT JOIN nj j USING (file_no)
            WHERE u.uploaded_at < {T1}"""
        self.outputs["jobs"] = f"""
            SELECT j.job_idx AS sk, false AS resent, {f("job", "j.job_idx")} AS job_id, {cid} AS client_id,
              n.job_name, fts(j.created) AS created_at, j.ops AS ops_approval_required,
              j.cust AS customer_approval_required
            FROM nj j JOIN cl c USING (client_idx) JOIN nj_name n USING (job_idx)"""
        codes = sql_list(STATUS_CODES)
        self.outputs["job_status_events"] = f"""
            SELECT event_no AS sk, false AS resent, {f("event", "event_no")} AS event_id, {f("job", "job_idx")} AS job_id,
              {codes}[step] AS status_code, fts(event_at) AS event_at, status_date
            FROM nev"""
        self.outputs["job_approvals"] = f"""
            SELECT approval_no AS sk, approval_id IS NOT NULL AS resent,
              coalesce(approval_id, {f("approval", "approval_no")}) AS approval_id, {f("job", "job_idx")} AS job_id,
              stage AS approval_stage, fts(requested_at) AS requested_at, {shown("decided_at")} AS decided_at,
              CASE WHEN decided_at < {T1} THEN decision END AS decision,
              CASE WHEN decided_at < {T1} THEN decided_by END AS decided_by
            FROM nap"""
        self.outputs["batches"] = f"""
            SELECT batch_no AS sk, NOT is_new AS resent, coalesce(batch_id, {f("batch", "batch_no")}) AS batch_id,
              {f("job", "job_idx")} AS job_id, CASE WHEN is_print THEN 'print' ELSE 'electronic' END AS batch_type,
              facility AS print_facility, {shown("released")} AS released_at,
              CASE WHEN NOT is_print AND delayed AND sched_at < {T1} THEN coalesce(k_sched, sched_date) END
                  AS scheduled_send_date,
              {shown("completed")} AS completed_at,
              CASE WHEN is_print AND completed < {T1} THEN due END AS post_office_due_date,
              {shown("mailed")} AS mailed_at, mail_class, pieces AS piece_count,
              CASE WHEN is_print THEN sheets END AS sheet_count,
              coalesce(old_postage, CAST(CAST(pieces * rate AS DECIMAL(14, 2)) AS VARCHAR)) AS postage_amount,
              postage_currency
            FROM bx
            WHERE is_new
               OR (k_rel IS NULL AND released < {T1}) OR (k_comp IS NULL AND completed < {T1})
               OR (is_print AND k_mailed IS NULL AND mailed < {T1})
               OR (NOT is_print AND delayed AND k_sched IS NULL AND sched_at < {T1})"""
        dnum = "CASE dtype WHEN 0 THEN 'INV-' WHEN 1 THEN 'ST-' ELSE 'CM-' END || CAST(1000000 + doc_id AS VARCHAR)"
        self.outputs["documents"] = f"""
            SELECT d.doc_id AS sk, false AS resent, {f("document", "d.doc_id")} AS document_id, {cid} AS client_id,
              {f("job", "d.job_idx")} AS job_id, {f("batch", "d.batch_no")} AS batch_id, d.customer_account_id,
              d.br_exp AS branch_code, ['invoice', 'statement', 'credit_memo'][d.dtype + 1] AS document_type,
              {dnum} AS document_number, d.doc_date AS document_date, d.amount AS amount_due,
              CASE WHEN c.country = 'CA' THEN 'CAD' ELSE 'USD' END AS currency, chan_name(d.chan) AS delivery_channel,
              d.pull_class, d.pages AS page_count
            FROM ndocs d JOIN cl c USING (client_idx)"""
        self.outputs["document_pulls"] = f"""
            SELECT pull_no AS sk, false AS resent, {f("pull", "pull_no")} AS pull_id, {f("job", "job_idx")} AS job_id,
              {f("document", "doc_id")} AS document_id, fts(pulled_at) AS pulled_at, pulled_by
            FROM npl"""
        self.outputs["deliveries"] = f"""
            SELECT dl_no AS sk, is_retry AS resent, coalesce(f_id, {f("delivery", "dl_no")}) AS delivery_id,
              document_id, chan_name(chan) AS delivery_channel, fts(attempted_at) AS attempted_at,
              {shown("sent_at")} AS sent_at, outcome
            FROM ndl
            UNION ALL
            SELECT dl, true, delivery_id, document_id, delivery_channel, fts(att), fts(sent), 'bounced' FROM bounce"""
        self.outputs["fees"] = f"""
            SELECT fee_no AS sk, false AS resent, {f("fee", "fee_no")} AS fee_id, {cid} AS client_id,
              {f("job", "f.job_idx")} AS job_id, {f("batch", "f.batch_no")} AS batch_id,
              {f("document", "f.doc_id")} AS document_id, f.br AS branch_code, f.fee_type, f.qty AS quantity,
              f.unit AS unit_price, f.amount, f.currency, f.fee_date, f.facility AS print_facility
            FROM nfe f JOIN cl c USING (client_idx)"""

    # -- write -------------------------------------------------------------------------------------------------
    def write(self, name: str) -> dict:
        tables: dict[str, dict] = {}
        staged: list[tuple[Path, Path]] = []
        try:
            for t, cols in TABLE_COLUMNS.items():
                tables[t] = {"rows": 0, "resent": 0, "files": 0, "bytes": 0}
                if t not in self.outputs:
                    continue
                self.run(f"CREATE TABLE o_{t} AS {self.outputs[t]}")
                rows, resent = self.con.execute(
                    f"SELECT count(*), count(*) FILTER (WHERE resent) FROM o_{t}"
                ).fetchone()
                dup = self.scalar(f"SELECT count(*) - count(DISTINCT sk) FROM o_{t}")
                if dup:
                    raise RuntimeError(f"{t}: {dup} key(s) twice in the new day")
                if rows:
                    tdir = self.out / t
                    tdir.mkdir(parents=True, exist_ok=True)
                    final = tdir / name
                    part = tdir / f".{name}.part"
                    self.run(
                        f"COPY (SELECT {self.contract_columns(f'o_{t}', cols)} FROM o_{t} ORDER BY sk) TO {sql_string(part)} "
                        "(FORMAT csv, HEADER, DELIMITER ',')"
                    )
                    staged.append((part, final))
                    tables[t] = {"rows": int(rows), "resent": int(resent), "files": 1, "bytes": part.stat().st_size}
                self.run(f"DROP TABLE o_{t}")
                self.step(f"{t}: {rows:,} rows ({resent:,} re-sent)")
            for part, final in staged:
                part.replace(final)
        finally:
            for part, _ in staged:
                if part.exists():
                    part.unlink()
        return tables
