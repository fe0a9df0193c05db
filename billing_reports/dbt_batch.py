"""``dbt build`` on DuckDB with the data tests run as one batch: the child process of ``run_dbt(..., batch_tests=True)``.

A data test's SQL takes about a millisecond on the tables an incremental refresh writes, but dbt
spends some 30 ms of its own on each test node (compiling it, rendering the test materialization,
events, a connection per node), and two threads do not help with work that holds Python's lock: at
1M documents the 450 data tests were 14 s of node time in a graph of 15 s. So this child, in one
process and one parse:

1. builds everything but the data tests (``dbt build --exclude-resource-type test``), keeping the
   ``raw._touched_*`` tables an incremental build writes (env ``BILLING_DBT_TEST_BATCH``; the
   scoped tests read them, macros/landing/billing_test_scope.sql);
2. compiles the data tests (``dbt compile --select resource_type:test``) with the parsed manifest,
   or takes their compiled SQL from the previous batch's when nothing it depends on changed (the
   checksum of every file dbt parsed, dbt_project.yml and profiles.yml, the package versions, the
   arguments and vars, and every ``BILLING_*`` and ``DBT_*`` environment variable; no test runs a
   query while it compiles, so the SQL does not depend on the data);
3. runs each test's compiled SQL on dbt's own DuckDB connection, wrapped and judged as dbt's test
   materialization does (``get_test_sql``: ``fail_calc``, ``warn_if``, ``error_if``, ``limit``;
   ``TestRunner.build_test_run_result``: ``severity``), so every test passes, warns or fails exactly
   as it would as a node;
4. drops the ``raw._touched_*`` tables (``billing_drop_touched_keys``) and writes one
   ``run_results.json`` with the build's results and every test's, which ``run_dbt`` reads as usual.

The tests are the project's, selected and compiled by dbt: nothing is written twice. What changes is
that the models are all built before any test runs (``dbt build`` skips the models downstream of a
failed test); a refresh publishes nothing unless every error test passed, so what readers can see is
the same. ``tests/refresh/test_dbt_batch.py`` proves the batch finds the failures ``dbt build`` finds.

Usage (``run_dbt`` builds the arguments): ``python -m billing_reports.dbt_batch <arguments of every
dbt command: --project-dir, --target-path, --vars ...> -- <arguments of the build only>``. Exit code 0
when every node passed or warned, 1 otherwise.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

#: Set for the child: billing_drop_touched_keys keeps the raw._touched_* tables at the build's end and
#: billing_tests_scoped scopes the tests that `dbt compile` writes, as it would in the build.
BATCH_ENV = "BILLING_DBT_TEST_BATCH"
#: The compiled SQL of the data tests, by what it depends on, in dbt's target folder.
CACHE_FILE = "billing_test_batch.json"


def _option(args: list[str], name: str, default: str) -> str:
    return args[args.index(name) + 1] if name in args and args.index(name) + 1 < len(args) else default


def _test_sql(node, compiled_code: str) -> str:
    """The query dbt's test materialization runs for a test node (dbt's ``default__get_test_sql``)."""
    config = node.config
    limit = f"\n      limit {config.limit}" if config.limit is not None else ""
    return (
        f"select {config.fail_calc} as failures, {config.fail_calc} {config.warn_if} as should_warn, "
        f"{config.fail_calc} {config.error_if} as should_error\n"
        f"from (\n{compiled_code}{limit}\n) dbt_internal_test"
    )


def _judge(node, failures: int, should_warn: bool, should_error: bool) -> tuple[str, str | None]:
    """(status, message) as dbt's ``TestRunner.build_test_run_result`` gives them (no --warn-error)."""
    config = node.config
    count = f"{failures} result{'' if failures == 1 else 's'}"
    if config.severity.upper() == "ERROR" and should_error:
        return "fail", f"Got {count}, configured to fail if {config.error_if}"
    if should_warn:
        return "warn", f"Got {count}, configured to warn if {config.warn_if}"
    return "pass", None


def _result(unique_id: str, status: str, seconds: float, message: str | None, failures, sql: str | None) -> dict:
    """One entry of run_results.json, in dbt's shape."""
    return {
        "unique_id": unique_id,
        "status": status,
        "timing": [],
        "thread_id": "billing_test_batch",
        "execution_time": seconds,
        "adapter_response": {},
        "message": message,
        "failures": failures,
        "compiled": sql is not None,
        "compiled_code": sql,
        "relation_name": None,
        "batch_results": None,
    }


def run_tests(tests: list[tuple], say) -> list[dict]:
    """Run ``(node, compiled SQL or None, compile error or None)`` data tests on dbt's DuckDB
    connection; their run_results entries."""
    from dbt.adapters.factory import get_adapter_by_type

    adapter = get_adapter_by_type("duckdb")
    results = []
    with adapter.connection_named("billing_test_batch"):
        for number, (node, compiled_code, compile_error) in enumerate(tests, start=1):
            started = time.perf_counter()
            if compiled_code is None:
                status, message, failures = "error", compile_error or "the test did not compile", None
            else:
                try:
                    _, table = adapter.execute(_test_sql(node, compiled_code), fetch=True)
                    row = table.rows[0]
                    status, message = _judge(node, int(row[0] or 0), bool(row[1]), bool(row[2]))
                    failures = int(row[0] or 0) if status != "pass" else 0  # dbt reports 0 for a pass
                except Exception as error:  # noqa: BLE001 - a database error is this test's result, as in dbt
                    status, message, failures = "error", str(error).strip(), None
            seconds = time.perf_counter() - started
            say(f"{number} of {len(tests)} {status.upper()} {node.name} [{seconds:.2f}s]")
            if message and status != "pass":
                say(f"  {node.unique_id}: {message}")
            results.append(_result(node.unique_id, status, seconds, message, failures, compiled_code))
    return results


def _cache_key(manifest, common: list[str]) -> str:
    """What the compiled SQL of the data tests depends on (module docstring, step 2)."""
    import hashlib

    from billing_reports.dbt_runner import package_versions

    digest = hashlib.sha256()
    digest.update(json.dumps(common).encode())
    digest.update(package_versions().encode())
    for name in sorted(os.environ):
        if name.startswith(("BILLING_", "DBT_")):
            digest.update(f"{name}={os.environ[name]}\n".encode())
    for option, file_name in (("--project-dir", "dbt_project.yml"), ("--profiles-dir", "profiles.yml")):
        digest.update((Path(_option(common, option, ".")) / file_name).read_bytes())
    for file_id in sorted(manifest.files):
        digest.update(f"{file_id}:{manifest.files[file_id].checksum.checksum}\n".encode())
    return digest.hexdigest()


def _compiled_tests(runner, manifest, common: list[str], cache_path: Path, say) -> list[tuple] | None:
    """The data tests as ``(node, compiled SQL, compile error)``, from the cache or ``dbt compile``;
    None when dbt compile itself failed."""
    nodes = sorted(
        (node for node in manifest.nodes.values() if node.resource_type == "test"), key=lambda node: node.unique_id
    )
    key = _cache_key(manifest, common)
    try:
        cache = json.loads(cache_path.read_text())
    except (OSError, ValueError):
        cache = {}
    cached = cache.get(key)
    if isinstance(cached, dict) and set(cached) == {node.unique_id for node in nodes}:
        say(
            f"the data tests' compiled SQL is the previous batch's ({len(nodes)} tests; nothing they depend on changed)"
        )
        return [(node, cached[node.unique_id], None) for node in nodes]
    say("compiling the data tests, to run them in one batch")
    compiled = runner.invoke(["compile", "--select", "resource_type:test", "--quiet", *common])
    if compiled.result is None:
        say(f"dbt compile of the data tests failed: {compiled.exception}")
        return None
    by_id = {item.node.unique_id: item for item in compiled.result.results if item.node.resource_type == "test"}
    tests = []
    for node in nodes:
        item = by_id.get(node.unique_id)
        error = None if item is not None and item.status != "error" else (item.message if item else "not compiled")
        tests.append((item.node if item else node, item.node.compiled_code if item and not error else None, error))
    if all(sql is not None for _, sql, _ in tests):
        # The last few keys only (a refresh alternates at most between a full and an incremental build).
        kept = dict(list(cache.items())[-3:]) if isinstance(cache, dict) else {}
        kept[key] = {node.unique_id: sql for node, sql, _ in tests}
        try:
            cache_path.write_text(json.dumps(kept))
        except OSError as error:  # the cache only saves time: the tests run all the same
            say(f"could not keep the data tests' compiled SQL in {cache_path}: {error}")
    return tests


def _run_results(target: Path) -> dict:
    """The run_results.json dbt just wrote, or an empty one when it wrote none (dbt then said why)."""
    try:
        return json.loads((target / "run_results.json").read_text())
    except (OSError, ValueError):
        return {"results": []}


def main(argv: list[str]) -> int:
    from dbt.cli.main import dbtRunner

    common, build_only = (argv[: argv.index("--")], argv[argv.index("--") + 1 :]) if "--" in argv else (argv, [])
    # Output flags given for the build hold for every command of the batch.
    common += [flag for flag in build_only if flag in ("--no-use-colors", "--use-colors")]
    os.environ[BATCH_ENV] = "1"
    say = lambda line: print(line, flush=True)  # noqa: E731 - the parent reads stdout line by line
    target = Path(_option(common, "--target-path", "target"))
    started = time.perf_counter()
    # The parent reads this run's run_results.json: never a previous run's, whatever fails below.
    (target / "run_results.json").unlink(missing_ok=True)
    parsed = dbtRunner().invoke(["parse", *common])
    if not parsed.success:
        say(f"dbt parse failed: {parsed.exception or 'see the messages above'}")
        return 1
    runner = dbtRunner(manifest=parsed.result)
    run_results = None
    try:
        build = runner.invoke(["build", "--exclude-resource-type", "test", *build_only, *common])
        run_results = _run_results(target)
        if not build.success:
            return 1
        if any(node.config.store_failures for node in parsed.result.nodes.values() if node.resource_type == "test"):
            # The batch does not write failure tables: such a project's tests run as dbt nodes
            # (`dbt test`, every row; the raw._touched_* tables are still there).
            say("a data test stores its failures (store_failures): the data tests run as dbt nodes")
            tested = runner.invoke(["test", *build_only, *common])
            run_results["results"] += _run_results(target)["results"]
            return 0 if tested.success else 1
        compiled = _compiled_tests(runner, parsed.result, common, target / CACHE_FILE, say)
        if compiled is None:
            run_results["results"].append(
                _result("compile of the data tests", "error", 0.0, "dbt compile failed (see above)", None, None)
            )
            return 1
        tests_started = time.perf_counter()
        tests = run_tests(compiled, say)
        run_results["results"] += tests
        counts: dict[str, int] = {}
        for item in tests:
            counts[item["status"]] = counts.get(item["status"], 0) + 1
        say(
            f"data tests in one batch: {len(tests)} in {time.perf_counter() - tests_started:.1f} s ("
            + ", ".join(f"{count} {status}" for status, count in sorted(counts.items()))
            + ")"
        )
        return 0 if all(item["status"] in ("pass", "warn") for item in tests) else 1
    finally:
        if any(macro.name == "billing_drop_touched_keys" for macro in parsed.result.macros.values()):
            runner.invoke(["run-operation", "billing_drop_touched_keys", "--args", "{force: true}", "--quiet", *common])
        if run_results is not None:
            run_results["elapsed_time"] = time.perf_counter() - started
            (target / "run_results.json").write_text(json.dumps(run_results))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
