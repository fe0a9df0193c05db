"""Job tracking's lookup of a customer account's documents reads them through the index that
rpt_job_documents' post-hook adds (macros/portable/billing_lookup_indexes.sql), not by a scan of
every document: the query dashboards.data sends is run again under EXPLAIN ANALYZE on the dbt
build of the hand-made landing folder (tests/fixtures/handmade.py), for operations staff and for a
client's user. At 10M documents the scan took 290 ms, the index lookup 6 ms (docs/benchmarks-notes.md)."""

from __future__ import annotations

import duckdb
import pytest

from tests.query_plans import scan_types

INDEX = "rpt_job_documents__customer_account_id"


@pytest.fixture
def data_module(use_warehouse, handmade_warehouse, service_scope):
    from dashboards import data

    use_warehouse(handmade_warehouse)
    return data


def _found_and_sent(data, monkeypatch, *args, **kwargs):
    """``data.find_documents(*args, **kwargs)`` and the (sql, params) it sent to the warehouse."""
    from dashboards.data import _jobs

    sent = []
    real = _jobs._frame

    def spy(sql, params=()):
        sent.append((sql, list(params)))
        return real(sql, params)

    monkeypatch.setattr(_jobs, "_frame", spy)
    found = data.find_documents(*args, **kwargs)
    assert len(sent) == 1
    return found, sent[0]


def _scan_of_documents(warehouse, sql: str, params: list) -> str:
    """How DuckDB read marts.rpt_job_documents for the query."""
    with duckdb.connect(str(warehouse), read_only=True) as connection:
        return scan_types(connection, sql, params)["rpt_job_documents"]


def test_the_build_indexes_rpt_job_documents_by_customer_account(handmade_warehouse):
    with duckdb.connect(str(handmade_warehouse), read_only=True) as connection:
        indexes = connection.execute(
            "select schema_name, table_name, expressions from duckdb_indexes() where index_name = ?", [INDEX]
        ).fetchall()
    assert indexes == [("marts", "rpt_job_documents", "[customer_account_id]")]


def test_a_customer_account_lookup_reads_the_index(data_module, handmade_warehouse, monkeypatch):
    # Gamma Co (A3) was billed D201 (J2), D302 (J3) and D401 (J4), by document number.
    found, (sql, params) = _found_and_sent(data_module, monkeypatch, "a3", by="customer_account")
    assert found["document_id"].tolist() == ["D302", "D201", "D401"]
    assert _scan_of_documents(handmade_warehouse, sql, params) == "Index Scan"


def test_a_client_users_lookup_reads_the_index_and_only_their_documents(data_module, handmade_warehouse, monkeypatch):
    from dashboards import auth

    client = data_module.find_documents("A3", by="customer_account")["client_id"].unique().tolist()
    assert len(client) == 1
    monkeypatch.setattr(auth, "current_scope", lambda: auth.Scope("client", "carla", client[0]))
    found, (sql, params) = _found_and_sent(data_module, monkeypatch, "A3", by="customer_account")
    assert found["document_id"].tolist() == ["D302", "D201", "D401"]
    assert _scan_of_documents(handmade_warehouse, sql, params) == "Index Scan"
    # Another client's user finds none of them.
    monkeypatch.setattr(auth, "current_scope", lambda: auth.Scope("client", "olga", "NOT-" + client[0]))
    assert data_module.find_documents("A3", by="customer_account").empty
