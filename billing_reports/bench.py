"""``billing-reports bench``: how close a refresh comes to the hardware's floor.

A benchmark, not a test: it prints and writes figures (``BENCHMARKS.md`` and a JSON file) and
never fails on a slow machine. For each size it

1. generates the landing folder once (cached under ``--out``);
2. measures the **scan floor**: DuckDB reading every landing file once into tables, in a fresh
   database (the least any refresh must do);
3. measures a **full refresh** (``billing-reports refresh`` into a scratch warehouse, in a child
   process) with its stages: validation, landing (dbt's on-run-start), models, tests, publish,
   from the refresh log; and its peak memory, two ways: the largest process (``ru_maxrss``) and the
   whole process tree (RSS summed over the refresh and its descendants, sampled from /proc);
4. measures **every dashboard query** (the functions of ``dashboards.data`` that the pages call,
   uncached) against the refreshed warehouse;
5. unless ``--no-incremental``, measures the **refresh after one more day** (the generator's
   ``extend_one_day`` on a copy of the folder, then ``refresh`` on the published warehouse) and,
   unless ``--no-watch``, the **watch latency** on the same warehouse (``bench_watch``): from files
   landing under ``refresh --watch --notify`` to the dashboard and the e-mails.

The report (``bench_report``) is rendered from the JSON of this call and of any earlier ones
(``--merge``, ``--report-from``), with the targets judged from the figures and the hand-written
``docs/benchmarks-notes.md`` at its end.

Every figure is the median of ``--runs`` runs; each full refresh is paired with a scan floor
measured just before it, and the ratio is the median of the pairs' ratios, because the machines
are noisy and their speed drifts over minutes.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

from billing_reports.bench_report import load_calls, read_notes, render_markdown, render_table
from billing_reports.bench_watch import DEFAULT_WATCH_INTERVAL, DEFAULT_WATCH_SETTLE
from billing_reports.cli import EXIT_OK, UserError, non_negative_number, progress
from billing_reports.settings import PROJECT_DIR

DEFAULT_SIZES = "1000000,10000000"


def register(subparsers: argparse._SubParsersAction) -> None:
    bench = subparsers.add_parser(
        "bench",
        help="benchmark: scan floor, full refresh by stage, peak memory, refresh after one more day, "
        "dashboard queries, watch latency",
        description="Generate data once per size (cached), then measure the scan floor, a full refresh "
        "(validate + build + tests + publish) with its stages and peak memory, every dashboard query, the "
        "refresh after one more day and the latency from files landing to the dashboard and the e-mails "
        "under `refresh --watch --notify`. Writes BENCHMARKS.md (targets judged from the figures, "
        "docs/benchmarks-notes.md included) and a JSON file. Figures are medians of --runs runs.",
    )
    bench.add_argument(
        "--documents",
        default=DEFAULT_SIZES,
        help=f"comma-separated sizes in documents (default {DEFAULT_SIZES}); 1e6 and 1_000_000 are fine",
    )
    bench.add_argument(
        "--out", default="bench", help="working folder: cached data, scratch warehouses (default bench/)"
    )
    bench.add_argument("--runs", type=int, default=3, help="runs per measure; the median is reported (default 3)")
    bench.add_argument("--query-runs", type=int, default=20, help="runs per dashboard query (default 20)")
    bench.add_argument("--report", default="BENCHMARKS.md", help="Markdown report to write (default BENCHMARKS.md)")
    bench.add_argument("--json", default=None, help="JSON results file (default <out>/bench.json)")
    bench.add_argument(
        "--no-incremental",
        action="store_true",
        help="skip the refresh after one more day (it needs a second full refresh to set up; for a one-off "
        "run of a very large size, where the full refresh and its peak memory are what is asked); skips the "
        "watch latency too, which is measured on that refresh's warehouse",
    )
    bench.add_argument(
        "--no-watch",
        action="store_true",
        help="skip the watch latency (files landing under `refresh --watch --notify` until the dashboard and "
        "the e-mails have them); it is measured by default after the refresh after one more day, on its "
        "warehouse, for --runs more days",
    )
    bench.add_argument(
        "--watch-interval",
        type=_positive_seconds,
        default=DEFAULT_WATCH_INTERVAL,
        metavar="SECONDS",
        help=f"the watcher's --interval for the watch latency (default {DEFAULT_WATCH_INTERVAL:g}, as in production)",
    )
    bench.add_argument(
        "--watch-settle",
        type=non_negative_number("seconds"),
        default=DEFAULT_WATCH_SETTLE,
        metavar="SECONDS",
        help=f"the watcher's --settle for the watch latency (default {DEFAULT_WATCH_SETTLE:g}, as in production)",
    )
    bench.add_argument(
        "--merge",
        default=None,
        metavar="JSON[,JSON]",
        help="also put these earlier calls' results (JSON files written by bench) in the report; a size "
        "measured again is taken from the latest call",
    )
    bench.add_argument(
        "--report-from",
        default=None,
        metavar="JSON[,JSON]",
        help="measure nothing: write --report from these JSON files of earlier calls (e.g. a 1M/10M call and "
        "a 100M call with --no-incremental), keeping each call's command and date; with --json, also "
        "write the merged JSON",
    )
    bench.add_argument(
        "--notes",
        default=None,
        help="hand-written notes included verbatim at the end of the report (default docs/benchmarks-notes.md)",
    )
    bench.add_argument(
        "--warehouse",
        default=None,
        help="measure only the dashboard queries against this existing warehouse file (no generate, no "
        "refresh); prints median and p95 per page and writes no report",
    )
    bench.add_argument(
        "--pages",
        default=None,
        help="with --warehouse: comma-separated page names to measure (a name matches when it contains the "
        "text, case-insensitive; e.g. 'find a document'); default every page",
    )
    bench.set_defaults(func=cmd_bench)


def _positive_seconds(text: str) -> float:
    value = non_negative_number("seconds")(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected more than 0 seconds, got {text}")
    return value


def _json_paths(text: str | None) -> list[Path]:
    return [Path(part.strip()) for part in (text or "").split(",") if part.strip()]


def parse_sizes(text: str) -> list[int]:
    sizes = []
    for part in text.split(","):
        part = part.strip().replace("_", "")
        if not part:
            continue
        try:
            sizes.append(int(float(part)))
        except ValueError as error:
            raise UserError(f"--documents: {part!r} is not a number") from error
    if not sizes or min(sizes) <= 0:
        raise UserError("--documents needs at least one size above 0")
    return sizes


def cmd_queries_only(warehouse: Path, pages: str | None, runs: int) -> int:
    """``--warehouse``: the dashboard queries of an existing warehouse, printed, nothing written."""
    if not warehouse.is_file():
        raise UserError(f"--warehouse: {warehouse} is not a warehouse file (run `billing-reports refresh` first)")
    wanted = [part.strip().lower() for part in (pages or "").split(",") if part.strip()] or None
    progress(f"measuring dashboard queries on {warehouse} ({runs} runs each)")
    timings = dashboard_queries(warehouse, runs, wanted)
    if wanted and not timings:
        raise UserError(f"--pages: no page matches {pages!r}")
    print("| page | median ms | p95 ms |\n|---|---:|---:|")
    for page, timing in timings.items():
        if "error" in timing:
            print(f"| {page} | error: {timing['error']} | |")
        else:
            print(f"| {page} | {timing['median_ms']:.0f} | {timing['p95_ms']:.0f} |")
    return EXIT_OK


def cmd_bench(args: argparse.Namespace) -> int:
    if args.warehouse:
        return cmd_queries_only(Path(args.warehouse), args.pages, args.query_runs)
    notes_path = Path(args.notes) if args.notes else None
    if notes_path is not None and not notes_path.is_file():
        raise UserError(f"--notes: {notes_path} does not exist")
    if args.report_from:
        calls = load_calls(_json_paths(args.report_from))
        Path(args.report).write_text(render_markdown(calls, read_notes(notes_path)))
        if args.json:
            Path(args.json).write_text(json.dumps({"runs": calls}, indent=2, default=str))
        progress(f"wrote {args.report} from {len(calls)} call(s)" + (f" and {args.json}" if args.json else ""))
        print(render_table(calls))
        return EXIT_OK
    earlier = load_calls(_json_paths(args.merge))
    sizes = parse_sizes(args.documents)
    watch = None
    if not (args.no_watch or args.no_incremental):
        watch = {"interval": args.watch_interval, "settle": args.watch_settle}
        try:
            import aiosmtpd  # noqa: F401 - the watch latency's SMTP server
        except ImportError:
            raise UserError(
                "the watch latency needs aiosmtpd for its SMTP server (pip install -e '.[dev]'); or use --no-watch"
            ) from None
    out = Path(args.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    results = {
        "command": "billing-reports bench " + " ".join(sys.argv[2:] if sys.argv[1:2] == ["bench"] else sys.argv[1:]),
        "machine": machine_facts(),
        "started_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "runs": args.runs,
        "sizes": [],
    }
    for size in sizes:
        progress(f"== {size:,} documents")
        results["sizes"].append(
            bench_size(size, out, args.runs, args.query_runs, incremental=not args.no_incremental, watch=watch)
        )
    results["finished_at"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    results["machine"]["load_average_end"] = _load_average()
    json_path = Path(args.json) if args.json else out / "bench.json"
    # The JSON holds this call only; the report merges it with --merge's calls.
    json_path.write_text(json.dumps(results, indent=2, default=str))
    report = Path(args.report)
    report.write_text(render_markdown([*earlier, results], read_notes(notes_path)))
    progress(f"wrote {report} and {json_path}")
    print(render_table([*earlier, results]))
    return EXIT_OK


def machine_facts() -> dict:
    import duckdb

    facts = {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "duckdb": duckdb.__version__,
        "platform": platform.platform(),
    }
    facts["load_average_start"] = _load_average()
    try:
        meminfo = Path("/proc/meminfo").read_text().splitlines()[0]
        facts["memory_gib"] = round(int(meminfo.split()[1]) / 1024 / 1024, 1)
    except (OSError, IndexError, ValueError):
        pass
    return facts


def _load_average() -> list[float] | None:
    """The 1, 5 and 15 minute load averages: how busy the (shared) machine was."""
    try:
        return [round(value, 1) for value in os.getloadavg()]
    except OSError:
        return None


def bench_size(
    size: int, out: Path, runs: int, query_runs: int, *, incremental: bool = True, watch: dict | None = None
) -> dict:
    """Every measure of one size. ``watch`` (interval and settle seconds) adds the watch latency, measured
    on the warehouse of the refresh after one more day; it needs ``incremental``."""
    from billing_reports.generate import generate

    raw = out / "data" / f"{size}"
    marker = raw / ".generated.json"
    if not marker.exists():
        progress(f"generating {size:,} documents into {raw}")
        started = time.perf_counter()
        summary = generate(raw, documents=size, progress=progress)
        summary["generate_seconds"] = time.perf_counter() - started
        marker.write_text(json.dumps(summary, default=str))
    summary = json.loads(marker.read_text())
    landing_bytes = sum(path.stat().st_size for path in raw.rglob("*.csv*"))

    # Each full refresh is paired with a scan floor measured just before it: the machine's speed
    # drifts over minutes, so the ratio is taken per pair, and its median reported.
    floors, refreshes = [], []
    for run in range(runs):
        floors.append(scan_floor(raw, out / "scratch" / "floor.duckdb"))
        warehouse = out / "scratch" / f"warehouse-{size}" / "billing.duckdb"
        refreshes.append(full_refresh(raw, warehouse, summary.get("as_of")))
        if not refreshes[-1]["ok"]:
            _refresh_failed(f"the full refresh of {size:,} documents", warehouse)
        progress(
            f"run {run + 1}/{runs}: scan floor {floors[-1]:.1f}s, full refresh {refreshes[-1]['seconds']:.1f}s "
            f"({refreshes[-1]['seconds'] / floors[-1]:.1f} x floor), peak RSS {refreshes[-1]['peak_rss_mib']:.0f} MiB"
        )
    floor = statistics.median(floors)
    ratios = [refresh["seconds"] / floor_seconds for refresh, floor_seconds in zip(refreshes, floors, strict=True)]
    refresh_seconds = statistics.median(r["seconds"] for r in refreshes)
    stages = _median_stages(refreshes)
    warehouse = out / "scratch" / f"warehouse-{size}" / "billing.duckdb"
    queries = dashboard_queries(warehouse, query_runs)
    measured = {
        "documents": size,
        "landing_mib": round(landing_bytes / 1024 / 1024, 1),
        "generate_seconds": summary.get("generate_seconds") or summary.get("seconds"),
        "scan_floor_seconds": floor,
        "scan_floor_runs": floors,
        "full_refresh_seconds": refresh_seconds,
        "full_refresh_runs": [r["seconds"] for r in refreshes],
        "full_refresh_ok": all(r["ok"] for r in refreshes),
        "ratio_to_floor": statistics.median(ratios),
        "ratio_to_floor_runs": ratios,
        "stages": stages,
        "peak_rss_mib": max(r["peak_rss_mib"] for r in refreshes),
        "peak_rss_mib_runs": [r["peak_rss_mib"] for r in refreshes],
        "peak_tree_rss_mib": max(r["peak_tree_rss_mib"] for r in refreshes),
        "peak_tree_rss_mib_runs": [r["peak_tree_rss_mib"] for r in refreshes],
        "seconds_per_million": refresh_seconds / (size / 1_000_000),
        "dashboard_queries": queries,
    }
    if not incremental:
        return measured
    day = refresh_after_one_more_day(
        raw,
        out / "scratch" / f"extended-{size}",
        out / "scratch" / f"incremental-{size}" / "billing.duckdb",
        runs,
        watch=watch,
    )
    progress(
        f"refresh after one more day: median {day['seconds']:.1f}s of "
        f"{[round(x, 1) for x in day['runs']]} ({day['modes']})"
    )
    if watch is not None:
        measured["watch"] = day["watch"]
    return measured | {
        "incremental_refresh_seconds": day["seconds"],
        "incremental_refresh_runs": day["runs"],
        "incremental_peak_rss_mib": day["peak_rss_mib"],
        "incremental_peak_tree_rss_mib": day["peak_tree_rss_mib"],
        "incremental_ratio_to_full": day["seconds"] / refresh_seconds if refresh_seconds else None,
        "incremental_ok": day["ok"],
        "incremental_modes": day["modes"],
        "incremental_stages": day["stages"],
        "incremental_note": (
            f"one more extract day of files (about {day['new_files']} files) landed on the published "
            f"warehouse, then `billing-reports refresh` ({', '.join(sorted(set(day['modes'])))} build): "
            f"median {day['seconds']:.1f} s of {len(day['runs'])} day(s), "
            f"{day['seconds'] / refresh_seconds:.0%} of the full refresh"
        ),
    }


def _refresh_failed(what: str, warehouse: Path) -> None:
    """Stop the bench with the refresh's own reason (from its run log), not a traceback later on."""
    from billing_reports.cli import UserError

    last = _last_run(warehouse)
    reason = (last.get("dbt_failures") or last.get("error") or "no reason recorded").strip().splitlines()
    raise UserError(
        f"{what} failed after {last.get('started_at', '?')}: {' '.join(line.strip() for line in reason)[:500]} "
        f"(log: {last.get('log_file', warehouse.parent / 'logs')})"
    )


def _median_stages(refreshes: list[dict]) -> dict:
    """Each stage's median seconds over several refreshes (a stage a run lacks counts as 0)."""
    return {
        stage: statistics.median(run["stages"].get(stage, 0.0) for run in refreshes)
        for stage in sorted({key for run in refreshes for key in run["stages"]})
    }


def refresh_after_one_more_day(
    raw: Path, extended: Path, warehouse: Path, days: int = 1, *, watch: dict | None = None
) -> dict:
    """The scheduled case: one more extract day lands, and ``refresh`` runs on the published warehouse.

    On a hard-linked copy of the landing folder (the generator only adds files): one full refresh
    publishes the folder as it is (not measured here), then ``days`` times one more extract day is
    written and refreshed onto the published file. Returns the median seconds and each day's figures.
    With ``watch`` ({"interval", "settle"} seconds), ``days`` more days then land under
    ``refresh --watch`` on the same folder and warehouse (``bench_watch.watch_latency``).
    """
    import shutil

    from billing_reports.generate import extend_one_day

    shutil.rmtree(extended, ignore_errors=True)
    shutil.copytree(raw, extended, copy_function=os.link, ignore=shutil.ignore_patterns(".generated.json"))
    as_of = (
        json.loads((raw / ".generated.json").read_text()).get("as_of") if (raw / ".generated.json").exists() else None
    )
    setup = full_refresh(extended, warehouse, as_of)
    measured, new_files = [], []
    for _ in range(max(days, 1) if setup["ok"] else 0):
        before = set(extended.rglob("*.csv*"))
        summary = extend_one_day(extended)
        new_files.append(len(set(extended.rglob("*.csv*")) - before))
        measured.append(full_refresh(extended, warehouse, summary.get("as_of"), keep_published=True))
    latency = None
    if watch is not None and measured and all(run["ok"] for run in measured):
        from billing_reports.bench_watch import watch_latency

        latency = watch_latency(
            extended,
            warehouse,
            extended.parent / f"{extended.name}-staging",
            days,
            interval=watch["interval"],
            settle=watch["settle"],
        )
    shutil.rmtree(extended, ignore_errors=True)
    if not measured:
        return {
            "ok": False,
            "seconds": float("nan"),
            "runs": [],
            "modes": [],
            "stages": {},
            "new_files": 0,
            "peak_rss_mib": None,
            "peak_tree_rss_mib": None,
            "watch": None,
        }
    return {
        "watch": latency,
        "peak_rss_mib": max(run["peak_rss_mib"] for run in measured),
        "peak_tree_rss_mib": max(run["peak_tree_rss_mib"] for run in measured),
        "ok": all(run["ok"] for run in measured),
        "seconds": statistics.median(run["seconds"] for run in measured),
        "runs": [run["seconds"] for run in measured],
        "modes": [run.get("build_mode") for run in measured],
        "stages": _median_stages(measured),
        "new_files": round(statistics.median(new_files)),
    }


def scan_floor(raw: Path, database: Path) -> float:
    """Seconds for DuckDB to read every landing file once into tables (all text), in a fresh file."""
    import duckdb

    database.parent.mkdir(parents=True, exist_ok=True)
    database.unlink(missing_ok=True)
    started = time.perf_counter()
    with duckdb.connect(str(database)) as con:
        for folder in sorted(p for p in raw.iterdir() if p.is_dir()):
            files = sorted(str(p) for p in folder.glob("*.csv*"))
            if files:
                con.execute(
                    f"create table {folder.name} as select * from read_csv(?, all_varchar = true, header = true, union_by_name = true)",
                    [files],
                )
    seconds = time.perf_counter() - started
    database.unlink(missing_ok=True)
    return seconds


_RUSAGE_WRAPPER = """
import json, resource, subprocess, sys, time
started = time.perf_counter()
code = subprocess.call(sys.argv[1:])
seconds = time.perf_counter() - started
print(json.dumps({"code": code, "seconds": seconds,
                  "maxrss_kib": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}))
"""


class TreeRss(threading.Thread):
    """Samples the summed RSS of a process and all its descendants from /proc every ``every`` seconds.

    ``ru_maxrss`` gives the largest single process only; a refresh is a tree (the refresh, dbt, GX
    and DuckDB's threads in them), whose total is what the machine must hold. The sum counts pages
    shared between processes once per process, so it is an upper bound of the tree's footprint.
    """

    def __init__(self, root: int, every: float = 0.5) -> None:
        super().__init__(daemon=True)
        self.root, self.every = root, every
        self.peak_kib = 0
        self.finished = threading.Event()

    def run(self) -> None:
        while not self.finished.wait(self.every):
            self.peak_kib = max(self.peak_kib, tree_rss_kib(self.root))

    def stop(self) -> float:
        """Stop sampling; the peak in MiB."""
        self.finished.set()
        self.join(timeout=5)
        return self.peak_kib / 1024


def tree_rss_kib(root: int) -> int:
    """The summed resident memory (KiB) of ``root`` and its descendants, read from /proc."""
    parents: dict[int, int] = {}
    rss: dict[int, int] = {}
    page_kib = os.sysconf("SC_PAGE_SIZE") // 1024
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat") as handle:
                text = handle.read()
        except OSError:
            continue
        fields = text[text.rfind(")") + 2 :].split()  # from the state (field 3) on: ppid is 4, rss 24
        parents[int(entry.name)] = int(fields[1])
        rss[int(entry.name)] = int(fields[21]) * page_kib
    tree, frontier = {root}, [root]
    while frontier:
        parent = frontier.pop()
        for pid, ppid in parents.items():
            if ppid == parent and pid not in tree:
                tree.add(pid)
                frontier.append(pid)
    return sum(rss.get(pid, 0) for pid in tree)


def full_refresh(raw: Path, warehouse: Path, as_of: str | None, *, keep_published: bool = False) -> dict:
    """One ``billing-reports refresh`` in a child process: wall time, stages, peak RSS (largest process, tree)."""
    import shutil

    if not keep_published:
        shutil.rmtree(warehouse.parent, ignore_errors=True)
    warehouse.parent.mkdir(parents=True, exist_ok=True)
    target = warehouse.parent / "target"
    env = dict(os.environ, BILLING_RAW_DIR=str(raw), BILLING_WAREHOUSE=str(warehouse), DBT_TARGET_PATH=str(target))
    command = [sys.executable, "-m", "billing_reports.cli", "refresh"]
    if as_of:
        command += ["--vars", json.dumps({"as_of": as_of})]
    process = subprocess.Popen(
        [sys.executable, "-c", _RUSAGE_WRAPPER, *command],
        cwd=PROJECT_DIR,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    sampler = TreeRss(process.pid)
    sampler.start()
    stdout, stderr = process.communicate()
    tree_peak = sampler.stop()
    measured = json.loads(stdout.strip().splitlines()[-1])
    last_run = _last_run(warehouse)
    return {
        "build_mode": last_run.get("build_mode"),
        "ok": measured["code"] == 0,
        "seconds": measured["seconds"],
        "peak_rss_mib": measured["maxrss_kib"] / 1024,
        "peak_tree_rss_mib": tree_peak,
        "stages": refresh_stages(warehouse, stderr),
    }


#: Log lines of a refresh that open each stage, in order (billing_reports/refresh/ and dbt's output).
_STAGE_MARKERS = (
    ("check headers (quarantine)", "checking the landing files' headers"),
    ("copy the published file forward (incremental)", "copying the published warehouse forward"),
    ("dbt start-up and parse", "dbt build into"),
    ("landing (on-run-start)", "Concurrency:"),
    ("models and tests", "loaded into raw"),
    ("validate the landed rows (GX)", "validating the landed rows"),
    ("record, publish, export Parquet", "recording the run in"),
    ("end", "run recorded in"),
)


def _last_run(warehouse: Path) -> dict:
    """The last run recorded in the warehouse's run log (``refresh_runs.jsonl``), or {}."""
    runs_log = warehouse.parent / "refresh_runs.jsonl"
    if not runs_log.exists():
        return {}
    return json.loads(runs_log.read_text().strip().splitlines()[-1])


def refresh_stages(warehouse: Path, log_text: str) -> dict:
    """Stage durations from the timestamps of the refresh's own log (one line per step)."""
    last = _last_run(warehouse)
    if not last:
        return {}
    log_file = Path(last.get("log_file") or "")
    if not log_file.exists():
        return {}
    seen: dict[str, float] = {}
    for line in log_file.read_text(errors="replace").splitlines():
        stamp = line[:19]
        for stage, marker in _STAGE_MARKERS:
            if stage not in seen and marker in line:
                try:
                    seen[stage] = time.mktime(time.strptime(stamp, "%Y-%m-%dT%H:%M:%S"))
                except ValueError:
                    pass
    names = [stage for stage, _ in _STAGE_MARKERS if stage in seen]
    return {name: seen[following] - seen[name] for name, following in zip(names, names[1:], strict=False)}


def dashboard_queries(warehouse: Path, runs: int, pages: list[str] | None = None) -> dict:
    """Median and p95 milliseconds of each dashboard page's queries, uncached; ``pages`` keeps the
    pages whose name contains one of these (lower-case) texts."""
    os.environ["BILLING_WAREHOUSE"] = str(warehouse)
    import logging

    # Outside `streamlit run`, every cached call warns that there is no runtime: not news here.
    os.environ.setdefault("STREAMLIT_LOGGER_LEVEL", "error")
    logging.getLogger("streamlit").setLevel(logging.ERROR)
    try:
        import streamlit.logger

        # Its loggers are made on first use (the cache's, as the pages' modules are imported) at
        # streamlit's global level: set that first.
        streamlit.logger.set_log_level("error")
        from dashboards import auth, data
    except Exception as error:  # noqa: BLE001 - the dashboard is optional for the benchmark
        return {"error": f"dashboards.data not importable: {error}"}
    with auth.service_scope("benchmark"):
        calls = page_calls(data)
    if pages is not None:
        calls = {page: call for page, call in calls.items() if any(text in page.lower() for text in pages)}
    timings: dict[str, dict] = {}
    for page, call in calls.items():
        samples = []
        error = None
        for _ in range(runs):
            _clear_caches(data)
            started = time.perf_counter()
            try:
                # Outside a Streamlit session nobody is signed in: measure as operations staff (all clients).
                with auth.service_scope("benchmark"):
                    call()
            except Exception as exc:  # noqa: BLE001 - report, do not stop the benchmark
                error = f"{type(exc).__name__}: {exc}"
                break
            samples.append((time.perf_counter() - started) * 1000)
        if error:
            timings[page] = {"error": error}
        else:
            samples.sort()
            timings[page] = {
                "median_ms": statistics.median(samples),
                "p95_ms": samples[min(len(samples) - 1, int(round(0.95 * (len(samples) - 1))))],
                "runs": len(samples),
            }
    return timings


def _clear_caches(data) -> None:
    data.clear_caches()


def page_calls(data) -> dict:
    """What each page asks of the data module on first load, with its default filters."""

    def bounds(report):
        found = data.date_bounds(report)
        return found if found else (None, None)

    def ranged(function, report):
        start, end = data.default_date_range(report)
        return function(start=start, end=end)

    def job_tracking():
        start, end = data.default_date_range("job_tracking")
        frame = data.jobs(start=start, end=end)
        ids = list(frame["job_id"][:50]) if len(frame) else []
        data.job_steps(ids)
        data.job_delivery_counts(ids)

    # The job whose details open first and a document to look up, chosen once, before timing: the
    # newest job, and the document in the middle of rpt_job_documents' storage order.
    start, end = data.default_date_range("job_tracking")
    newest = data.jobs(start=start, end=end)
    first_job = str(newest["job_id"].iloc[0]) if len(newest) else ""
    number, account = _sample_document(data)

    def job_documents():
        data.job_document_types(first_job)
        data.job_document_count(first_job)
        documents = data.job_document_page(first_job, page=1, page_size=100)
        data.document_deliveries(documents["document_id"].tolist())

    # As the page does: the attempts are read for the documents that have some.
    def find_document():
        found = data.find_documents(number)
        data.document_deliveries(found.loc[found["delivery_attempt_count"] > 0, "document_id"].tolist())

    def find_customer():
        found = data.find_documents(account, by="customer_account")
        data.document_deliveries(found.loc[found["delivery_attempt_count"] > 0, "document_id"].tolist())

    return {
        "Job tracking": job_tracking,
        "Job tracking: job details (documents, first page)": job_documents,
        "Job tracking: find a document by number": find_document,
        "Job tracking: find a customer account's documents": find_customer,
        "Job approval": lambda: data.approval_jobs(),
        "Customer routing": lambda: data.customer_routing(),
        "Billing statistics": lambda: ranged(data.billing_statistics, "billing_statistics"),
        "Branch report": lambda: ranged(data.branch_activity, "branch_activity"),
        "Branch billing": lambda: ranged(data.branch_billing, "branch_billing"),
        "Billing activity details": lambda: ranged(data.billing_activity_details, "billing_activity_details"),
        "File pickup": lambda: data.file_pickup(),
        "Processing-rule change audit": lambda: data.rule_change_audit(),
        "Refresh banner": lambda: data.last_refresh(),
        "_bounds": lambda: bounds("billing_statistics"),
    }


def _sample_document(data) -> tuple[str, str]:
    """A document number and a customer account of the warehouse, to look up (not timed)."""
    import duckdb

    path = data.warehouse_file().path
    with duckdb.connect(path, read_only=True) as connection:
        row = connection.execute(
            "select document_number, customer_account_id from marts.rpt_job_documents"
            " limit 1 offset (select count(*) // 2 from marts.rpt_job_documents)"
        ).fetchone()
    return (str(row[0]), str(row[1])) if row else ("", "")
