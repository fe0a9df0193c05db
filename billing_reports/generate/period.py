"""``generate``: a whole landing folder for a period, built step by step in DuckDB."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path

from billing_reports.generate.config import build_config
from billing_reports.generate.contract import ID_FORMATS
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
from billing_reports.generate.names import CUST_A, CUST_B, CUST_S, LAST, OPS_STAFF
from billing_reports.generate.period_output import PeriodOutput
from billing_reports.generate.sql import (
    JOB_RULE_FLAGS,
    SeededRandom,
    SqlSteps,
    macro_sql,
    progress_steps,
    scratch_connection,
    sql_list,
    sql_timestamp,
)


def generate(
    out_dir: str | Path,
    documents: int = 20000,
    clients: int = 6,
    days: int = 30,
    seed: int = 42,
    progress: Callable[[str], None] | None = None,
    start_date: str = "2026-10-01",
) -> dict:
    """Write a landing folder ``<out_dir>/<table>/<extract-day>.csv`` and return a summary.

    The summary holds ``tables`` ({table: {rows, keys, files, bytes}}), ``rows`` ({table: rows}),
    ``files``, ``bytes``, ``seconds``, ``as_of`` (end of the period, ISO 8601 Z), ``start_date``,
    ``end_date`` (last day of the period), ``seed`` and ``documents``.
    """
    t0, step = progress_steps(progress)
    if documents < 1 or clients < 1 or days < 1:
        raise ValueError("documents, clients and days must be >= 1")

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    start = datetime.combine(date.fromisoformat(start_date), datetime.min.time())
    cfg = build_config(clients, days, seed, start, documents)
    end: datetime = cfg["end"]
    with scratch_connection("billing_gen_", on_disk=True) as con:
        builder = PeriodBuilder(con, cfg, documents, seed, start, end, step)
        builder.build()
        tables = builder.write(out)
    secs = round(time.time() - t0, 2)
    summary = {
        "out_dir": str(out),
        "seed": seed,
        "documents": documents,
        "clients": clients,
        "days": days,
        "start_date": start.date().isoformat(),
        "end_date": (end - timedelta(days=1)).date().isoformat(),
        "as_of": end.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "tables": tables,
        "rows": {t: v["rows"] for t, v in tables.items()},
        "files": sum(v["files"] for v in tables.values()),
        "bytes": sum(v["bytes"] for v in tables.values()),
        "seconds": secs,
    }
    step(f"done: {summary['files']} files, {summary['bytes'] / 1e6:,.1f} MB, {documents:,} documents in {secs:.1f}s")
    return summary


class PeriodBuilder(PeriodOutput, SqlSteps):
    """The full-period generator: one DuckDB table per step, in the order ``build`` runs them."""

    def __init__(self, con, cfg, n_docs, seed, start, end, step):
        self.con = con
        self.cfg = cfg
        self.D = int(n_docs)
        self.rand = SeededRandom(seed)
        self.start = start
        self.end = end
        self.step = step
        self.NOW = sql_timestamp(end)
        self.START = sql_timestamp(start)
        self.w: dict[str, int] = {}

    def drop(self, *tables: str) -> None:
        for t in tables:
            self.run(f"DROP TABLE IF EXISTS {t}")

    def width(self, kind: str, max_value: int) -> None:
        self.w[kind] = max(ID_FORMATS[kind][1], len(str(max(int(max_value or 0), 0))))

    # -- build -----------------------------------------------------------------------------------------
    def build(self) -> None:
        self.macros()
        self.config_tables()
        self.customers()
        self.uploads_and_jobs()
        self.documents()
        self.batches_and_timeline()
        self.deliveries()
        self.fees()
        self.drop(
            "upload_slots",
            "job_approval_times",
            "job_release_times",
            "job_times",
            "job_document_counts",
            "batch_document_counts",
            "delivery_plan",
            "fee_lines",
        )
        self.widths()
        self.views()
        self.drop("rt", "dl")

    def macros(self) -> None:
        for m in macro_sql(range(self.start.year, self.end.year + 1)):
            self.run(m)

    def config_tables(self) -> None:
        cfg = self.cfg
        cl = cfg["clients"]
        self.run("""CREATE TABLE cl (client_idx INTEGER, client_id VARCHAR, client_name VARCHAR, timezone VARCHAR,
            std_off INTEGER, country VARCHAR, by_branch BOOLEAN, weight DOUBLE, rate DOUBLE, n_cust BIGINT,
            cust_start BIGINT, n_branches INTEGER, approvers VARCHAR[], short VARCHAR, slug VARCHAR,
            area VARCHAR[], force_day INTEGER)""")
        for c in cl:
            self.con.execute(
                "INSERT INTO cl VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                [
                    c["idx"],
                    c["client_id"],
                    c["name"],
                    c["tz"],
                    c["std"],
                    c["country"],
                    c["by_branch"],
                    c["weight"],
                    c["rate"],
                    c["n_cust"],
                    c["cust_start"],
                    len(c["branches"]),
                    c["approvers"],
                    c["short"],
                    c["slug"],
                    c["area"],
                    c["force_day"],
                ],
            )
        self.run("CREATE TABLE clbr (client_idx INTEGER, bi INTEGER, branch_code VARCHAR, branch_name VARCHAR)")
        for c in cl:
            for bi, (code, city) in enumerate(c["branches"]):
                self.con.execute("INSERT INTO clbr VALUES (?,?,?,?)", [c["idx"], bi, code, city])
        self.run("CREATE TABLE days (di INTEGER, day DATE)")
        for di, d in enumerate(cfg["days"]):
            self.con.execute("INSERT INTO days VALUES (?,?)", [di, d])
        self.run("""CREATE TABLE contacts (contact_id VARCHAR, client_idx INTEGER, full_name VARCHAR, email VARCHAR,
            role VARCHAR, valid_from TIMESTAMP, valid_to TIMESTAMP)""")
        for r in cfg["contacts"]:
            self.con.execute(
                "INSERT INTO contacts VALUES (?,?,?,?,?,?,?)",
                [r["id"], r["client"], r["name"], r["email"], r["role"], r["vf"], r["vt"]],
            )
        self.run("""CREATE TABLE rules (rule_id VARCHAR, client_idx INTEGER, rule_type VARCHAR, rule_value VARCHAR,
            valid_from TIMESTAMP, valid_to TIMESTAMP)""")
        for r in cfg["rules"]:
            self.con.execute(
                "INSERT INTO rules VALUES (?,?,?,?,?,?)",
                [r["id"], r["client"], r["type"], r["value"], r["vf"], r["vt"]],
            )
        self.run("""CREATE TABLE changes (change_id VARCHAR, client_idx INTEGER, rule_id VARCHAR, contact_id VARCHAR,
            requested_at TIMESTAMP, applied_at TIMESTAMP, summary VARCHAR)""")
        for ch in cfg["changes"]:
            self.con.execute(
                "INSERT INTO changes VALUES (?,?,?,?,?,?,?)",
                [ch["id"], ch["client"], ch["rule"]["id"], ch["by"]["id"], ch["req"], ch["applied"], ch["summary"]],
            )
        self.run("CREATE TABLE stuck (j INTEGER, client_idx INTEGER, uploaded_at TIMESTAMP)")
        for j, (ci, t) in enumerate(cfg["stuck"]):
            self.con.execute("INSERT INTO stuck VALUES (?,?,?)", [j, ci, t])
        # constant lookups usable without joins
        self.client_ids = sql_list([c["client_id"] for c in cl])
        self.client_cur = sql_list(["CAD" if c["country"] == "CA" else "USD" for c in cl])
        self.step(
            f"config: {len(cl)} clients, {len(cfg['contacts'])} contacts, {len(cfg['rules'])} rules, "
            f"{len(cfg['changes'])} rule changes"
        )

    def customers(self) -> None:
        rand = self.rand
        self.width("customer", max(c["n_cust"] for c in self.cfg["clients"]))
        a, b, s = sql_list(CUST_A), sql_list(CUST_B), sql_list(CUST_S)
        last = sql_list([x for x in LAST])
        days = len(self.cfg["days"])
        self.run(f"""
        CREATE TABLE cust AS
        WITH g AS (
            SELECT client_idx, cust_start, n_cust, by_branch, n_branches, country,
                   unnest(range(n_cust)) AS acct_idx
            FROM cl
        ), h AS (
            SELECT *, cust_start + acct_idx AS gc FROM g
        ), k AS (
            SELECT h.*,
              CASE WHEN {rand.uniform("cn0", "gc")} < 0.03
                   THEN {rand.pick(last, len(LAST), "cn1", "gc")} || ', ' || {rand.pick(last, len(LAST), "cn2", "gc")}
                        || ' & Co.'
                   WHEN {rand.uniform("cn0", "gc")} < 0.0305 THEN 'Joe''s "Original" Pizza'
                   ELSE {rand.pick(a, len(CUST_A), "cn3", "gc")} || ' ' || {rand.pick(b, len(CUST_B), "cn4", "gc")}
                        || CASE WHEN {rand.uniform("cn5", "gc")} < 0.1
                                THEN ' #' || CAST(2 + floor({rand.uniform("cn6", "gc")} * 80) AS INTEGER) ELSE '' END
                        || CASE WHEN country = 'CA' AND {rand.uniform("cn7", "gc")} < 0.5 THEN ' Ltd.'
                                ELSE rtrim(' ' || {rand.pick(s, len(CUST_S), "cn8", "gc")}) END
              END AS customer_name,
              CASE WHEN by_branch AND {rand.uniform("cbr0", "gc")} < 0.85
                   THEN CAST(floor(n_branches * pow({rand.uniform("cbr1", "gc")}, 1.6)) AS INTEGER) END AS br_idx,
              {self.START} - secs(86400 * (30 + {rand.uniform("since", "gc")} * 1470)) AS since,
              CASE WHEN {rand.uniform("nr", "gc")} < 0.08 THEN 3 WHEN {rand.uniform("nr", "gc")} < 0.30 THEN 2 ELSE 1 END AS nr0,
              chan_pick({rand.uniform("ch1", "gc")}) AS ch1,
              CASE WHEN {rand.uniform("pc", "gc")} < 0.5 THEN 'A' WHEN {rand.uniform("pc", "gc")} < 0.8 THEN 'B' ELSE 'C' END AS pc
            FROM h
        ), m AS (
            SELECT k.*,
              CASE WHEN nr0 >= 2 THEN greatest(since + INTERVAL 1 DAY,
                   {self.START} - INTERVAL 75 DAY + secs(86400 * {days + 75} * {rand.uniform("t1", "gc")})) END AS t1,
              CASE WHEN ch1 = 0 AND {rand.uniform("ch2a", "gc")} < 0.7 THEN 1
                   WHEN ch1 <> 0 AND {rand.uniform("ch2a", "gc")} < 0.35 THEN 0
                   ELSE chan_pick({rand.uniform("ch2b", "gc")}) END AS ch2r
            FROM k
        ), n AS (
            SELECT m.*,
              CASE WHEN ch2r = ch1 THEN (CASE WHEN ch1 = 0 THEN 1 ELSE 0 END) ELSE ch2r END AS ch2,
              CASE WHEN nr0 = 3 AND epoch({self.NOW}) - epoch(t1) > 7200
                   THEN t1 + secs(3600 + {rand.uniform("t2", "gc")} * (epoch({self.NOW}) - epoch(t1) - 7200)) END AS t2
            FROM m
        )
        SELECT n.client_idx, n.gc, n.acct_idx, n.customer_name, b.branch_code, n.since, n.t1, n.t2, n.ch1,
               n.ch2,
               CASE WHEN n.t2 IS NULL THEN NULL
                    WHEN chan_pick({rand.uniform("ch3", "gc")}) = n.ch2 THEN (CASE WHEN n.ch2 = 1 THEN 0 ELSE 1 END)
                    ELSE chan_pick({rand.uniform("ch3", "gc")}) END AS ch3,
               n.pc
        FROM n LEFT JOIN clbr b ON b.client_idx = n.client_idx AND b.bi = n.br_idx
        """)
        self.run("""
        CREATE TABLE rt AS
        SELECT row_number() OVER (ORDER BY gc, k) AS routing_no, * FROM (
            SELECT gc, client_idx, acct_idx, customer_name, pc, 1 AS k, ch1 AS ch, since AS vf, t1 AS vt FROM cust
            UNION ALL
            SELECT gc, client_idx, acct_idx, customer_name, pc, 2, ch2, t1, t2 FROM cust WHERE t1 IS NOT NULL
            UNION ALL
            SELECT gc, client_idx, acct_idx, customer_name, pc, 3, ch3, t2, NULL FROM cust WHERE t2 IS NOT NULL
        )""")
        self.step(f"customers: {self.count('cust'):,} customers, {self.count('rt'):,} routing rows")

    def uploads_and_jobs(self) -> None:
        rand, NOW = self.rand, self.NOW
        ms = self.cfg["max_slots"]
        self.run(f"""
        CREATE TABLE upload_slots AS
        WITH s AS (
            SELECT c.client_idx, c.std_off, d.di, d.day, CAST(q.k AS INTEGER) AS k
            FROM cl c CROSS JOIN days d CROSS JOIN range({ms}) q(k)
            WHERE {upload_slot_used(rand, "c.client_idx", "d.di", "q.k", ms, "d.day")}
               OR (q.k = 0 AND d.di = c.force_day)
        ), l AS (
            SELECT *,
              CAST(day AS TIMESTAMP) + secs({upload_local_seconds(rand, "client_idx", "di", "k")}) AS up_local
            FROM s
        )
        SELECT client_idx, std_off, di, day, k, to_utc(up_local, std_off) AS uploaded_at, false AS stuck FROM l
        UNION ALL
        SELECT s.client_idx, c.std_off, -1, CAST(s.uploaded_at AS DATE), 1000 + s.j, s.uploaded_at, true
        FROM stuck s JOIN cl c USING (client_idx)
        """)
        self.run(f"""
        CREATE TABLE uploads AS
        WITH x AS MATERIALIZED (
            SELECT s.*, r.rule_value AS tstart,
                   to_local(s.uploaded_at, s.std_off) AS up_local
            FROM upload_slots s LEFT JOIN rules r
              ON r.client_idx = s.client_idx AND r.rule_type = 'timed_start'
             AND r.valid_from <= s.uploaded_at AND (r.valid_to IS NULL OR s.uploaded_at < r.valid_to)
        ), y AS MATERIALIZED (
            SELECT *, date_trunc('day', up_local)
                      + mins(CAST(split_part(tstart, ':', 1) AS INTEGER) * 60
                             + CAST(split_part(tstart, ':', 2) AS INTEGER)) AS tcand
            FROM x
        ), z AS (
            SELECT *,
              CASE WHEN stuck THEN NULL
                   WHEN tstart IS NOT NULL THEN to_utc(
                        CASE WHEN tcand >= up_local THEN tcand ELSE tcand + INTERVAL 1 DAY END
                        + secs(60 + {rand.uniform("pk", "client_idx", "di", "k")} * 660), std_off)
                   ELSE uploaded_at + secs(CASE WHEN {rand.uniform("pk0", "client_idx", "di", "k")} < 0.015
                                               THEN 960 + {rand.uniform("pk", "client_idx", "di", "k")} * 1800
                                               ELSE 60 + {rand.uniform("pk", "client_idx", "di", "k")} * 780 END)
              END AS pick_at
            FROM y
        )
        SELECT row_number() OVER (ORDER BY uploaded_at, client_idx, di, k) AS file_no,
               client_idx, std_off, di, k, stuck, uploaded_at, up_local, tstart IS NOT NULL AS timed, pick_at,
               pick_at + secs(5 + {rand.uniform("jc", "client_idx", "di", "k")} * 40) AS job_at,
               CASE WHEN {rand.uniform("kind", "client_idx", "di", "k")}
                         < CASE WHEN day(up_local) <= 2 THEN 0.35 ELSE 0.08 END
                    THEN 'statements' ELSE 'invoices' END AS kind
        FROM z
        """)
        n_up_jobs = self.scalar(f"SELECT count(*) FROM uploads WHERE NOT stuck AND job_at < {NOW}")
        if n_up_jobs > self.D:  # tiny runs: never more jobs than documents
            self.run(f"""DELETE FROM uploads WHERE file_no IN (
                SELECT file_no FROM uploads WHERE NOT stuck AND job_at < {NOW}
                ORDER BY {rand.uniform("drop", "file_no")}, file_no LIMIT {n_up_jobs - self.D})""")
        D = self.D
        self.run(f"""
        CREATE TABLE jobs AS
        WITH a AS (
            SELECT u.file_no, u.client_idx, u.std_off, u.job_at AS created, u.kind, u.up_local,
                   c.weight, c.n_cust, c.cust_start, c.by_branch, c.n_branches, c.country, c.short,
                   {JOB_RULE_FLAGS}
            FROM uploads u JOIN cl c USING (client_idx)
            WHERE NOT u.stuck AND u.job_at < {NOW}
        ), b AS (
            SELECT *, row_number() OVER (ORDER BY created, client_idx, file_no) AS job_idx,
                   count(*) OVER () AS nj,
                   greatest(1, CAST(1000000 * exp(1.3 * {rand.normal("jsize", "file_no")})
                     * CASE WHEN dayofweek(local_date(created, std_off)) IN (0, 6) THEN 0.3 ELSE 1.0 END
                     * CASE WHEN kind = 'statements' THEN 1.3 ELSE 1.0 END AS BIGINT)) AS jw
            FROM a
        ), c AS (
            -- integer arithmetic only: floating-point sums depend on the summation order (threads)
            SELECT *, CAST(CAST(round(weight * 1000000) AS BIGINT) AS HUGEINT) * jw * 1000000000
                      // sum(jw) OVER (PARTITION BY client_idx) AS score
            FROM b
        ), d AS (
            SELECT *, sum(score) OVER () AS total FROM c
        ), e AS (
            SELECT *, 1 + CAST(({D} - nj) * score // total AS BIGINT) AS base,
                   (({D} - nj) * score) % total AS frac
            FROM d
        ), f AS (
            SELECT *, {D} - sum(base) OVER () AS rem,
                   row_number() OVER (ORDER BY frac DESC, job_idx) AS fr
            FROM e
        ), g AS (
            SELECT *, base + CASE WHEN fr <= rem THEN 1 ELSE 0 END AS doc_count FROM f
        ), h AS (
            SELECT *, sum(doc_count) OVER (ORDER BY job_idx) - doc_count AS doc_offset,
                   greatest(1, CAST(ceil(doc_count * 0.5 / 5000) AS BIGINT)) AS npb
            FROM g
        ), i AS (
            SELECT *, sum(npb + 1) OVER (ORDER BY job_idx) - (npb + 1) AS b_off,
                   ops AND row_number() OVER (PARTITION BY client_idx, ops ORDER BY created DESC, job_idx DESC) = 1
                       AND created >= {NOW} - INTERVAL 7 DAY AS ops_stall,
                   cust AND row_number() OVER (PARTITION BY client_idx, cust ORDER BY created DESC, job_idx DESC) = 1
                       AND created >= {NOW} - INTERVAL 7 DAY AS cust_stall
            FROM h
        )
        SELECT job_idx, file_no, client_idx, std_off, created, CAST(created AS DATE) AS vday,
               local_date(created, std_off) AS local_day, kind, n_cust, cust_start, by_branch, n_branches,
               country, short, ops, cust, delay_days, doc_count, doc_offset, npb, b_off, ops_stall, cust_stall,
               row_number() OVER (PARTITION BY client_idx, local_date(created, std_off) ORDER BY job_idx)
                   AS day_seq
        FROM i
        """)
        got = self.scalar("SELECT sum(doc_count) FROM jobs")
        if got is None:
            raise ValueError("the period is too short: no job was created in it; use more days")
        if got != D:
            raise RuntimeError(f"document allocation failed: {got} != {D}")
        # approval part of the timeline (needed before documents: pulls happen during customer approval)
        per_job = lambda p: rand.uniform(p, "job_idx")  # noqa: E731
        # one time-zone step per materialized stage (see macros())
        self.run(f"""
        CREATE TABLE job_approval_times AS
        SELECT j.*,
          created + secs(60 + {per_job("tpdf")} * 540 + doc_count * 0.01) AS t_pdf,
          t_pdf + secs(120 + {per_job("tready")} * 900 + doc_count * 0.03) AS t_ready,
          ops AND NOT ops_stall AND {per_job("opsrej")} < 0.06 AS ops_rej,
          cust AND NOT cust_stall AND {per_job("custrej")} < 0.06 AS cust_rej,
          CAST(NULL AS TIMESTAMP) AS ops_dec1, CAST(NULL AS TIMESTAMP) AS ops_req2,
          CAST(NULL AS TIMESTAMP) AS ops_dec2, CAST(NULL AS TIMESTAMP) AS ops_done,
          CAST(NULL AS TIMESTAMP) AS cust_req1, CAST(NULL AS TIMESTAMP) AS cust_dec1,
          CAST(NULL AS TIMESTAMP) AS cust_req2, CAST(NULL AS TIMESTAMP) AS cust_dec2,
          CAST(NULL AS TIMESTAMP) AS cust_done, CAST(NULL AS TIMESTAMP) AS release_at
        FROM jobs j
        """)
        for sets in [
            [
                f"ops_dec1 = CASE WHEN ops AND NOT ops_stall THEN biz_after(t_ready, std_off, 900 + {per_job('opsd')} * 12600) END"
            ],
            [f"ops_req2 = CASE WHEN ops_rej THEN ops_dec1 + secs(1800 + {per_job('opsr2')} * 5400) END"],
            [f"ops_dec2 = CASE WHEN ops_rej THEN biz_after(ops_req2, std_off, 600 + {per_job('opsd2')} * 4800) END"],
            ["ops_done = CASE WHEN NOT ops THEN t_ready WHEN ops_rej THEN ops_dec2 ELSE ops_dec1 END"],
            [f"cust_req1 = CASE WHEN cust THEN ops_done + secs(60 + {per_job('cr1')} * 180) END"],
            [
                f"cust_dec1 = CASE WHEN cust AND NOT cust_stall"
                f" THEN biz_after(cust_req1, std_off, 3600 + {per_job('cd1')} * 100800) END"
            ],
            [f"cust_req2 = CASE WHEN cust_rej THEN cust_dec1 + secs(3600 + {per_job('cr2')} * 14400) END"],
            [f"cust_dec2 = CASE WHEN cust_rej THEN biz_after(cust_req2, std_off, 1800 + {per_job('cd2')} * 28800) END"],
            ["cust_done = CASE WHEN NOT cust THEN ops_done WHEN cust_rej THEN cust_dec2 ELSE cust_dec1 END"],
            [f"release_at = cust_done + secs(180 + {per_job('rel')} * 1020)"],
        ]:
            self.run("UPDATE job_approval_times SET " + ", ".join(sets))
        self.step(f"file uploads: {self.count('uploads'):,}; jobs: {self.count('jobs'):,}")

    def documents(self) -> None:
        rand, NOW = self.rand, self.NOW
        d = "doc_id"
        self.run(f"""
        CREATE TABLE docs AS
        WITH g AS (
            SELECT job_idx, client_idx, doc_offset, doc_count, npb, b_off, created, vday, local_day, kind,
                   n_cust, cust_start, by_branch, n_branches, cust, cust_req1, cust_done,
                   unnest(range(doc_count)) AS seq
            FROM job_approval_times
        ), h AS (
            SELECT *, doc_offset + seq + 1 AS doc_id FROM g
        ), i AS (
            SELECT *, cust_start + CAST(floor({rand.uniform("dcust", d)} * n_cust) AS BIGINT) AS gc,
                   CASE WHEN by_branch AND {rand.uniform("dbr0", d)} < 0.06
                        THEN CAST(floor({rand.uniform("dbr1", d)} * n_branches) AS INTEGER) END AS br_idx
            FROM h
        ), k AS (
            SELECT i.*, c.acct_idx, c.branch_code AS cust_br, c.pc,
                   CASE WHEN c.t1 IS NULL OR i.created < c.t1 THEN c.ch1
                        WHEN c.t2 IS NULL OR i.created < c.t2 THEN c.ch2 ELSE c.ch3 END AS chan,
                   {rand.uniform("dtype", d)} AS ut
            FROM i JOIN cust c ON c.gc = i.gc
        ), m AS (
            SELECT k.*,
              CAST({document_type("kind", "ut")} AS UTINYINT) AS dtype,
              cust AND cust_req1 < {NOW} AND chan <> 8 AND (seq = 2 OR {rand.uniform("pull", d)} < 0.005) AS pull0,
              CASE WHEN cust AND cust_req1 < {NOW}
                   THEN cust_req1 + secs(30 + {rand.uniform("pullt", d)} * 0.9
                        * greatest(0, epoch(least(coalesce(cust_done, {NOW}), {NOW})) - epoch(cust_req1))) END
                   AS pulled_at0
            FROM k
        )
        SELECT m.doc_id, CAST(m.job_idx AS INTEGER) AS job_idx, CAST(m.client_idx AS SMALLINT) AS client_idx,
               CAST(m.acct_idx AS INTEGER) AS acct_idx,
               CAST(m.chan AS UTINYINT) AS chan, CASE WHEN m.chan = 8 THEN m.pc END AS pull_class, m.dtype,
               CAST({document_amount(rand, "m.dtype", d)} AS DECIMAL(14, 2))
                   AS amount,
               CAST({page_count(rand, "m.dtype", d)} AS UTINYINT)
                   AS pages,
               m.local_day - {document_date_lag(rand, d)} AS doc_date,
               b.branch_code AS br_exp, m.cust_br,
               m.pull0 AND m.pulled_at0 < {NOW} AS pulled,
               CASE WHEN m.pull0 AND m.pulled_at0 < {NOW} THEN m.pulled_at0 END AS pulled_at,
               CASE WHEN m.chan = 0 THEN m.b_off + CAST(floor(m.seq * m.npb / m.doc_count) AS BIGINT) + 1
                    WHEN m.chan = 8 THEN NULL ELSE m.b_off + m.npb + 1 END AS batch_no,
               m.vday
        FROM m LEFT JOIN clbr b ON b.client_idx = m.client_idx AND b.bi = m.br_idx
        """)
        self.step(f"documents: {self.count('docs'):,} built")

    def batches_and_timeline(self) -> None:
        rand, NOW = self.rand, self.NOW
        self.run("""
        CREATE TABLE job_document_counts AS
        SELECT job_idx,
               count(*) FILTER (WHERE chan = 0 AND NOT pulled) AS n_print,
               count(*) FILTER (WHERE chan BETWEEN 1 AND 7 AND NOT pulled) AS n_elec,
               count(*) FILTER (WHERE chan = 8 AND NOT pulled) AS n_pullch,
               count(*) FILTER (WHERE pulled) AS n_pulled
        FROM docs GROUP BY job_idx""")
        self.run("""
        CREATE TABLE batch_document_counts AS
        SELECT batch_no, min(job_idx) AS job_idx, max(chan) = 0 AS is_print, count(*) AS n_docs,
               count(*) FILTER (WHERE NOT pulled) AS pieces,
               coalesce(sum((pages + 1) // 2) FILTER (WHERE NOT pulled), 0) AS sheets
        FROM docs WHERE batch_no IS NOT NULL GROUP BY batch_no""")
        per_job = lambda p: rand.uniform(p, "job_idx")  # noqa: E731
        self.run(f"""
        CREATE TABLE job_release_times AS
        SELECT j.*, coalesce(a.n_print, 0) AS n_print, coalesce(a.n_elec, 0) AS n_elec,
          coalesce(a.n_print, 0) > 0 AS has_print, coalesce(a.n_elec, 0) > 0 AS has_elec,
          has_elec AND delay_days IS NOT NULL AS delayed,
          CASE WHEN has_print THEN release_at END AS print_at,
          CASE WHEN has_elec THEN release_at + secs(CASE WHEN {per_job("tie")} < 0.03 THEN 0
                                                         ELSE 5 + {per_job("sendd")} * 55 END) END AS send_at,
          CASE WHEN delayed THEN send_at + secs(30 + {per_job("schd")} * 120) END AS sched_at,
          CASE WHEN delayed THEN local_date(send_at, std_off) + CAST(delay_days AS INTEGER) END AS sched_date
        FROM job_approval_times j LEFT JOIN job_document_counts a USING (job_idx)""")
        b = "batch_no"
        self.run(f"""
        CREATE TABLE bt AS
        WITH a AS (
            SELECT g.*, j.client_idx, j.std_off, j.created, j.country, j.delayed, j.sched_date, j.sched_at,
                   j.print_at, j.send_at, j.b_off, j.kind,
                   {print_facility("g.is_print", "j.country")} AS facility,
                   {mail_class(rand, "g.is_print", "j.kind", b)} AS mail_class
            FROM batch_document_counts g JOIN job_release_times j USING (job_idx)
        ), c AS MATERIALIZED (
            SELECT *,
              CASE WHEN pieces = 0 THEN NULL
                   WHEN is_print THEN print_at + secs((batch_no - b_off - 1) * 240 + {rand.uniform("brel", b)} * 120)
                   WHEN delayed THEN to_utc(CAST(sched_date AS TIMESTAMP)
                                            + secs(21600 + {rand.uniform("brel", b)} * 7200), std_off)
                   ELSE send_at END AS released
            FROM a
        ), e AS MATERIALIZED (
            SELECT *,
              released + secs({batch_work_seconds(rand, b)}) AS completed
            FROM c
        ), f AS MATERIALIZED (
            SELECT *, CASE WHEN is_print THEN to_local(completed, std_off) END AS comp_local FROM e
        ), h AS (
            SELECT *, CAST(comp_local AS DATE) + CASE WHEN hour(comp_local) >= 14 THEN 1 ELSE 0 END AS due0 FROM f
        ), k AS MATERIALIZED (
            SELECT *, due0 + CASE WHEN dayofweek(due0) = 0 THEN 1 ELSE 0 END AS due FROM h
        )
        SELECT k.*,
          CASE WHEN is_print AND completed IS NOT NULL THEN greatest(
               to_utc(CAST(due AS TIMESTAMP) + secs({mailed_after_due_seconds(rand, b)}), std_off),
               completed + INTERVAL 30 MINUTE) END AS mailed,
          {postage_rate()} AS rate,
          {postage_currency("is_print", "facility")} AS postage_currency,
          CASE WHEN NOT is_print THEN sched_date END AS sched,
          CASE WHEN NOT is_print THEN sched_at END AS sched_reveal
        FROM k""")
        self.run(f"""
        CREATE TABLE job_times AS
        WITH p AS (
            SELECT job_idx, max(completed) AS comp_max, max(due) AS due_max, max(mailed) AS mailed_max
            FROM bt WHERE is_print AND pieces > 0 GROUP BY job_idx
        ), e AS (
            SELECT job_idx, released AS e_rel, completed AS e_comp FROM bt WHERE NOT is_print AND pieces > 0
        )
        SELECT job_release_times.*, p.comp_max, p.due_max, p.mailed_max, e.e_rel, e.e_comp,
          p.comp_max + secs(60 + {per_job("pcd")} * 240) AS pc_at,
          pc_at + secs(300 + {per_job("pod")} * 2400) AS po_at,
          CASE WHEN release_at IS NOT NULL
                    AND (NOT has_print OR mailed_max IS NOT NULL) AND (NOT has_elec OR e_comp IS NOT NULL)
               THEN greatest(release_at, mailed_max, e_comp) + secs(120 + {per_job("done")} * 1080) END AS done_at
        FROM job_release_times LEFT JOIN p USING (job_idx) LEFT JOIN e USING (job_idx)""")
        self.run(f"""
        CREATE TABLE ev AS
        SELECT row_number() OVER (ORDER BY event_at, job_idx, step) AS event_no, * FROM (
            SELECT job_idx, 1 AS step, created AS event_at, CAST(NULL AS DATE) AS status_date FROM job_times
            UNION ALL SELECT job_idx, 2, t_pdf, NULL FROM job_times
            UNION ALL SELECT job_idx, 3, t_ready, NULL FROM job_times WHERE ops
            UNION ALL SELECT job_idx, 4, cust_req1, NULL FROM job_times WHERE cust
            UNION ALL SELECT job_idx, 5, print_at, NULL FROM job_times WHERE has_print
            UNION ALL SELECT job_idx, 6, send_at, NULL FROM job_times WHERE has_elec
            UNION ALL SELECT job_idx, 7, sched_at, sched_date FROM job_times WHERE delayed
            UNION ALL SELECT job_idx, 8, pc_at, NULL FROM job_times WHERE has_print
            UNION ALL SELECT job_idx, 9, po_at, due_max FROM job_times WHERE has_print
            UNION ALL SELECT job_idx, 10, done_at, NULL FROM job_times
        ) WHERE event_at IS NOT NULL AND event_at < {NOW}""")
        ops = sql_list(OPS_STAFF)
        self.run(f"""
        CREATE TABLE ap AS
        WITH a AS (
            SELECT job_idx, client_idx, 'ops' AS stage, 1 AS so, 1 AS attempt, t_ready AS requested_at,
                   ops_dec1 AS decided_at, CASE WHEN ops_rej THEN 'rejected' ELSE 'approved' END AS decision
            FROM job_times WHERE ops
            UNION ALL SELECT job_idx, client_idx, 'ops', 1, 2, ops_req2, ops_dec2, 'approved' FROM job_times WHERE ops_rej
            UNION ALL
            SELECT job_idx, client_idx, 'customer', 2, 1, cust_req1, cust_dec1,
                   CASE WHEN cust_rej THEN 'rejected' ELSE 'approved' END FROM job_times WHERE cust
            UNION ALL SELECT job_idx, client_idx, 'customer', 2, 2, cust_req2, cust_dec2, 'approved'
                   FROM job_times WHERE cust_rej
        )
        SELECT row_number() OVER (ORDER BY requested_at, job_idx, so, attempt) AS approval_no, a.*,
               CASE WHEN a.stage = 'ops' THEN {rand.pick(ops, len(OPS_STAFF), "opsby", "a.job_idx", "a.attempt")}
                    ELSE c.approvers[1 + CAST(floor({rand.uniform("cby", "a.job_idx", "a.attempt")} * len(c.approvers))
                                              AS INTEGER)] END AS decided_by
        FROM a JOIN cl c USING (client_idx)
        WHERE a.requested_at IS NOT NULL AND a.requested_at < {NOW}""")
        self.run(f"""
        CREATE TABLE pl AS
        SELECT row_number() OVER (ORDER BY d.pulled_at, d.doc_id) AS pull_no, d.doc_id, d.job_idx, d.client_idx,
               d.pulled_at,
               c.approvers[1 + CAST(floor({rand.uniform("pby", "d.doc_id")} * len(c.approvers)) AS INTEGER)] AS pulled_by
        FROM docs d JOIN cl c ON c.client_idx = d.client_idx WHERE d.pulled""")
        self.step(
            f"batches: {self.count('bt'):,}; status events: {self.count('ev'):,}; "
            f"approvals: {self.count('ap'):,}; pulls: {self.count('pl'):,}"
        )

    def deliveries(self) -> None:
        rand, NOW = self.rand, self.NOW
        d = "d.doc_id"
        self.run(f"""
        CREATE TABLE delivery_plan AS
        WITH a AS (
            SELECT d.doc_id, d.job_idx, d.client_idx, d.chan, d.pages,
                   CASE WHEN c.by_branch THEN coalesce(d.br_exp, d.cust_br) END AS br,
                   j.e_rel + secs({rand.uniform("att", d)} * (epoch(j.e_comp) - epoch(j.e_rel))) AS att1,
                   {delivery_failure_probability("d.chan")} AS fp,
                   {delivery_bounce_probability("d.chan")} AS bp,
                   {rand.uniform("dout", d)} AS uo, {rand.uniform("dsent", d)} AS us, {rand.uniform("dretry", d)} AS ur,
                   {rand.uniform("dretry2", d)} AS ur2
            FROM docs d JOIN job_times j ON j.job_idx = d.job_idx JOIN cl c ON c.client_idx = d.client_idx
            WHERE d.chan BETWEEN 1 AND 7 AND NOT d.pulled AND j.e_rel IS NOT NULL AND j.e_rel < {NOW}
        ), b AS (
            SELECT *,
              CASE WHEN uo < fp THEN 'F' WHEN uo < fp + bp / 2 THEN 'BA' WHEN uo < fp + bp THEN 'BB'
                   ELSE 'S' END AS ko
            FROM a
        ), c AS (
            SELECT *,
              CASE WHEN ko <> 'F' THEN att1 + secs({send_seconds("chan", "us")})
                   END AS sent1
            FROM b
        ), e AS (
            SELECT *,
              CASE WHEN ko = 'BA' THEN sent1 + secs(300 + ur2 * 72000) END AS reveal1,
              CASE WHEN ko = 'F' AND ur < 0.8 THEN att1 + secs(1200 + ur2 * 20400)
                   WHEN ko = 'BB' THEN sent1 + secs(3600 + ur2 * 104400) END AS att2
            FROM c
        )
        SELECT *,
          CASE WHEN att2 IS NOT NULL
               THEN att2 + secs({send_seconds("chan", "us")}) END AS sent2,
          CASE WHEN sent1 < {NOW} THEN sent1 WHEN sent2 < {NOW} THEN sent2 END AS first_sent
        FROM e""")
        self.run(f"""
        CREATE TABLE dl AS
        SELECT row_number() OVER (ORDER BY attempted_at, doc_id, attempt) AS dl_no, * FROM (
            SELECT doc_id, chan, 1 AS attempt, att1 AS attempted_at, sent1 AS sent_at,
                   CASE ko WHEN 'F' THEN 'failed' WHEN 'BA' THEN 'bounced' ELSE 'sent' END AS outcome,
                   CASE WHEN reveal1 < {NOW} THEN reveal1 END AS reveal
            FROM delivery_plan WHERE coalesce(sent1, att1) < {NOW}
            UNION ALL
            SELECT doc_id, chan, 2, att2, sent2, CASE ko WHEN 'F' THEN 'sent' ELSE 'bounced' END, NULL
            FROM delivery_plan WHERE att2 IS NOT NULL AND sent2 < {NOW}
        )""")
        self.step(f"deliveries: {self.count('dl'):,}")

    def fees(self) -> None:
        NOW = self.NOW
        dec = "DECIMAL(10, 2)"
        self.run(f"""
        CREATE TABLE fee_lines AS
        WITH pb AS (
            SELECT d.batch_no, d.job_idx, d.client_idx,
                   CASE WHEN c.by_branch THEN coalesce(d.br_exp, d.cust_br) END AS br,
                   sum((d.pages + 1) // 2) AS sheets, count(*) AS pieces
            FROM docs d JOIN cl c ON c.client_idx = d.client_idx
            WHERE d.chan = 0 AND NOT d.pulled GROUP BY ALL
        ), el AS (
            SELECT job_idx, client_idx, br,
                   {electronic_fee_type("chan")} AS ft, {electronic_unit_price("chan")} AS unit,
                   count(*) AS qty
            FROM delivery_plan WHERE chan <> 4 AND first_sent IS NOT NULL GROUP BY ALL
        ), pr AS (
            SELECT d.job_idx, d.client_idx, CASE WHEN c.by_branch THEN coalesce(d.br_exp, d.cust_br) END AS br,
                   count(*) AS qty
            FROM docs d JOIN cl c ON c.client_idx = d.client_idx WHERE d.chan = 8 AND NOT d.pulled GROUP BY ALL
        ), dc AS (
            SELECT client_idx, count(*) AS n FROM docs GROUP BY client_idx
        )
        SELECT * FROM (
            SELECT pb.client_idx, pb.job_idx, pb.batch_no, NULL::BIGINT AS doc_id, pb.br, 'print' AS fee_type,
                   1 AS fo, pb.sheets AS qty,
                   {print_unit_price("bt.facility")}::{dec} AS unit,
                   bt.postage_currency AS currency, bt.facility, bt.completed AS fee_ts
            FROM pb JOIN bt USING (batch_no)
            UNION ALL
            SELECT pb.client_idx, pb.job_idx, pb.batch_no, NULL, pb.br, 'postage', 2, pb.pieces, bt.rate,
                   bt.postage_currency, bt.facility, bt.mailed
            FROM pb JOIN bt USING (batch_no)
            UNION ALL
            SELECT el.client_idx, el.job_idx, NULL, NULL, el.br, el.ft, 3, el.qty, el.unit::{dec}, 'USD', NULL,
                   job_times.e_comp + INTERVAL 5 MINUTE
            FROM el JOIN job_times USING (job_idx)
            UNION ALL
            SELECT client_idx, job_idx, NULL, doc_id, NULL, 'fax', 4, pages, 0.12::{dec}, 'USD', NULL, first_sent
            FROM delivery_plan WHERE chan = 4 AND first_sent IS NOT NULL
            UNION ALL
            SELECT pr.client_idx, pr.job_idx, NULL, NULL, pr.br, 'pull', 5, pr.qty, 0.25::{dec}, 'USD', NULL,
                   job_times.release_at + INTERVAL 10 MINUTE
            FROM pr JOIN job_times USING (job_idx)
            UNION ALL
            SELECT client_idx, job_idx, NULL, doc_id, NULL, 'pull', 6, 1, 0.50::{dec}, 'USD', NULL,
                   pulled_at + INTERVAL 1 MINUTE
            FROM docs WHERE pulled
            UNION ALL
            SELECT client_idx, NULL, NULL, NULL, NULL, 'storage', 7, greatest(1, CAST(ceil(n * 0.25 / 1024) AS BIGINT)),
                   1.25::{dec}, 'USD', NULL, {NOW} - INTERVAL 1 HOUR
            FROM dc
            UNION ALL
            SELECT client_idx, NULL, NULL, NULL, NULL, 'other', 8, 1, 150.00::{dec}, 'USD', NULL,
                   {NOW} - INTERVAL 1 HOUR - INTERVAL 10 MINUTE
            FROM dc WHERE client_idx % 2 = 0
        ) WHERE fee_ts IS NOT NULL AND fee_ts < {NOW} AND qty > 0""")
        self.run("""
        CREATE TABLE fe AS
        SELECT row_number() OVER (ORDER BY fee_ts, client_idx, job_idx NULLS FIRST, fo, fee_type,
                                  batch_no NULLS FIRST, br NULLS FIRST, doc_id NULLS FIRST) AS fee_no,
               f.*, CAST(f.qty * f.unit AS DECIMAL(14, 2)) AS amount,
               local_date(f.fee_ts, c.std_off) AS fee_date
        FROM fee_lines f JOIN cl c USING (client_idx)""")
        self.step(f"fees: {self.count('fe'):,}")

    def widths(self) -> None:
        w = self.width
        w("client", len(self.cfg["clients"]))
        w("contact", len(self.cfg["contacts"]))
        w("rule", len(self.cfg["rules"]))
        w("change", len(self.cfg["changes"]))
        w("routing", self.count("rt"))
        w("file", self.scalar("SELECT max(file_no) FROM uploads"))
        w("job", self.scalar("SELECT max(job_idx) FROM jobs"))
        w("event", self.count("ev"))
        w("approval", self.count("ap"))
        w("batch", self.scalar("SELECT max(batch_no) FROM bt"))
        w("document", self.D)
        w("pull", self.count("pl"))
        w("delivery", self.count("dl"))
        w("fee", self.count("fe"))
