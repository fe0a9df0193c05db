"""Job tracking's lookup of a customer account's documents goes through
lookup.lookup_documents_by_account (models/lookup/), a narrow table in customer-account order,
instead of scanning every document of rpt_job_documents: on the dbt build of the hand-made landing
folder (tests/fixtures/handmade.py), the table holds each document once, in account order, and
the dashboard's lookup reads the account's numbers from it, then those documents, still within
the user's scope. A warehouse without the table (the hand-made dashboard warehouse of
test_job_documents_data.py) is scanned as before."""

from __future__ import annotations

import duckdb
import pytest


@pytest.fixture
def data_module(use_warehouse, handmade_warehouse, service_scope):
    from dashboards import data

    use_warehouse(handmade_warehouse)
    return data


def _found_and_sent(data, monkeypatch, *args, **kwargs):
    """``data.find_documents(*args, **kwargs)`` and the (sql, params) of each query it sent."""
    from dashboards.data import _jobs

    sent = []
    real = _jobs._frame

    def spy(sql, params=()):
        sent.append((" ".join(sql.split()), list(params)))
        return real(sql, params)

    monkeypatch.setattr(_jobs, "_frame", spy)
    return data.find_documents(*args, **kwargs), sent


def test_the_lookup_table_holds_every_document_once_in_account_order(handmade_warehouse):
    with duckdb.connect(str(handmade_warehouse), read_only=True) as connection:
        stored = connection.execute(
            "select customer_account_id, client_id, document_number, document_id from lookup.lookup_documents_by_account"
        ).fetchall()
        documents = connection.execute(
            "select customer_account_id, client_id, document_number, document_id from marts.rpt_job_documents"
        ).fetchall()
    assert sorted(stored, key=str) == sorted(documents, key=str)
    assert len(stored) == len(documents) > 10
    # Stored in account order (nulls last), which is what lets a lookup read one block.
    assert stored == sorted(stored, key=lambda row: (row[0] is None, row[0] or "", row[1], row[2], row[3]))
    # Gamma Co (A3) was billed D201 (INV-201), D302 (CM-302) and D401 (INV-401).
    assert [row[2:] for row in stored if row[0] == "A3"] == [
        ("CM-302", "D302"),
        ("INV-201", "D201"),
        ("INV-401", "D401"),
    ]


def test_a_customer_account_lookup_reads_the_account_numbers_then_those_documents(data_module, monkeypatch):
    found, sent = _found_and_sent(data_module, monkeypatch, "a3", by="customer_account")
    assert found["document_id"].tolist() == ["D302", "D201", "D401"]  # by document number
    (first, first_params), (second, second_params) = sent
    assert "from lookup.lookup_documents_by_account" in first and first_params[-2:] == ["a3", "A3"]
    assert "from marts.rpt_job_documents" in second
    assert ("CM-302", "INV-201", "INV-401") in [
        tuple(sorted(value)) for value in second_params if isinstance(value, tuple)
    ]


def test_a_client_users_account_lookup_stays_in_their_client(data_module, monkeypatch):
    from dashboards import auth

    client = data_module.find_documents("A3", by="customer_account")["client_id"].unique().tolist()
    assert len(client) == 1
    monkeypatch.setattr(auth, "current_scope", lambda: auth.Scope("client", "carla", client[0]))
    found, sent = _found_and_sent(data_module, monkeypatch, "A3", by="customer_account")
    assert found["document_id"].tolist() == ["D302", "D201", "D401"]
    assert all(client[0] in params for _, params in sent)  # both queries carry the user's client
    # Another client's user: no number from the lookup table, and no document.
    monkeypatch.setattr(auth, "current_scope", lambda: auth.Scope("client", "olga", "NOT-" + client[0]))
    found, sent = _found_and_sent(data_module, monkeypatch, "A3", by="customer_account")
    assert found.empty
    assert () in [value for value in sent[1][1] if isinstance(value, tuple)]


def test_an_unknown_account_finds_nothing(data_module):
    assert data_module.find_documents("NOPE-1", by="customer_account").empty
