"""The one-more-day extension's build steps: uploads, jobs, documents, batches, deliveries, fees."""

from __future__ import annotations

from datetime import date, timedelta

from billing_reports.generate.distributions import (
    batch_work_seconds,
    delivery_bounce_probability,
    delivery_failure_probability,
    document_amount,
    document_date_lag,
    document_type,
    electronic_fee_type,
    electronic_unit_price,
    mail_class,
    mailed_after_due_seconds,
    page_count,
    postage_currency,
    postage_rate,
    print_facility,
    print_unit_price,
    send_seconds,
    upload_local_seconds,
    upload_slot_used,
)
from billing_reports.generate.names import OPS_STAFF
from billing_reports.generate.sql import JOB_RULE_FLAGS, sql_list


class ExtensionSteps:
    """The steps of :class:`~billing_reports.generate.extend.DayExtender`, in the order ``build`` runs them."""

    # -- the day ---------------------------------------------------------------------------------------------
    def build(self) -> None:
        self.uploads_and_jobs()
        self.job_table()
        self.approval_timeline()
        self.new_documents()
        self.release_timeline()
        self.batches()
        self.deliveries()
        self.completion()
        self.events_approvals_pulls()
        self.fees()
        self.output_views()

    def uploads_and_jobs(self) -> None:
        rand, T0, T1 = self.rand, self.S0, self.S1
        ms = self.max_slots
        dn = (self.day - date(2000, 1, 1)).days
        d_prev = (self.day - timedelta(days=1)).isoformat()
        # uploads of the client-local days D-1 and D that fall in [T0, T1) (the same keys on every run)
        self.run(f"""
        CREATE TABLE nup0 AS
        WITH s AS (
            SELECT c.client_idx, c.std_off, d.ld, d.dn, CAST(q.k AS INTEGER) AS k
            FROM cl c CROSS JOIN (VALUES (DATE '{d_prev}', {dn - 1}), (DATE '{self.day}', {dn})) d(ld, dn)
                 CROSS JOIN range({ms}) q(k)
            WHERE {upload_slot_used(rand, "c.client_idx", "d.dn", "q.k", ms, "d.ld")}
        ), l AS (
            SELECT *,
              CAST(ld AS TIMESTAMP) + secs({upload_local_seconds(rand, "client_idx", "dn", "k")}) AS up_local
            FROM s
        ), m AS MATERIALIZED (
            SELECT client_idx, std_off, dn, k, up_local, to_utc(up_local, std_off) AS uploaded_at, false AS stuck
            FROM l
        )
        SELECT * FROM m WHERE uploaded_at >= {T0} AND uploaded_at < {T1}
        UNION ALL
        SELECT c.client_idx, c.std_off, {dn}, 1000 + s.j, to_local(s.t, c.std_off), s.t, true
        FROM (VALUES (0, {min(3, self.n_clients - 1)}, {T1} - INTERVAL 5 HOUR - INTERVAL 8 MINUTE),
                     (1, 0, {T1} - INTERVAL 6 MINUTE)) s(j, ci, t)
        JOIN cl c ON c.client_idx = s.ci
        WHERE c.n_cust > 0
        """)
        # pickup: 1-14 minutes (rarely 16-46), or at the next client-local timed start
        self.run(f"""
        CREATE TABLE nup1 AS
        WITH x AS MATERIALIZED (
            SELECT s.*, r.rule_value AS tstart
            FROM nup0 s LEFT JOIN rules r
              ON r.client_idx = s.client_idx AND r.rule_type = 'timed_start'
             AND r.valid_from <= s.uploaded_at AND (r.valid_to IS NULL OR s.uploaded_at < r.valid_to)
            QUALIFY row_number() OVER (PARTITION BY s.client_idx, s.dn, s.k ORDER BY r.valid_from DESC) = 1
        ), y AS MATERIALIZED (
            SELECT *, date_trunc('day', up_local)
                      + mins(CAST(split_part(tstart, ':', 1) AS INTEGER) * 60
                             + CAST(split_part(tstart, ':', 2) AS INTEGER)) AS tcand
            FROM x
        )
        SELECT *,
          CASE WHEN stuck THEN NULL
               WHEN tstart IS NOT NULL THEN to_utc(
                    CASE WHEN tcand >= up_local THEN tcand ELSE tcand + INTERVAL 1 DAY END
                    + secs(60 + {rand.uniform("pk", "client_idx", "dn", "k")} * 660), std_off)
               ELSE uploaded_at + secs(CASE WHEN {rand.uniform("pk0", "client_idx", "dn", "k")} < 0.015
                                           THEN 960 + {rand.uniform("pk", "client_idx", "dn", "k")} * 1800
                                           ELSE 60 + {rand.uniform("pk", "client_idx", "dn", "k")} * 780 END)
          END AS pick_at,
          CASE WHEN {rand.uniform("kind", "client_idx", "dn", "k")} < CASE WHEN day(up_local) <= 2 THEN 0.35 ELSE 0.08 END
               THEN 'statements' ELSE 'invoices' END AS kind
        FROM y""")
        mf = self.maxn["file"]
        # uploads of earlier days still waiting (or picked up but without a job yet): picked up / turned into jobs now
        self.run(f"""
        CREATE TABLE nup AS
        SELECT {mf} + row_number() OVER (ORDER BY uploaded_at, client_idx, dn, k) AS file_no, client_idx, std_off,
               false AS is_old, NULL::VARCHAR AS file_id, NULL::VARCHAR AS old_name, NULL::VARCHAR AS old_size,
               uploaded_at, up_local, kind, stuck, pick_at,
               pick_at + secs(5 + {rand.uniform("jc", "client_idx", "dn", "k")} * 40) AS job_at
        FROM nup1
        UNION ALL
        SELECT idn(u.file_id), c.client_idx, c.std_off, true, u.file_id, u.file_name, u.size_bytes,
               ts(u.uploaded_at), NULL, CASE WHEN contains(u.file_name, '_statements_') THEN 'statements'
                                         ELSE 'invoices' END, false,
               coalesce(ts(u.picked_up_at), {T0} + secs(60 + {rand.uniform("opk", "idn(u.file_id)")} * 1740)),
               greatest(coalesce(ts(u.picked_up_at), {T0} + secs(60 + {rand.uniform("opk", "idn(u.file_id)")} * 1740))
                        + secs(5 + {rand.uniform("ojc", "idn(u.file_id)")} * 40), {T0} + INTERVAL 5 SECOND)
        FROM upload_slots u JOIN cl c USING (client_id)
        WHERE u.job_id IS NULL""")
        self.grow("file", self.scalar("SELECT max(file_no) FROM nup"))
        # never more jobs than documents: drop surplus new uploads
        n_jobs = self.scalar(f"SELECT count(*) FROM nup WHERE NOT stuck AND job_at < {T1}")
        n_old = self.scalar(f"SELECT count(*) FROM nup WHERE is_old AND job_at < {T1}")
        self.dpd = max(self.dpd, n_old)
        if n_jobs > self.dpd:
            self.run(f"""DELETE FROM nup WHERE file_no IN (
                SELECT file_no FROM nup WHERE NOT stuck AND NOT is_old AND job_at < {T1}
                ORDER BY {rand.uniform("drop", "file_no")}, file_no LIMIT {n_jobs - self.dpd})""")
        if self.scalar(f"SELECT count(*) FROM nup WHERE NOT stuck AND job_at < {T1}") == 0:
            # a day without a job (tiny folders, weekends): one upload in the morning of the busiest client
            ci = self.scalar("SELECT client_idx FROM cl WHERE n_cust > 0 ORDER BY rate DESC, client_idx LIMIT 1")
            if ci is not None:
                self.run(f"""INSERT INTO nup SELECT {mf} + 1 + coalesce((SELECT max(file_no) - {mf} FROM nup
                        WHERE NOT is_old), 0),
                    client_idx, std_off, false, NULL, NULL, NULL, {T0} + INTERVAL 14 HOUR,
                    to_local({T0} + INTERVAL 14 HOUR, std_off), 'invoices', false,
                    {T0} + INTERVAL 14 HOUR + INTERVAL 4 MINUTE, {T0} + INTERVAL 14 HOUR + INTERVAL 251 SECOND
                    FROM cl WHERE client_idx = {ci}""")
                self.grow("file", self.scalar("SELECT max(file_no) FROM nup"))
        D = self.dpd
        mj = self.maxn["job"]
        # jobs of the day: flags from the rules valid at creation; documents allocated like generate()
        self.run(f"""
        CREATE TABLE nj AS
        WITH a AS (
            SELECT u.file_no, u.client_idx, u.std_off, u.job_at AS created, u.kind, c.weight, c.country, c.short,
                   {JOB_RULE_FLAGS}
            FROM nup u JOIN cl c USING (client_idx)
            WHERE NOT u.stuck AND u.job_at < {T1}
        ), b AS (
            SELECT *, {mj} + row_number() OVER (ORDER BY created, client_idx, file_no) AS job_idx,
                   count(*) OVER () AS nj,
                   greatest(1, CAST(1000000 * exp(1.3 * {rand.normal("jsize", "file_no")})
                     * CASE WHEN dayofweek(local_date(created, std_off)) IN (0, 6) THEN 0.3 ELSE 1.0 END
                     * CASE WHEN kind = 'statements' THEN 1.3 ELSE 1.0 END AS BIGINT)) AS jw
            FROM a
        ), c AS (
            SELECT *, CAST(CAST(round(weight * 1000000) AS BIGINT) + 1 AS HUGEINT) * jw * 1000000000
                      // sum(jw) OVER (PARTITION BY client_idx) AS score
            FROM b
        ), d AS (
            SELECT *, sum(score) OVER () AS total FROM c
        ), e AS (
            SELECT *, 1 + CAST(({D} - nj) * score // total AS BIGINT) AS base, (({D} - nj) * score) % total AS frac
            FROM d
        ), f AS (
            SELECT *, {D} - sum(base) OVER () AS rem, row_number() OVER (ORDER BY frac DESC, job_idx) AS fr FROM e
        ), g AS (
            SELECT *, base + CASE WHEN fr <= rem THEN 1 ELSE 0 END AS doc_count FROM f
        )
        SELECT job_idx, file_no, client_idx, std_off, country, short, created, kind, ops, cust, delay_days,
               doc_count, sum(doc_count) OVER (ORDER BY job_idx) - doc_count AS doc_offset,
               greatest(1, CAST(ceil(doc_count * 0.5 / 5000) AS BIGINT)) AS npb,
               local_date(created, std_off) AS local_day
        FROM g""")
        got = self.scalar("SELECT coalesce(sum(doc_count), 0) FROM nj")
        if self.count("nj") and got != D:
            raise RuntimeError(f"document allocation failed: {got} != {D}")
        self.grow("job", self.scalar("SELECT max(job_idx) FROM nj"))
        # job names continue the per-client, per-local-day numbering of the folder
        self.run(f"""CREATE TABLE nj_name AS
            WITH old AS (
                SELECT client_idx, regexp_extract(job_name, '(\\d{{4}}-\\d\\d-\\d\\d) #\\d+$', 1) AS ld,
                       max(TRY_CAST(regexp_extract(job_name, '#(\\d+)$', 1) AS INTEGER)) AS seq0
                FROM oj WHERE created >= {T0} - INTERVAL 3 DAY GROUP BY ALL
            )
            SELECT n.job_idx,
                   n.short || ' ' || CASE WHEN n.kind = 'statements' THEN 'Statements' ELSE 'Invoices' END || ' '
                   || strftime(n.local_day, '%Y-%m-%d') || ' #'
                   || (coalesce(o.seq0, 0)
                       + row_number() OVER (PARTITION BY n.client_idx, n.local_day ORDER BY n.job_idx)) AS job_name
            FROM nj n LEFT JOIN old o ON o.client_idx = n.client_idx AND o.ld = strftime(n.local_day, '%Y-%m-%d')""")
        self.step(
            f"{self.day}: {self.count('nup'):,} uploads ({self.scalar('SELECT count(*) FROM nup WHERE is_old')} waiting "
            f"from earlier days), {self.count('nj'):,} new jobs for {D:,} documents"
        )

    def job_table(self) -> None:
        """``jx``: every open job (old and new) with what the folder knows of it (``k_*``, ``a_*``)."""
        self.run("""
        CREATE TABLE jx AS
        SELECT job_idx, client_idx, std_off, country, kind, true AS is_new, created, ops, cust, delay_days,
               doc_count, doc_offset, npb
        FROM nj
        UNION ALL BY NAME
        SELECT j.job_idx, j.client_idx, j.std_off, j.country, NULL AS kind, false AS is_new, j.created, j.ops, j.cust,
               (SELECT max(CAST(r.rule_value AS INTEGER)) FROM rules r WHERE r.client_idx = j.client_idx
                       AND r.rule_type = 'delay_electronic' AND r.valid_from <= j.created
                       AND (r.valid_to IS NULL OR j.created < r.valid_to)) AS delay_days,
               coalesce(dc.n, 0) AS doc_count,
               e.k_pdf, e.k_ready, e.k_creq, e.k_print, e.k_send, e.k_sched, e.k_sched_date, e.k_pc, e.k_po,
               e.k_po_date,
               a.a_o1, a.a_o1_req, a.a_o1_dec, a.a_o1_decision, a.a_o2, a.a_o2_req, a.a_o2_dec,
               a.a_c1, a.a_c1_req, a.a_c1_dec, a.a_c1_decision, a.a_c2, a.a_c2_req, a.a_c2_dec
        FROM open_j j
        LEFT JOIN (SELECT job_idx, count(*) AS n FROM odocs GROUP BY job_idx) dc USING (job_idx)
        LEFT JOIN (
            SELECT job_idx,
                   min(event_at) FILTER (WHERE step = 2) AS k_pdf, min(event_at) FILTER (WHERE step = 3) AS k_ready,
                   min(event_at) FILTER (WHERE step = 4) AS k_creq, min(event_at) FILTER (WHERE step = 5) AS k_print,
                   min(event_at) FILTER (WHERE step = 6) AS k_send, min(event_at) FILTER (WHERE step = 7) AS k_sched,
                   min(status_date) FILTER (WHERE step = 7) AS k_sched_date,
                   min(event_at) FILTER (WHERE step = 8) AS k_pc, min(event_at) FILTER (WHERE step = 9) AS k_po,
                   min(status_date) FILTER (WHERE step = 9) AS k_po_date
            FROM oev GROUP BY job_idx
        ) e USING (job_idx)
        LEFT JOIN (
            SELECT job_idx,
                   min(approval_id) FILTER (WHERE stage = 'ops' AND attempt = 1) AS a_o1,
                   min(requested_at) FILTER (WHERE stage = 'ops' AND attempt = 1) AS a_o1_req,
                   min(decided_at) FILTER (WHERE stage = 'ops' AND attempt = 1) AS a_o1_dec,
                   min(decision) FILTER (WHERE stage = 'ops' AND attempt = 1) AS a_o1_decision,
                   min(approval_id) FILTER (WHERE stage = 'ops' AND attempt = 2) AS a_o2,
                   min(requested_at) FILTER (WHERE stage = 'ops' AND attempt = 2) AS a_o2_req,
                   min(decided_at) FILTER (WHERE stage = 'ops' AND attempt = 2) AS a_o2_dec,
                   min(approval_id) FILTER (WHERE stage = 'customer' AND attempt = 1) AS a_c1,
                   min(requested_at) FILTER (WHERE stage = 'customer' AND attempt = 1) AS a_c1_req,
                   min(decided_at) FILTER (WHERE stage = 'customer' AND attempt = 1) AS a_c1_dec,
                   min(decision) FILTER (WHERE stage = 'customer' AND attempt = 1) AS a_c1_decision,
                   min(approval_id) FILTER (WHERE stage = 'customer' AND attempt = 2) AS a_c2,
                   min(requested_at) FILTER (WHERE stage = 'customer' AND attempt = 2) AS a_c2_req,
                   min(decided_at) FILTER (WHERE stage = 'customer' AND attempt = 2) AS a_c2_dec
            FROM oap GROUP BY job_idx
        ) a USING (job_idx)""")
        for c in [
            "t_pdf",
            "t_ready",
            "ops_dec1",
            "ops_req2",
            "ops_dec2",
            "ops_done",
            "cust_req1",
            "cust_dec1",
            "cust_req2",
            "cust_dec2",
            "cust_done",
            "release_at",
            "print_at",
            "send_at",
            "sched_at",
            "comp_max",
            "mailed_max",
            "e_rel",
            "e_comp",
            "last_sent",
            "pc_at",
            "po_at",
            "done_at",
        ]:
            self.run(f"ALTER TABLE jx ADD COLUMN {c} TIMESTAMP")
        for c, typ in [
            ("ops_rej", "BOOLEAN"),
            ("cust_rej", "BOOLEAN"),
            ("n_print", "BIGINT"),
            ("n_elec", "BIGINT"),
            ("n_pullch", "BIGINT"),
            ("has_print", "BOOLEAN"),
            ("has_elec", "BOOLEAN"),
            ("delayed", "BOOLEAN"),
            ("sched_date", "DATE"),
            ("due_max", "DATE"),
            ("all_sent", "BOOLEAN"),
            ("ob_sched", "DATE"),
        ]:
            self.run(f"ALTER TABLE jx ADD COLUMN {c} {typ}")

    def approval_timeline(self) -> None:
        rand, T0 = self.rand, self.S0
        per_job = lambda p: rand.uniform(p, "job_idx")  # noqa: E731

        def overdue(col: str, known: str, key: str) -> list[str]:
            """A decision planned from its request but already overdue at T0 (not in the folder, so it did not
            happen): the next business morning instead. Planned from the request, not from T0, a pending
            decision keeps its moment from one extension to the next (never postponed forever)."""
            return [
                f"{col} = CASE WHEN {known} IS NULL AND {col} < {T0}"
                f" THEN biz_after({T0}, std_off, 600 + {per_job(key)} * 10800) ELSE {col} END"
            ]

        for sets in [
            [
                f"t_pdf = coalesce(k_pdf, fut(created + secs(60 + {per_job('tpdf')} * 540 + doc_count * 0.01), {per_job('f1')} * 300))"
            ],
            [
                f"t_ready = coalesce(k_ready, a_o1_req, fut(t_pdf + secs(120 + {per_job('tready')} * 900 + doc_count * 0.03),"
                f" {per_job('f2')} * 300))",
                "ops_rej = ops AND CASE WHEN a_o2 IS NOT NULL THEN true WHEN a_o1_dec IS NOT NULL"
                f" THEN a_o1_decision = 'rejected' ELSE {per_job('opsrej')} < 0.06 END",
                "cust_rej = cust AND CASE WHEN a_c2 IS NOT NULL THEN true WHEN a_c1_dec IS NOT NULL"
                f" THEN a_c1_decision = 'rejected' ELSE {per_job('custrej')} < 0.06 END",
            ],
            [
                f"ops_dec1 = CASE WHEN ops THEN coalesce(a_o1_dec, biz_after(t_ready, std_off, 900 + {per_job('opsd')} * 12600)) END"
            ],
            overdue("ops_dec1", "a_o1_dec", "od1"),
            [
                "ops_req2 = CASE WHEN ops_rej THEN coalesce(a_o2_req,"
                f" fut(ops_dec1 + secs(1800 + {per_job('opsr2')} * 5400), {per_job('f3')} * 900)) END"
            ],
            [
                "ops_dec2 = CASE WHEN ops_rej THEN coalesce(a_o2_dec,"
                f" biz_after(ops_req2, std_off, 600 + {per_job('opsd2')} * 4800)) END"
            ],
            overdue("ops_dec2", "a_o2_dec", "od2"),
            ["ops_done = CASE WHEN NOT ops THEN t_ready WHEN ops_rej THEN ops_dec2 ELSE ops_dec1 END"],
            [
                "cust_req1 = CASE WHEN cust THEN coalesce(k_creq, a_c1_req,"
                f" fut(ops_done + secs(60 + {per_job('cr1')} * 180), {per_job('f4')} * 300)) END"
            ],
            [
                "cust_dec1 = CASE WHEN cust THEN coalesce(a_c1_dec,"
                f" biz_after(cust_req1, std_off, 3600 + {per_job('cd1')} * 100800)) END"
            ],
            overdue("cust_dec1", "a_c1_dec", "cd1o"),
            [
                "cust_req2 = CASE WHEN cust_rej THEN coalesce(a_c2_req,"
                f" fut(cust_dec1 + secs(3600 + {per_job('cr2')} * 14400), {per_job('f5')} * 900)) END"
            ],
            [
                "cust_dec2 = CASE WHEN cust_rej THEN coalesce(a_c2_dec,"
                f" biz_after(cust_req2, std_off, 1800 + {per_job('cd2')} * 28800)) END"
            ],
            overdue("cust_dec2", "a_c2_dec", "cd2o"),
            ["cust_done = CASE WHEN NOT cust THEN ops_done WHEN cust_rej THEN cust_dec2 ELSE cust_dec1 END"],
        ]:
            self.run("UPDATE jx SET " + ", ".join(sets))

    def new_documents(self) -> None:
        rand, T1 = self.rand, self.S1
        d = "doc_id"
        md = self.maxn["document"]
        self.run(f"""
        CREATE TABLE ndocs AS
        WITH g AS (
            SELECT job_idx, client_idx, doc_offset, doc_count, npb, created, kind, cust, cust_req1, cust_done,
                   local_date(created, std_off) AS local_day, unnest(range(doc_count)) AS seq
            FROM jx WHERE is_new
        ), h AS (
            SELECT *, {md} + doc_offset + seq + 1 AS doc_id FROM g
        ), i AS (
            SELECT h.*, c.by_branch, c.n_branches,
                   1 + CAST(floor({rand.uniform("dcust", d)} * c.n_cust) AS BIGINT) AS rk,
                   CASE WHEN c.by_branch AND c.n_branches > 0 AND {rand.uniform("dbr0", d)} < 0.06
                        THEN CAST(floor({rand.uniform("dbr1", d)} * c.n_branches) AS INTEGER) END AS br_idx
            FROM h JOIN cl c USING (client_idx)
        ), k AS (
            SELECT i.*, cu.customer_account_id, cu.branch_code AS cust_br, coalesce(rt.chan, 0) AS chan,
                   coalesce(rt.pull_class, 'A') AS pc0, {rand.uniform("dtype", d)} AS ut
            FROM i JOIN cust cu ON cu.client_idx = i.client_idx AND cu.rk = i.rk
            LEFT JOIN rt ON rt.client_idx = i.client_idx AND rt.customer_account_id = cu.customer_account_id
                        AND rt.vf <= i.created AND (rt.vt IS NULL OR i.created < rt.vt)
            QUALIFY row_number() OVER (PARTITION BY i.doc_id ORDER BY rt.vf DESC NULLS LAST, rt.chan) = 1
        ), m AS (
            SELECT k.*,
              CAST({document_type("kind", "ut")} AS UTINYINT) AS dtype,
              cust AND cust_req1 < {T1} AND chan <> 8 AND (seq = 2 OR {rand.uniform("pull", d)} < 0.005) AS pull0,
              CASE WHEN cust AND cust_req1 < {T1}
                   THEN cust_req1 + secs(30 + {rand.uniform("pullt", d)} * 0.9
                        * greatest(0, epoch(least(cust_done, {T1})) - epoch(cust_req1))) END AS pulled_at0
            FROM k
        )
        SELECT m.doc_id, m.job_idx, m.client_idx, m.customer_account_id, m.cust_br, b.branch_code AS br_exp,
               CAST(m.chan AS INTEGER) AS chan, CASE WHEN m.chan = 8 THEN m.pc0 END AS pull_class, m.dtype,
               CAST({document_amount(rand, "m.dtype", d)} AS DECIMAL(14, 2))
                   AS amount,
               CAST({page_count(rand, "m.dtype", d)} AS INTEGER) AS pages,
               m.local_day - {document_date_lag(rand, d)} AS doc_date,
               m.pull0 AND m.pulled_at0 < {T1} AS pulled,
               CASE WHEN m.pull0 AND m.pulled_at0 < {T1} THEN m.pulled_at0 END AS pulled_at,
               CASE WHEN m.chan = 0 THEN CAST(floor(m.seq * m.npb / m.doc_count) AS BIGINT)
                    WHEN m.chan = 8 THEN NULL ELSE m.npb END AS slot,
               CAST(NULL AS BIGINT) AS batch_no, true AS is_new
        FROM m LEFT JOIN clbr b ON b.client_idx = m.client_idx AND b.bi = m.br_idx""")
        got = self.count("ndocs")
        if got != self.scalar("SELECT coalesce(sum(doc_count), 0) FROM jx WHERE is_new"):
            raise RuntimeError("new documents lost a customer (a client without customers?)")
        self.grow("document", md + got)
        # batch numbers: the used print slots and the electronic slot of each new job, in order
        mb = self.maxn["batch"]
        self.run(f"""CREATE TABLE nslot AS SELECT job_idx, slot, {mb} + row_number() OVER (ORDER BY job_idx, slot) AS batch_no
            FROM (SELECT DISTINCT job_idx, slot FROM ndocs WHERE slot IS NOT NULL)""")
        self.run(
            "UPDATE ndocs SET batch_no = s.batch_no FROM nslot s WHERE s.job_idx = ndocs.job_idx AND s.slot = ndocs.slot"
        )
        self.grow("batch", self.scalar("SELECT max(batch_no) FROM nslot"))
        self.run("""CREATE TABLE alld AS
            SELECT doc_id, document_id, job_idx, client_idx, batch_no, chan, pages, pulled, br_exp, cust_br, is_new
            FROM odocs
            UNION ALL BY NAME
            SELECT doc_id, job_idx, client_idx, batch_no, chan, pages, pulled, br_exp, cust_br, is_new FROM ndocs""")
        self.run(f"UPDATE alld SET document_id = {self.fid('document', 'doc_id')} WHERE is_new")
        self.step(f"documents: {got:,} new, {self.count('nslot'):,} new batches")

    def release_timeline(self) -> None:
        rand = self.rand
        per_job = lambda p: rand.uniform(p, "job_idx")  # noqa: E731
        self.run("""UPDATE jx SET n_print = a.n_print, n_elec = a.n_elec, n_pullch = a.n_pullch
            FROM (SELECT job_idx,
                         count(*) FILTER (WHERE chan = 0 AND NOT pulled) AS n_print,
                         count(*) FILTER (WHERE chan BETWEEN 1 AND 7 AND NOT pulled) AS n_elec,
                         count(*) FILTER (WHERE chan = 8 AND NOT pulled) AS n_pullch
                  FROM alld GROUP BY job_idx) a
            WHERE a.job_idx = jx.job_idx""")
        self.run("""UPDATE jx SET ob_sched = s.sched FROM (
                SELECT idn(job_id) AS job_idx, min(CAST(scheduled_send_date AS DATE)) AS sched FROM b0
                WHERE batch_type = 'electronic' GROUP BY 1) s
            WHERE s.job_idx = jx.job_idx""")
        for sets in [
            [
                "n_print = coalesce(n_print, 0)",
                "n_elec = coalesce(n_elec, 0)",
                "n_pullch = coalesce(n_pullch, 0)",
                f"release_at = coalesce(k_print, k_send, fut(cust_done + secs(180 + {per_job('rel')} * 1020), {per_job('f6')} * 300))",
            ],
            [
                "has_print = n_print > 0",
                "has_elec = n_elec > 0",
                "delayed = n_elec > 0 AND (k_sched IS NOT NULL OR ob_sched IS NOT NULL OR delay_days IS NOT NULL)",
            ],
            [
                "print_at = CASE WHEN has_print THEN coalesce(k_print, release_at) END",
                "send_at = CASE WHEN has_elec THEN coalesce(k_send, fut(release_at + secs(CASE WHEN"
                f" {per_job('tie')} < 0.03 THEN 0 ELSE 5 + {per_job('sendd')} * 55 END), {per_job('f7')} * 60)) END",
            ],
            [
                f"sched_at = CASE WHEN delayed THEN coalesce(k_sched, fut(send_at + secs(30 + {per_job('schd')} * 120), 30)) END"
            ],
            [
                "sched_date = CASE WHEN delayed THEN coalesce(k_sched_date, ob_sched,"
                " local_date(send_at, std_off) + CAST(coalesce(delay_days, 1) AS INTEGER)) END"
            ],
        ]:
            self.run("UPDATE jx SET " + ", ".join(sets))

    def batches(self) -> None:
        rand = self.rand
        b = "batch_no"
        # old batches of open jobs (the folder's values kept) and the new jobs' batches
        self.run(f"""
        CREATE TABLE bx0 AS
        SELECT idn(o.batch_id) AS batch_no, o.batch_id, j.job_idx, o.batch_type = 'print' AS is_print,
               coalesce(TRY_CAST(o.piece_count AS BIGINT), 0) AS pieces,
               coalesce(TRY_CAST(o.sheet_count AS BIGINT), 0) AS sheets, o.print_facility AS facility, o.mail_class,
               o.postage_currency, o.postage_amount AS old_postage, ts(o.released_at) AS k_rel,
               ts(o.completed_at) AS k_comp, CAST(o.post_office_due_date AS DATE) AS k_due, ts(o.mailed_at) AS k_mailed,
               CAST(o.scheduled_send_date AS DATE) AS k_sched, false AS is_new
        FROM b0 o JOIN jx j ON j.job_idx = idn(o.job_id) AND NOT j.is_new
        UNION ALL BY NAME
        SELECT a.batch_no, a.job_idx, a.is_print, a.pieces, a.sheets,
               {print_facility("a.is_print", "j.country")} AS facility,
               {mail_class(rand, "a.is_print", "j.kind", "a.batch_no")} AS mail_class,
               {postage_currency("a.is_print", "j.country")} AS postage_currency,
               true AS is_new
        FROM (SELECT batch_no, min(job_idx) AS job_idx, max(chan) = 0 AS is_print,
                     count(*) FILTER (WHERE NOT pulled) AS pieces,
                     coalesce(sum((pages + 1) // 2) FILTER (WHERE NOT pulled), 0) AS sheets
              FROM ndocs WHERE batch_no IS NOT NULL GROUP BY batch_no) a
        JOIN jx j USING (job_idx)""")
        self.run(f"""
        CREATE TABLE bx AS
        WITH a AS (
            SELECT x.*, j.client_idx, j.std_off, j.delayed, j.sched_date, j.sched_at, j.print_at, j.send_at,
                   CAST(row_number() OVER (PARTITION BY x.job_idx, x.is_print ORDER BY x.batch_no) - 1 AS INTEGER)
                       AS prank
            FROM bx0 x JOIN jx j USING (job_idx)
        ), c AS MATERIALIZED (
            SELECT *,
              CASE WHEN pieces = 0 OR k_rel IS NOT NULL THEN NULL
                   WHEN is_print THEN print_at + secs(prank * 240 + {rand.uniform("brel", b)} * 120)
                   WHEN delayed THEN to_utc(CAST(sched_date AS TIMESTAMP) + secs(21600 + {rand.uniform("brel", b)} * 7200),
                                            std_off)
                   ELSE send_at END AS rel0
            FROM a
        ), d AS MATERIALIZED (
            SELECT *, CASE WHEN pieces = 0 THEN NULL ELSE coalesce(k_rel, fut(rel0, {rand.uniform("fb1", b)} * 600)) END
                      AS released
            FROM c
        ), e AS MATERIALIZED (
            SELECT *, coalesce(k_comp, fut(released + secs({batch_work_seconds(rand, b)}),
                                           {rand.uniform("fb2", b)} * 900)) AS completed
            FROM d
        ), f AS MATERIALIZED (
            SELECT *, CASE WHEN is_print THEN to_local(completed, std_off) END AS comp_local FROM e
        ), h AS (
            SELECT *, CAST(comp_local AS DATE) + CASE WHEN hour(comp_local) >= 14 THEN 1 ELSE 0 END AS due0 FROM f
        ), k AS MATERIALIZED (
            SELECT *, coalesce(k_due, due0 + CASE WHEN dayofweek(due0) = 0 THEN 1 ELSE 0 END) AS due FROM h
        ), m AS MATERIALIZED (
            SELECT *,
              CASE WHEN is_print AND completed IS NOT NULL THEN greatest(
                   to_utc(CAST(due AS TIMESTAMP) + secs({mailed_after_due_seconds(rand, b)}), std_off),
                   completed + INTERVAL 30 MINUTE) END AS mailed0
            FROM k
        )
        SELECT * EXCLUDE (mailed0, comp_local, due0),
          CASE WHEN is_print THEN coalesce(k_mailed, fut(mailed0, {rand.uniform("fb3", b)} * 900)) END AS mailed,
          {postage_rate()} AS rate
        FROM m""")
        self.run("""UPDATE jx SET comp_max = p.comp_max, due_max = p.due_max, mailed_max = p.mailed_max
            FROM (SELECT job_idx, max(completed) AS comp_max, max(due) AS due_max, max(mailed) AS mailed_max
                  FROM bx WHERE is_print AND pieces > 0 GROUP BY job_idx) p
            WHERE p.job_idx = jx.job_idx""")
        self.run("""UPDATE jx SET e_rel = e.e_rel, e_comp = e.e_comp
            FROM (SELECT job_idx, min(released) AS e_rel, max(completed) AS e_comp
                  FROM bx WHERE NOT is_print AND pieces > 0 GROUP BY job_idx) e
            WHERE e.job_idx = jx.job_idx""")

    def deliveries(self) -> None:
        rand, T0, T1 = self.rand, self.S0, self.S1
        d = "e.doc_id"
        # electronic documents of open jobs once their batch is released: first attempts and retries
        self.run(f"""
        CREATE TABLE ndl0 AS
        WITH e AS (
            SELECT a.doc_id, a.document_id, a.job_idx, a.client_idx, a.chan, a.pages, a.br_exp, a.cust_br,
                   j.e_rel, j.e_comp, s.has_sent, s.first_sent AS old_sent, s.f_id, s.f_dl, s.f_att
            FROM alld a JOIN jx j USING (job_idx) LEFT JOIN dstate s ON s.document_id = a.document_id
            WHERE a.chan BETWEEN 1 AND 7 AND NOT a.pulled AND j.e_rel < {T1}
        ), b AS (
            SELECT e.*,
              {delivery_failure_probability("e.chan")} AS fp,
              {delivery_bounce_probability("e.chan")} AS bp,
              {rand.uniform("dout", d)} AS uo, {rand.uniform("dsent", d)} AS us,
              CASE WHEN f_dl IS NOT NULL
                   THEN fut(f_att + secs(1200 + {rand.uniform("dretry", d)} * 20400), {rand.uniform("fd1", d)} * 7200)
                   ELSE fut(e_rel + secs({rand.uniform("att", d)} * (epoch(e_comp) - epoch(e_rel))), {rand.uniform("fd2", d)} * 600)
              END AS att
            FROM e WHERE coalesce(NOT has_sent, true)
        )
        SELECT *, f_dl IS NOT NULL AS is_retry,
          CASE WHEN f_dl IS NULL AND uo < fp THEN 'failed'
               WHEN (f_dl IS NULL AND uo < fp + bp) OR (f_dl IS NOT NULL AND uo < bp) THEN 'bounced'
               ELSE 'sent' END AS outcome0,
          CASE WHEN outcome0 <> 'failed'
               THEN att + secs({send_seconds("chan", "us")}) END AS sent
        FROM b
        WHERE coalesce(sent, att) < {T1}""")
        md = self.maxn["delivery"]
        self.run(f"""
        CREATE TABLE ndl AS
        SELECT CASE WHEN is_retry THEN f_dl
                    ELSE {md} + row_number() OVER (PARTITION BY is_retry ORDER BY att, doc_id) END AS dl_no,
               f_id, doc_id, document_id, job_idx, client_idx, chan, att AS attempted_at, sent AS sent_at,
               outcome0 AS outcome, is_retry
        FROM ndl0""")
        self.grow("delivery", self.scalar("SELECT max(dl_no) FROM ndl WHERE NOT is_retry"))
        # deliveries sent on the previous day that now bounce (e-mail, csv): re-sent with outcome bounced
        self.run(f"""
        CREATE TABLE bounce AS
        SELECT * FROM dl_all
        WHERE outcome = 'sent' AND sent >= {T0} - INTERVAL 1 DAY AND sent < {T0}
          AND delivery_channel IN ('email', 'csv') AND {rand.uniform("bounce", "dl")} < 0.0125
          AND delivery_id NOT IN (SELECT delivery_id FROM dl_all WHERE outcome <> 'sent')
        QUALIFY row_number() OVER (PARTITION BY delivery_id ORDER BY sent) = 1""")
        # first successful send per electronic document, and whether every one of a job's is sent
        self.run(f"""
        CREATE TABLE dsent AS
        SELECT a.job_idx, a.doc_id, a.chan, coalesce(s.first_sent, n.sent_at) AS first_sent,
               n.sent_at AS new_sent
        FROM alld a LEFT JOIN dstate s ON s.document_id = a.document_id
        LEFT JOIN ndl n ON n.doc_id = a.doc_id AND n.sent_at < {T1}
        WHERE a.chan BETWEEN 1 AND 7 AND NOT a.pulled""")
        self.run("""UPDATE jx SET all_sent = s.all_sent, last_sent = s.last_sent
            FROM (SELECT job_idx, bool_and(first_sent IS NOT NULL) AS all_sent, max(first_sent) AS last_sent
                  FROM dsent GROUP BY job_idx) s
            WHERE s.job_idx = jx.job_idx""")
        self.step(
            f"deliveries: {self.scalar('SELECT count(*) FROM ndl WHERE NOT is_retry'):,} new, "
            f"{self.scalar('SELECT count(*) FROM ndl WHERE is_retry'):,} failed ones retried, "
            f"{self.count('bounce'):,} bounces revealed"
        )

    def completion(self) -> None:
        rand = self.rand
        per_job = lambda p: rand.uniform(p, "job_idx")  # noqa: E731
        for sets in [
            [
                f"pc_at = CASE WHEN has_print THEN coalesce(k_pc, fut(comp_max + secs(60 + {per_job('pcd')} * 240), 60)) END"
            ],
            [
                f"po_at = CASE WHEN has_print THEN coalesce(k_po, fut(pc_at + secs(300 + {per_job('pod')} * 2400), 300)) END"
            ],
            [
                "done_at = CASE WHEN release_at IS NOT NULL AND (NOT has_elec OR coalesce(all_sent, false))"
                " THEN greatest(release_at, print_at, send_at, sched_at, pc_at, po_at, mailed_max, e_comp, last_sent)"
                f" + secs(120 + {per_job('done')} * 1080) END"
            ],
        ]:
            self.run("UPDATE jx SET " + ", ".join(sets))

    def events_approvals_pulls(self) -> None:
        rand, T0, T1 = self.rand, self.S0, self.S1
        me = self.maxn["event"]
        # every step's moment; a step not in the folder is written when it falls in the day (never before an
        # earlier step: running maximum)
        self.run(f"""
        CREATE TABLE nev AS
        WITH s AS (
            SELECT job_idx, 1 AS step, created AS t, CAST(NULL AS DATE) AS status_date FROM jx
            UNION ALL SELECT job_idx, 2, t_pdf, NULL FROM jx
            UNION ALL SELECT job_idx, 3, t_ready, NULL FROM jx WHERE ops
            UNION ALL SELECT job_idx, 4, cust_req1, NULL FROM jx WHERE cust
            UNION ALL SELECT job_idx, 5, print_at, NULL FROM jx WHERE has_print
            UNION ALL SELECT job_idx, 6, send_at, NULL FROM jx WHERE has_elec
            UNION ALL SELECT job_idx, 7, sched_at, sched_date FROM jx WHERE delayed
            UNION ALL SELECT job_idx, 8, pc_at, NULL FROM jx WHERE has_print
            UNION ALL SELECT job_idx, 9, po_at, due_max FROM jx WHERE has_print
            UNION ALL SELECT job_idx, 10, done_at, NULL FROM jx
        ), m AS (
            SELECT job_idx, step, status_date,
                   max(t) OVER (PARTITION BY job_idx ORDER BY step ROWS UNBOUNDED PRECEDING) AS event_at
            FROM s WHERE t IS NOT NULL
        ), n AS (
            SELECT m.* FROM m ANTI JOIN oev o ON o.job_idx = m.job_idx AND o.step = m.step
            WHERE m.event_at >= {T0} AND m.event_at < {T1}
        )
        SELECT {me} + row_number() OVER (ORDER BY event_at, job_idx, step) AS event_no, * FROM n""")
        self.grow("event", self.scalar("SELECT max(event_no) FROM nev"))
        ops = sql_list(OPS_STAFF)
        ma = self.maxn["approval"]
        self.run(f"""
        CREATE TABLE nap0 AS
        WITH a AS (
            SELECT job_idx, client_idx, 'ops' AS stage, 1 AS so, 1 AS attempt, a_o1 AS approval_id, a_o1_dec AS k_dec,
                   coalesce(a_o1_req, t_ready) AS requested_at, ops_dec1 AS decided_at,
                   CASE WHEN ops_rej THEN 'rejected' ELSE 'approved' END AS decision
            FROM jx WHERE ops
            UNION ALL SELECT job_idx, client_idx, 'ops', 1, 2, a_o2, a_o2_dec, ops_req2, ops_dec2, 'approved'
            FROM jx WHERE ops_rej
            UNION ALL
            SELECT job_idx, client_idx, 'customer', 2, 1, a_c1, a_c1_dec, coalesce(a_c1_req, cust_req1), cust_dec1,
                   CASE WHEN cust_rej THEN 'rejected' ELSE 'approved' END
            FROM jx WHERE cust
            UNION ALL SELECT job_idx, client_idx, 'customer', 2, 2, a_c2, a_c2_dec, cust_req2, cust_dec2, 'approved'
            FROM jx WHERE cust_rej
        )
        SELECT a.*,
               CASE WHEN a.stage = 'ops' THEN {rand.pick(ops, len(OPS_STAFF), "opsby", "a.job_idx", "a.attempt")}
                    ELSE c.approvers[1 + CAST(floor({rand.uniform("cby", "a.job_idx", "a.attempt")} * len(c.approvers))
                                              AS INTEGER)] END AS decided_by
        FROM a JOIN cla c USING (client_idx)
        WHERE (a.approval_id IS NULL AND a.requested_at < {T1})
           OR (a.approval_id IS NOT NULL AND a.k_dec IS NULL AND a.decided_at < {T1})""")
        self.run(f"""
        CREATE TABLE nap AS
        SELECT coalesce(idn(approval_id),
                        {ma} + row_number() OVER (PARTITION BY approval_id IS NULL
                                                  ORDER BY requested_at, job_idx, so, attempt)) AS approval_no,
               * FROM nap0""")
        self.grow("approval", self.scalar("SELECT max(approval_no) FROM nap"))
        mp = self.maxn["pull"]
        self.run(f"""
        CREATE TABLE npl AS
        SELECT {mp} + row_number() OVER (ORDER BY d.pulled_at, d.doc_id) AS pull_no, d.doc_id, d.job_idx, d.client_idx,
               d.pulled_at,
               c.approvers[1 + CAST(floor({rand.uniform("pby", "d.doc_id")} * len(c.approvers)) AS INTEGER)] AS pulled_by
        FROM ndocs d JOIN cla c ON c.client_idx = d.client_idx WHERE d.pulled""")
        self.grow("pull", self.scalar("SELECT max(pull_no) FROM npl"))
        self.step(
            f"status events: {self.count('nev'):,}; approvals written: {self.count('nap'):,}; "
            f"pulls: {self.count('npl'):,}"
        )

    def fees(self) -> None:
        T0, T1 = self.S0, self.S1
        dec = "DECIMAL(10, 2)"
        br = "CASE WHEN c.by_branch THEN coalesce(d.br_exp, d.cust_br) END"
        self.run(f"""
        CREATE TABLE nfe0 AS
        WITH pb AS (
            SELECT d.batch_no, d.job_idx, d.client_idx, {br} AS br,
                   sum((d.pages + 1) // 2) AS sheets, count(*) AS pieces
            FROM alld d JOIN cl c ON c.client_idx = d.client_idx
            WHERE d.chan = 0 AND NOT d.pulled GROUP BY ALL
        ), el AS (
            SELECT d.job_idx, d.client_idx, {br} AS br,
                   {electronic_fee_type("d.chan")} AS ft, {electronic_unit_price("d.chan")} AS unit,
                   count(*) AS qty
            FROM alld d JOIN cl c ON c.client_idx = d.client_idx JOIN dsent s ON s.doc_id = d.doc_id
            WHERE d.chan BETWEEN 1 AND 7 AND d.chan <> 4 AND NOT d.pulled AND s.first_sent < {T1} GROUP BY ALL
        ), pr AS (
            SELECT d.job_idx, d.client_idx, {br} AS br, count(*) AS qty
            FROM alld d JOIN cl c ON c.client_idx = d.client_idx WHERE d.chan = 8 AND NOT d.pulled GROUP BY ALL
        )
        SELECT * FROM (
            SELECT pb.client_idx, pb.job_idx, pb.batch_no, NULL::BIGINT AS doc_id, pb.br, 'print' AS fee_type,
                   1 AS fo, pb.sheets AS qty, {print_unit_price("bx.facility")}::{dec} AS unit,
                   coalesce(bx.postage_currency, 'USD') AS currency, bx.facility, bx.completed AS fee_ts
            FROM pb JOIN bx USING (batch_no) WHERE bx.k_comp IS NULL
            UNION ALL
            SELECT pb.client_idx, pb.job_idx, pb.batch_no, NULL, pb.br, 'postage', 2, pb.pieces, bx.rate,
                   coalesce(bx.postage_currency, 'USD'), bx.facility, bx.mailed
            FROM pb JOIN bx USING (batch_no) WHERE bx.k_mailed IS NULL
            UNION ALL
            SELECT el.client_idx, el.job_idx, NULL, NULL, el.br, el.ft, 3, el.qty, el.unit::{dec}, 'USD', NULL,
                   jx.e_comp + INTERVAL 5 MINUTE
            FROM el JOIN jx USING (job_idx)
            UNION ALL
            SELECT d.client_idx, d.job_idx, NULL, d.doc_id, NULL, 'fax', 4, d.pages, 0.12::{dec}, 'USD', NULL, s.new_sent
            FROM alld d JOIN dsent s ON s.doc_id = d.doc_id WHERE d.chan = 4 AND s.new_sent IS NOT NULL
            UNION ALL
            SELECT pr.client_idx, pr.job_idx, NULL, NULL, pr.br, 'pull', 5, pr.qty, 0.25::{dec}, 'USD', NULL,
                   jx.release_at + INTERVAL 10 MINUTE
            FROM pr JOIN jx USING (job_idx)
            UNION ALL
            SELECT client_idx, job_idx, NULL, doc_id, NULL, 'pull', 6, 1, 0.50::{dec}, 'USD', NULL,
                   pulled_at + INTERVAL 1 MINUTE
            FROM ndocs WHERE pulled
        ) WHERE fee_ts >= {T0} AND fee_ts < {T1} AND qty > 0""")
        mf = self.maxn["fee"]
        self.run(f"""
        CREATE TABLE nfe AS
        SELECT {mf} + row_number() OVER (ORDER BY fee_ts, client_idx, job_idx NULLS FIRST, fo, fee_type,
                                         batch_no NULLS FIRST, br NULLS FIRST, doc_id NULLS FIRST) AS fee_no,
               f.*, CAST(f.qty * f.unit AS DECIMAL(14, 2)) AS amount, local_date(f.fee_ts, c.std_off) AS fee_date
        FROM nfe0 f JOIN cl c USING (client_idx)""")
        self.grow("fee", self.scalar("SELECT max(fee_no) FROM nfe"))
        self.step(f"fees: {self.count('nfe'):,}")
