"""``extend_one_day``: one more extract day on top of a generated landing folder."""

from __future__ import annotations

import re
import time
import zlib
from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path

from billing_reports.generate.config import _slug
from billing_reports.generate.contract import CHANNELS, ID_FORMATS, STATUS_CODES, TABLE_COLUMNS, TABLE_KEYS
from billing_reports.generate.extend_output import ExtensionOutput
from billing_reports.generate.extend_steps import ExtensionSteps
from billing_reports.generate.names import ZONES
from billing_reports.generate.sql import (
    SeededRandom,
    SqlSteps,
    macro_sql,
    progress_steps,
    scratch_connection,
    sql_list,
    sql_string,
    sql_timestamp,
)

_DAY_FILE = re.compile(r"^(\d{4}-\d\d-\d\d)\.csv(\.gz)?$")
_ZONE_INFO = {tz: (country, std) for tz, country, std in ZONES}


def _csv_header(path: Path) -> list[str]:
    """The column names of a CSV file's header row."""
    import csv
    import gzip

    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8", newline="") as fh:
        return next(csv.reader(fh), [])


def _landing_layout(out: Path) -> tuple[dict[str, list[Path]], date, date]:
    """The CSV files of each table folder (in name order) and the first and last extract day."""
    files: dict[str, list[Path]] = {}
    days: list[date] = []
    for t in TABLE_COLUMNS:
        d = out / t
        names = (
            sorted(
                p.name for p in d.iterdir() if p.is_file() and (p.name.endswith(".csv") or p.name.endswith(".csv.gz"))
            )
            if d.is_dir()
            else []
        )
        files[t] = [d / n for n in names]
        for n in names:
            m = _DAY_FILE.match(n)
            if m:
                days.append(date.fromisoformat(m.group(1)))
    if not files["jobs"] or not files["documents"] or not files["clients"] or not days:
        raise FileNotFoundError(f"{out} holds no generated landing folder (no jobs/, documents/, clients/ day files)")
    return files, min(days), max(days)


def extend_one_day(
    out_dir: str | Path,
    *,
    seed: int | None = None,
    documents_per_day: int | None = None,
    progress: Callable[[str], None] | None = None,
) -> dict:
    """Append one extract day to a landing folder written by :func:`generate` (or already extended).

    Reads the folder's state with DuckDB (latest version of every key) and writes ``<table>/<day>.csv`` for the
    day after the last extract day: new uploads, jobs (ids continuing after the folder's max ids) with their
    status events, approvals, documents, batches, pulls, deliveries and fees, plus re-sent versions of open
    records that progress during the day (pending approvals decided, batches released/completed/mailed,
    failed deliveries retried, bounces revealed, waiting uploads picked up, in-progress jobs moving on to
    ``PRINTING_COMPLETE``, ``DELIVERED_TO_POST_OFFICE``, ``JOB_COMPLETE`` ...). The snapshot tables (clients,
    contacts, branches, customers, customer_routing, processing rules and changes) are left unchanged.

    ``documents_per_day`` defaults to the folder's documents / its number of extract days; ``seed`` to a value
    derived from the folder (its first day and clients). Same folder + same seed = byte-identical files.

    Reading is kept small for large folders: documents and deliveries are read from the files of the days of
    the jobs still open (and of the newest job, and of the last two days) only; the max delivery and fee ids
    from a one-column scan of every file. This relies on what :func:`generate` guarantees: a document first
    appears in the file of its job's creation day, a delivery on or after it, and ids grow in creation order.

    Returns ``{"day", "as_of", "seed", "documents", "tables": {t: {rows, resent, files, bytes}}, "rows",
    "resent", "files", "bytes", "seconds", ...}``; rows are those written, resent those whose key was in the
    folder already.
    """
    t0, step = progress_steps(progress)

    out = Path(out_dir)
    files, first_day, last_day = _landing_layout(out)
    day = last_day + timedelta(days=1)
    name = f"{day.isoformat()}.csv"
    for fl in files.values():
        if fl and fl[-1].name >= name:
            raise ValueError(f"{fl[-1]} sorts at or after {name}: the folder is not a day-per-file landing folder")
    if documents_per_day is not None and documents_per_day < 1:
        raise ValueError("documents_per_day must be >= 1")
    with scratch_connection("billing_ext_", on_disk=False) as con:
        e = DayExtender(con, out, files, first_day, day, seed, documents_per_day, step)
        e.load()
        e.build()
        tables = e.write(name)
    secs = round(time.time() - t0, 2)
    summary = {
        "out_dir": str(out),
        "day": day.isoformat(),
        "as_of": (datetime.combine(day, datetime.min.time()) + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "seed": e.seed,
        "documents": tables["documents"]["rows"],
        "documents_per_day": e.dpd,
        "open_jobs_read": e.n_open,
        "tables": tables,
        "rows": {t: v["rows"] for t, v in tables.items()},
        "resent": {t: v["resent"] for t, v in tables.items()},
        "files": sum(v["files"] for v in tables.values()),
        "bytes": sum(v["bytes"] for v in tables.values()),
        "seconds": secs,
    }
    step(
        f"done: {day.isoformat()}: {summary['files']} files, {sum(summary['rows'].values()):,} rows "
        f"({sum(summary['resent'].values()):,} re-sent), {summary['documents']:,} new documents in {secs:.1f}s"
    )
    return summary


class DayExtender(ExtensionSteps, ExtensionOutput, SqlSteps):
    """SQL for one more extract day. Old records keep their ids; ``fut(x, j)`` moves a moment that was not in
    the folder (so had not happened by its extract time T0) to T0 or later."""

    def __init__(self, con, out, files, first_day, day, seed, dpd, step):
        self.con = con
        self.out = out
        self.files = files
        self.first_day = first_day
        self.day = day
        self.T0 = datetime.combine(day, datetime.min.time())
        self.T1 = self.T0 + timedelta(days=1)
        self.S0 = sql_timestamp(self.T0)
        self.S1 = sql_timestamp(self.T1)
        self.seed_arg = seed
        self.dpd_arg = dpd
        self.step = step
        self.maxn: dict[str, int] = {}
        self.w: dict[str, int] = {}
        self.outputs: dict[str, str] = {}

    def src(self, table: str, files: list[Path] | None = None, dedupe: bool = True) -> str:
        """Rows of a table's files (all VARCHAR, plus ``filename``); with ``dedupe`` the latest version per key.

        Files whose header is exactly the contract's (what :func:`generate` writes) are read without sniffing
        (the sniffer costs more than the parse on a folder of many day files); others by column name."""
        fl = self.files[table] if files is None else files
        cols = TABLE_COLUMNS[table]
        if not fl:
            nulls = ", ".join(f"NULL::VARCHAR AS {c}" for c in cols)
            return f"(SELECT {nulls}, NULL::VARCHAR AS filename WHERE false)"
        lst = "[" + ", ".join(sql_string(str(p)) for p in fl) + "]"
        if all(_csv_header(p) == cols for p in fl):
            spec = "{" + ", ".join(f"'{c}': 'VARCHAR'" for c in cols) + "}"
            s = (
                f"read_csv({lst}, header = true, auto_detect = false, delim = ',', quote = '\"', escape = '\"', "
                f"columns = {spec}, filename = true)"
            )
        else:
            s = f"read_csv({lst}, header = true, all_varchar = true, union_by_name = true, filename = true)"
        if dedupe and len(fl) > 1:
            k = ", ".join(TABLE_KEYS[table])
            return f"(SELECT * FROM {s} QUALIFY row_number() OVER (PARTITION BY {k} ORDER BY filename DESC) = 1)"
        return f"(SELECT * FROM {s})"

    def ids(self, kind: str, sql_max_num_and_len: str) -> None:
        """Record the max id number and the id width of a kind, from ``SELECT max(number), max(length)``."""
        n, ln = self.con.execute(sql_max_num_and_len).fetchone()
        self.maxn[kind] = int(n or 0)
        self.w[kind] = max(ID_FORMATS[kind][1], int(ln or 0) - len(ID_FORMATS[kind][0]))

    def grow(self, kind: str, new_max: int) -> None:
        self.w[kind] = max(self.w[kind], len(str(int(new_max or 0))))

    # -- read the folder -----------------------------------------------------------------------------------
    def load(self) -> None:
        T0 = self.S0
        years = range(self.T0.year - 1, self.T1.year + 2)
        for m in macro_sql(years):
            self.run(m)
        self.run("CREATE MACRO idn(x) AS CAST(ltrim(x, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ') AS BIGINT)")
        self.run("CREATE MACRO ts(x) AS CAST(x AS TIMESTAMP)")
        self.run(f"CREATE MACRO fut(x, j) AS CASE WHEN x < {T0} THEN {T0} + secs(j) ELSE x END")
        codes = sql_list(STATUS_CODES)
        chans = sql_list(CHANNELS)

        # ---- clients and their configuration (a few rows each) --------------------------------------------
        crow = self.con.execute(
            f"SELECT client_id, client_name, timezone, invoices_by_branch FROM {self.src('clients')} ORDER BY client_id"
        ).fetchall()
        bcountry = dict(
            self.con.execute(
                f"SELECT client_id, max(country) FROM {self.src('branches')} GROUP BY client_id"
            ).fetchall()
        )
        self.run(f"CREATE TABLE j0 AS SELECT * FROM {self.src('jobs')}")
        self.ids("job", "SELECT max(idn(job_id)), max(length(job_id)) FROM j0")
        self.run(f"CREATE TABLE b0 AS SELECT * FROM {self.src('batches')}")
        self.ids("batch", "SELECT max(idn(batch_id)), max(length(batch_id)) FROM b0")
        self.run(f"CREATE TABLE cu0 AS SELECT * FROM {self.src('customers')}")
        njobs = dict(self.con.execute("SELECT client_id, count(*) FROM j0 GROUP BY 1").fetchall())
        pieces = dict(
            self.con.execute(
                "SELECT j.client_id, sum(CAST(b.piece_count AS BIGINT)) FROM b0 b JOIN j0 j USING (job_id) GROUP BY 1"
            ).fetchall()
        )
        ncust = dict(self.con.execute("SELECT client_id, count(*) FROM cu0 GROUP BY 1").fetchall())
        nbr = dict(self.con.execute(f"SELECT client_id, count(*) FROM {self.src('branches')} GROUP BY 1").fetchall())
        n_days = (self.day - self.first_day).days
        day_list = [self.first_day + timedelta(days=i) for i in range(n_days)]
        n_bus = sum(1 for d in day_list if d.weekday() < 5)
        eff_days = max(0.5, n_bus + 0.15 * (len(day_list) - n_bus))
        total_pieces = sum(int(v or 0) for v in pieces.values()) or 1
        self.run("""CREATE TABLE cl (client_idx INTEGER, client_id VARCHAR, client_name VARCHAR, std_off INTEGER,
            country VARCHAR, by_branch BOOLEAN, short VARCHAR, slug VARCHAR, n_branches INTEGER, n_cust BIGINT,
            rate DOUBLE, weight DOUBLE)""")
        for i, (cid, cname, tz, by_branch) in enumerate(crow):
            country, std = _ZONE_INFO.get(tz or "", (bcountry.get(cid) or "US", -300))
            nc = int(ncust.get(cid, 0))
            rate = max(4.0 / eff_days, int(njobs.get(cid, 0)) / eff_days) if nc > 0 else 0.0
            weight = (int(pieces.get(cid) or 0) + 0.01 * total_pieces) / total_pieces if nc > 0 else 0.0
            cname = cname or cid
            self.con.execute(
                "INSERT INTO cl VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                [
                    i,
                    cid,
                    cname,
                    std,
                    country,
                    (by_branch or "").lower() == "true",
                    "".join(w[0] for w in re.findall(r"[A-Za-z]+", cname))[:4].upper() or "JOB",
                    _slug(cname) or "client",
                    int(nbr.get(cid, 0)),
                    nc,
                    rate,
                    weight,
                ],
            )
        self.n_clients = len(crow)
        self.max_slots = max(4, int((self.scalar("SELECT max(rate) FROM cl") or 0) * 2) + 2)
        self.run(f"""CREATE TABLE appr AS
            SELECT c.client_idx,
              CASE WHEN count(*) FILTER (WHERE x.role IN ('primary_support', 'billing', 'support')
                                          AND ts(x.valid_from) <= {T0}
                                          AND (x.valid_to IS NULL OR ts(x.valid_to) > {T0})) > 0
                   THEN list(x.full_name ORDER BY x.full_name) FILTER (
                        WHERE x.role IN ('primary_support', 'billing', 'support') AND ts(x.valid_from) <= {T0}
                          AND (x.valid_to IS NULL OR ts(x.valid_to) > {T0}))
                   ELSE list(x.full_name ORDER BY x.full_name) END AS approvers
            FROM {self.src("contacts")} x JOIN cl c USING (client_id) GROUP BY ALL""")
        self.run("""CREATE TABLE cla AS SELECT c.*, coalesce(a.approvers, ['Client Approver']) AS approvers
            FROM cl c LEFT JOIN appr a USING (client_idx)""")
        self.run(f"""CREATE TABLE clbr AS SELECT c.client_idx,
                CAST(row_number() OVER (PARTITION BY c.client_idx ORDER BY b.branch_code) - 1 AS INTEGER) AS bi,
                b.branch_code
            FROM {self.src("branches")} b JOIN cl c USING (client_id)""")
        self.run(f"""CREATE TABLE rules AS SELECT c.client_idx, r.rule_type, r.rule_value, ts(r.valid_from) AS valid_from,
                ts(r.valid_to) AS valid_to
            FROM {self.src("processing_rules")} r JOIN cl c USING (client_id)""")
        self.run("""CREATE TABLE cust AS SELECT c.client_idx,
                row_number() OVER (PARTITION BY c.client_idx ORDER BY x.customer_account_id) AS rk,
                x.customer_account_id, x.branch_code
            FROM cu0 x JOIN cl c USING (client_id)""")
        self.run("DROP TABLE cu0")
        self.run(f"""CREATE TABLE rt AS SELECT c.client_idx, x.customer_account_id,
                CAST(coalesce(list_position({chans}, x.delivery_channel), 1) - 1 AS INTEGER) AS chan,
                x.pull_class, ts(x.valid_from) AS vf, ts(x.valid_to) AS vt
            FROM {self.src("customer_routing")} x JOIN cl c USING (client_id)
            WHERE x.valid_to IS NULL OR ts(x.valid_to) > {T0}""")

        # ---- jobs, their events, approvals, batches, uploads (small tables: read whole) ---------------------
        self.run("""CREATE TABLE oj AS SELECT idn(j.job_id) AS job_idx, j.job_id, c.client_idx, c.std_off, c.country,
                j.job_name, ts(j.created_at) AS created, j.ops_approval_required = 'true' AS ops,
                j.customer_approval_required = 'true' AS cust
            FROM j0 j JOIN cl c USING (client_id)""")
        self.run(f"CREATE TABLE ev0 AS SELECT * FROM {self.src('job_status_events')}")
        self.ids("event", "SELECT max(idn(event_id)), max(length(event_id)) FROM ev0")
        self.run(f"""CREATE TABLE oev AS SELECT idn(job_id) AS job_idx, list_position({codes}, status_code) AS step,
                ts(event_at) AS event_at, CAST(status_date AS DATE) AS status_date FROM ev0""")
        self.run(f"CREATE TABLE ap0 AS SELECT * FROM {self.src('job_approvals')}")
        self.ids("approval", "SELECT max(idn(approval_id)), max(length(approval_id)) FROM ap0")
        self.run("""CREATE TABLE oap AS SELECT approval_id, idn(job_id) AS job_idx, approval_stage AS stage,
                ts(requested_at) AS requested_at, ts(decided_at) AS decided_at, decision,
                row_number() OVER (PARTITION BY job_id, approval_stage ORDER BY ts(requested_at), approval_id)
                    AS attempt
            FROM ap0""")
        self.run(f"CREATE TABLE upload_slots AS SELECT * FROM {self.src('file_uploads')}")
        self.ids("file", "SELECT max(idn(file_id)), max(length(file_id)) FROM upload_slots")
        self.run(f"CREATE TABLE pl0 AS SELECT * FROM {self.src('document_pulls')}")
        self.ids("pull", "SELECT max(idn(pull_id)), max(length(pull_id)) FROM pl0")
        self.ids(
            "fee",
            f"SELECT max(idn(fee_id)), max(length(fee_id)) FROM {self.src('fees', dedupe=False)}",
        )

        # open jobs: no JOB_COMPLETE event yet
        self.run(
            "CREATE TABLE open_j AS SELECT * FROM oj WHERE job_idx NOT IN (SELECT job_idx FROM oev WHERE step = 10)"
        )
        self.n_open = self.count("open_j")
        wday = self.scalar(
            f"""SELECT least(coalesce((SELECT min(CAST(created AS DATE)) FROM open_j), DATE '{self.day}'),
                              coalesce((SELECT CAST(created AS DATE) FROM oj ORDER BY job_idx DESC LIMIT 1),
                                       DATE '{self.day}'))"""
        )
        wname = wday.isoformat()
        doc_files = [p for p in self.files["documents"] if p.name >= wname] or self.files["documents"][-1:]

        # ---- documents of the open jobs (from the files of their creation days on) --------------------------
        self.run(f"""CREATE TABLE d0 AS SELECT document_id, idn(document_id) AS doc_id, job_id, batch_id, client_id,
                customer_account_id, branch_code, delivery_channel, pull_class, page_count
            FROM {self.src("documents", doc_files)}""")
        self.ids("document", "SELECT max(doc_id), max(length(document_id)) FROM d0")
        self.run(f"""CREATE TABLE odocs AS
            SELECT d.document_id, d.doc_id, j.job_idx, j.client_idx, idn(d.batch_id) AS batch_no,
                   d.customer_account_id, d.branch_code AS br_exp, cu.branch_code AS cust_br,
                   CAST(coalesce(list_position({chans}, d.delivery_channel), 1) - 1 AS INTEGER) AS chan,
                   d.pull_class, CAST(d.page_count AS INTEGER) AS pages,
                   d.document_id IN (SELECT document_id FROM pl0) AS pulled, false AS is_new
            FROM d0 d JOIN open_j j ON j.job_id = d.job_id
            LEFT JOIN cust cu ON cu.client_idx = j.client_idx AND cu.customer_account_id = d.customer_account_id""")
        self.run("DROP TABLE d0")
        self.step(
            f"read {self.day - timedelta(days=1)} state: {self.n_clients} clients, {self.count('oj'):,} jobs "
            f"({self.n_open:,} open), {self.count('odocs'):,} documents of open jobs from {len(doc_files)} "
            f"file(s) since {wname}"
        )

        # ---- deliveries: max id from every file; the rows of the open jobs' documents and of the last day's
        # sends (retries, bounce reveals) from the files of the window and of the day before the last one
        self.ids(
            "delivery",
            f"SELECT max(idn(delivery_id)), max(length(delivery_id)) FROM {self.src('deliveries', dedupe=False)}",
        )
        dl_from = min(wday, self.day - timedelta(days=2)).isoformat()
        dl_files = [p for p in self.files["deliveries"] if p.name >= dl_from]
        self.run(f"""CREATE TABLE dl_all AS SELECT delivery_id, idn(delivery_id) AS dl, document_id, delivery_channel,
                ts(attempted_at) AS att, ts(sent_at) AS sent, outcome
            FROM {self.src("deliveries", dl_files, dedupe=False)}""")
        self.run("""CREATE TABLE dstate AS
            SELECT document_id, bool_or(sent IS NOT NULL) AS has_sent, min(sent) AS first_sent,
                   arg_max(delivery_id, dl) FILTER (WHERE outcome = 'failed') AS f_id,
                   max(dl) FILTER (WHERE outcome = 'failed') AS f_dl,
                   max(att) FILTER (WHERE outcome = 'failed') AS f_att
            FROM dl_all WHERE document_id IN (SELECT document_id FROM odocs WHERE chan BETWEEN 1 AND 7)
            GROUP BY document_id""")
        self.step(f"read deliveries: {self.count('dl_all'):,} rows from {len(dl_files)} file(s) since {dl_from}")

        # default documents per day, seed
        total_docs = self.maxn["document"]
        self.dpd = int(self.dpd_arg) if self.dpd_arg else max(1, round(total_docs / max(1, n_days)))
        if self.seed_arg is None:
            cids = ",".join(r[0] for r in crow)
            self.seed = zlib.crc32(f"{self.first_day.isoformat()}|{cids}".encode()) & 0x7FFFFFFF
        else:
            self.seed = int(self.seed_arg)
        self.rand = SeededRandom(self.seed)
