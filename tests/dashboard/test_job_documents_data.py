"""dashboards.data's job documents and document search on the hand-made dashboard warehouse
(conftest.py: DOCUMENTS, BATCHES, DELIVERIES): paging, filters and the tenant scope."""

from __future__ import annotations

import pytest


@pytest.fixture
def data_module(use_warehouse, dashboard_warehouse, service_scope):
    from dashboards import data

    use_warehouse(dashboard_warehouse)
    return data


def test_a_jobs_documents_come_a_page_at_a_time_by_document_number(data_module):
    # J1 holds D11..D14, numbered INV-D11..INV-D14: two pages of two, then nothing.
    assert data_module.job_document_count("J1") == 4
    pages = [data_module.job_document_page("J1", page=page, page_size=2)["document_id"].tolist() for page in (1, 2, 3)]
    assert pages == [["D11", "D12"], ["D13", "D14"], []]


def test_a_jobs_documents_filter_by_method_type_and_state(data_module):
    # J1: D11, D12 by US Mail in B1 (mailed 2026-03-03: sent); D13 a statement by e-mail whose latest
    # attempt bounced; D14 pulled.
    assert data_module.job_document_count("J1", delivery_methods=["us_mail"]) == 2
    assert data_module.job_document_page("J1", document_types=["statement"])["document_id"].tolist() == ["D13"]
    assert data_module.job_document_page("J1", states=["bounced_or_failed"])["document_id"].tolist() == ["D13"]
    assert data_module.job_document_page("J1", states=["pulled"])["document_id"].tolist() == ["D14"]
    assert data_module.job_document_types("J1") == ["invoice", "statement"]


def test_find_documents_by_number_or_customer_account(data_module):
    assert data_module.find_documents("INV-D23")[["job_id", "batch_id"]].values.tolist() == [["J2", "B3"]]
    assert data_module.find_documents("inv-d23")["document_id"].tolist() == ["D23"]  # found in capitals
    # CUST-M1 was billed D51 (J5) and D61 (J6), both MAPLE.
    assert data_module.find_documents("CUST-M1", by="customer_account")["document_id"].tolist() == ["D51", "D61"]
    assert data_module.find_documents("  ").empty
    assert data_module.find_documents("CUST-M1").empty  # an account is not a document number
    assert data_module.find_documents("INV-D23", client_ids=["MAPLE"]).empty


def test_a_client_user_finds_only_their_clients_documents(data_module, monkeypatch):
    from dashboards import auth

    monkeypatch.setattr(auth, "current_scope", lambda: auth.Scope("client", "marie", "MAPLE"))
    assert data_module.find_documents("INV-D23").empty  # ACME's
    assert data_module.find_documents("CUST-M1", by="customer_account")["document_id"].tolist() == ["D51", "D61"]
    assert data_module.job_document_count("J1") == 0
    assert data_module.document_deliveries(["D23"]).empty


def test_a_branch_user_sees_only_their_branches_documents_and_attempts(data_module, monkeypatch):
    from dashboards import auth

    # Ned sees ACME's NE branch only: of J2, D21 and D22 (NE), not D23 (UNASSIGNED) nor its attempts.
    monkeypatch.setattr(auth, "current_scope", lambda: auth.Scope("client", "ned", "ACME", ("NE",)))
    assert data_module.job_document_page("J2")["document_id"].tolist() == ["D21", "D22"]
    assert data_module.find_documents("INV-D23").empty
    assert data_module.document_deliveries(["D21", "D23"])["delivery_id"].tolist() == ["DL21"]
