"""The dashboard's data access: SQL only in the package dashboards/data, only against marts, parameterised,
read-only per query, and a new publish of the warehouse shows at once."""

from __future__ import annotations

import ast
import os
import re
import shutil
import time
from datetime import date
from pathlib import Path

import duckdb
import pytest

from tests.dashboard.conftest import PROJECT_DIR, build_warehouse

DASHBOARDS = PROJECT_DIR / "dashboards"
#: The dashboard's one data module: the package dashboards/data (its __init__ and private modules).
DATA_MODULES = sorted((DASHBOARDS / "data").glob("*.py"))
#: The helpers of dashboards.data that read a relation named by their first argument.
READS_ITS_FIRST_ARGUMENT = {"_with_client_names", "_distinct"}
RELATION = re.compile(r"\b(?:from|join)\s+([A-Za-z_][\w.]*)", re.IGNORECASE)


def sql_strings(path: Path) -> list[str]:
    """The SQL text of a module: its string constants (f-string parts included) that hold a select."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.FunctionDef | ast.ClassDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    texts = []
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr):
            # An interpolated fragment stands as "{}", so that "from {model} left join" is not read as "from left".
            texts.append("".join(part.value if isinstance(part, ast.Constant) else "{}" for part in node.values))
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
            texts.append(node.value)
    return [text for text in texts if re.search(r"\bselect\b", text, re.IGNORECASE)]


def relations_read(paths: list[Path]) -> set[str]:
    """The relations the SQL of some modules reads: those named after from/join in their SQL text,
    and the first argument of every call of a helper that builds the query around it."""
    relations = set()
    for path in paths:
        relations |= {name for text in sql_strings(path) for name in RELATION.findall(text)}
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id in READS_ITS_FIRST_ARGUMENT
            ):
                assert isinstance(node.args[0], ast.Constant), f"{path.name}: {ast.unparse(node)} reads a computed name"
                relations.add(node.args[0].value)
    return relations


def string_literals(path: Path) -> list[str]:
    """Every string literal of a module (the constant parts of f-strings included)."""
    texts = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            texts.append(node.value)
    return texts


LOOKS_LIKE_SQL = re.compile(r"\bselect\b.*\bfrom\b|\b(from|join)\s+(marts|ops|main)\.|\bmarts\.\w", re.I | re.S)


@pytest.mark.parametrize(
    "path",
    sorted([*DASHBOARDS.glob("app_pages/*.py"), DASHBOARDS / "app.py", DASHBOARDS / "ui.py", DASHBOARDS / "auth.py"]),
    ids=lambda path: str(path.relative_to(DASHBOARDS)),
)
def test_pages_hold_no_sql(path):
    queries = [text for text in string_literals(path) if LOOKS_LIKE_SQL.search(text)]
    assert not queries, f"{path.name} holds SQL {queries}: queries belong in dashboards/data"
    source = path.read_text(encoding="utf-8")
    assert "import duckdb" not in source and ".execute(" not in source and ".sql(" not in source


def test_the_sql_check_would_catch_a_query_in_a_page(tmp_path):
    page = tmp_path / "page.py"
    page.write_text('frame = run("""\n    select bill_count\n    from marts.rpt_billing_statistics\n""")\n')
    assert [text for text in string_literals(page) if LOOKS_LIKE_SQL.search(text)]


@pytest.mark.parametrize(
    "paths",
    [DATA_MODULES, [PROJECT_DIR / "billing_reports" / "activity_report.py"]],
    ids=["dashboards.data", "activity_report.py"],
)
def test_data_access_reads_only_marts_and_the_refresh_runs(paths):
    statements = [text for path in paths for text in sql_strings(path)]
    assert statements, f"no SQL found in {paths}"
    relations = relations_read(paths)
    assert relations, statements
    # ops.refresh_runs for the banner; the data-quality page (operations users only) reads two more;
    # a Job tracking lookup by customer account first reads the narrow account-ordered table.
    ops = (
        {"ops.refresh_runs", "ops.landing_accounting", "ops.rejected_rows", "lookup.lookup_documents_by_account"}
        if paths == DATA_MODULES
        else set()
    )
    outside = {name for name in relations if not name.startswith("marts.") and name not in ops}
    assert not outside, f"{paths} read {outside}; the dashboard reads schema marts only"
    for text in statements:
        assert not re.search(r"\b(insert|update|delete|create|drop|attach|copy)\b", text, re.IGNORECASE), text


def test_the_relation_check_sees_the_models_a_helper_reads():
    # billing_statistics names its model only as _with_client_names' first argument.
    assert "marts.rpt_billing_statistics" in relations_read([DASHBOARDS / "data" / "_billing.py"])
    assert "marts.rpt_customer_routing" in relations_read([DASHBOARDS / "data" / "_billing.py"])


def test_data_access_never_formats_values_into_sql():
    sources = [path.read_text(encoding="utf-8") for path in DATA_MODULES]
    interpolated = set()
    for node in (node for source in sources for node in ast.walk(ast.parse(source))):
        if isinstance(node, ast.JoinedStr):
            text = "".join(part.value for part in node.values if isinstance(part, ast.Constant))
            if re.search(r"\bselect\b|\?", text, re.IGNORECASE):
                interpolated |= {
                    ast.unparse(part.value) for part in node.values if isinstance(part, ast.FormattedValue)
                }
    # Values are bound with ?; what is interpolated is a constant fragment built in the module.
    # (_with_client_names' select_list and order_by are joined from the constant lists its callers pass.)
    assert interpolated == {"where.sql", "column", "model", "select_list", "order_by"}, interpolated
    assert not any(".format(" in source or "% (" in source for source in sources)


@pytest.fixture
def data_module(use_warehouse, dashboard_warehouse, service_scope):
    from dashboards import data

    use_warehouse(dashboard_warehouse)
    return data


def test_a_hostile_filter_value_is_bound_not_run(data_module):
    frame = data_module.billing_statistics(client_ids=["ACME' or '1'='1"])
    assert frame.empty
    frame = data_module.jobs(search="'; drop table marts.rpt_job_tracking; --")
    assert frame.empty
    assert len(data_module.jobs()) == 7  # still there


def test_an_empty_client_list_means_no_client_and_none_means_every_client(data_module):
    assert data_module.billing_statistics(client_ids=[]).empty
    assert data_module.billing_statistics(client_ids=None)["bill_count"].sum() == 14
    assert data_module.billing_statistics(client_ids=["MAPLE"])["bill_count"].sum() == 2


def test_every_query_function_takes_client_ids():
    import inspect

    from dashboards import data

    public = [getattr(data, name) for name in data.__all__ if inspect.isfunction(getattr(data, name))]
    assert len(public) > 30, "dashboards.data.__all__ names the functions the pages call"
    # The data-quality tables (ops users only) are not per client: a rejected row may have no client.
    takes_no_clients = {
        "clear_caches",
        "warehouse_file",
        "last_refresh",
        "current_scope",
        "refresh_runs",
        "landing_accounting",
        "rejected_rows",
    }
    for function in public:
        if function.__name__ not in takes_no_clients:
            assert "client_ids" in inspect.signature(function).parameters, function.__name__


def test_queries_share_one_connection_and_leave_none_open_when_idle(data_module, dashboard_warehouse, monkeypatch):
    from dashboards.data import _warehouse

    monkeypatch.setattr(_warehouse, "READER_IDLE_SECONDS", 0.2)
    _warehouse._READERS.close()
    opened = _warehouse._READERS.opened
    data_module.billing_statistics(start=date(2026, 3, 1), end=date(2026, 3, 31))
    data_module.job_activity("J1")
    data_module.last_refresh()
    data_module.jobs()
    # Four reads of one publish: the file was opened once, not once per query.
    assert _warehouse._READERS.opened - opened == 1
    # A read-write open in this process fails while any read-only connection to the file is
    # open: once the dashboard is idle, nothing holds it.
    time.sleep(1.0)
    connection = duckdb.connect(str(dashboard_warehouse))
    connection.close()


def test_one_reaper_thread_closes_the_idle_connection_however_many_queries_ran(dashboard_warehouse, monkeypatch):
    import threading

    from dashboards.data import _warehouse

    monkeypatch.setattr(_warehouse, "READER_IDLE_SECONDS", 0.3)
    readers = _warehouse._Readers()  # a fresh one, not the shared _READERS of the other tests
    path = str(dashboard_warehouse)
    threads_before = threading.active_count()
    for _ in range(20):  # 20 busy-then-idle transitions
        with readers.cursor(path, _warehouse._fingerprint(path)) as cursor:
            assert cursor.execute("select count(*) from marts.dim_clients").fetchone() == (3,)  # ACME, MAPLE, BOLT
    # One connection for the 20 queries and one thread to close it (not a timer per query).
    assert readers.opened == 1
    assert threading.active_count() - threads_before == 1
    time.sleep(1.0)
    # Idle for longer than READER_IDLE_SECONDS: closed, so a writer in this process may open the file.
    duckdb.connect(path).close()
    with readers.cursor(path, _warehouse._fingerprint(path)) as cursor:  # and a later query opens it again
        cursor.execute("select 1")
    assert readers.opened == 2
    assert threading.active_count() - threads_before == 1
    readers.close()


def test_a_new_publish_shows_without_waiting_for_the_cache(use_warehouse, dashboard_warehouse, tmp_path, service_scope):
    from dashboards import data

    published = use_warehouse(tmp_path / "billing.duckdb")
    shutil.copy(dashboard_warehouse, published)
    assert data.billing_statistics()["bill_count"].sum() == 14

    # A refresh builds a new file and renames it over the published one.
    staged = tmp_path / "staged.duckdb"
    shutil.copy(dashboard_warehouse, staged)
    connection = duckdb.connect(str(staged))
    connection.execute("delete from marts.rpt_billing_statistics where client_id = 'MAPLE'")
    connection.close()
    os.replace(staged, published)

    assert data.billing_statistics()["bill_count"].sum() == 12


def test_the_refresh_time_is_the_last_successful_run(use_warehouse, tmp_path):
    from datetime import UTC, datetime, timedelta

    from dashboards import data

    finished = datetime(2026, 3, 31, 6, 0, tzinfo=UTC)
    use_warehouse(build_warehouse(tmp_path / "billing.duckdb", with_rows=False, refreshed_at=finished))
    info = data.last_refresh(now=finished + timedelta(hours=27))
    assert (info.refreshed_at, info.source) == (finished, "refresh_runs")  # not the failed run after it
    assert info.is_stale
    assert not data.last_refresh(now=finished + timedelta(hours=25)).is_stale


def test_the_default_date_range_ends_at_the_latest_date_in_the_data(data_module):
    assert data_module.default_date_range("billing_statistics") == (date(2026, 2, 19), date(2026, 3, 20))
    assert data_module.default_date_range("branch_billing") == (date(2026, 2, 14), date(2026, 3, 15))
    with pytest.raises(ValueError):
        data_module.date_bounds("rpt_billing_statistics; drop table x")


def test_the_handmade_marts_match_the_model_contracts():
    """The hand-made warehouse has the columns (and types) of the public models' contracts."""
    import yaml

    from tests.dashboard.conftest import MART_TABLES

    contracts = {}
    for path in (PROJECT_DIR / "models" / "marts").rglob("_*.yml"):
        for model in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("models") or []:
            if model.get("columns"):
                contracts[model["name"]] = [
                    (column["name"], str(column.get("data_type", "")).lower().replace(" ", ""))
                    for column in model["columns"]
                ]
    checked = 0
    for table, columns in MART_TABLES.items():
        if table not in contracts:
            continue
        handmade = [
            (name, data_type.lower().replace(" ", ""))
            for name, data_type in (part.strip().split(None, 1) for part in re.split(r",\s*(?![^()]*\))", columns))
        ]
        assert handmade == contracts[table], f"tests/dashboard/conftest.py: {table} no longer matches its contract"
        checked += 1
    assert checked, "no enforced model contract under models/marts matched a hand-made table"
