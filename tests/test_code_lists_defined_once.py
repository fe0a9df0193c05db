"""One definition of each code list (issue 19): the models' ``accepted_values`` tests derive from it.

The codes of the landing contract live once: in the column ``meta.values`` of
``models/staging/billing/_billing__sources.yml`` (currencies and print facilities written once there, with
YAML anchors), or in a seed for the codes that have a reference table (``values_from``: delivery channels,
job statuses, fee types, document types). A model column carrying such codes is tested with
``values: "{{ billing_source_codes('<table>', '<column>') }}"`` or with ``relationships`` to the seed, so
that adding a currency, a delivery channel or a status is a one-place change. These tests read every
``accepted_values`` in ``models/**/*.yml`` and fail on a hand-written copy.
"""

from __future__ import annotations

import re

import pytest
import yaml

from billing_reports.landing_contract import load_contract
from billing_reports.settings import PROJECT_DIR

MODELS_DIR = PROJECT_DIR / "models"

#: Literal lists that name contract codes on purpose: a business rule keeps a fixed few of them, and adding
#: a code to the contract does not change the rule. Each must stay a strict subset of its contract list.
RULE_SUBSETS = {
    ("rpt_job_approval", "current_status_code"): ("job_status_events", "status_code"),  # R7: the awaiting statuses
    ("rpt_job_activity_recipients", "role"): ("contacts", "role"),  # R11: primary_support and billing
    ("fct_documents", "delivery_method"): ("documents", "delivery_channel"),  # R1: a pulled document is pull
}


_DERIVED = re.compile(r"^\{\{\s*billing_source_codes\('(?P<table>\w+)',\s*'(?P<column>\w+)'\)\s*\}\}$")
#: Other one-place definitions: the landing table names, and a project var (dbt_project.yml) for a
#: list that models make rather than land (e.g. branch_sources).
_OTHER_MACROS = re.compile(r"^\{\{\s*(billing_landing_table_names\(\)|var\('\w+'\))\s*\}\}$")


def accepted_values_tests(document: dict, file: str) -> list[tuple[str, str, str, object]]:
    """(file, model, column, values) of every accepted_values test of a models YAML document."""
    found = []
    for model in document.get("models") or []:
        for column in model.get("columns") or []:
            for test in column.get("data_tests") or column.get("tests") or []:
                if isinstance(test, dict) and "accepted_values" in test:
                    spec = test["accepted_values"] or {}
                    values = (spec.get("arguments") or spec).get("values")
                    found.append((file, model["name"], column["name"], values))
    return found


def project_accepted_values() -> list[tuple[str, str, str, object]]:
    found = []
    for path in sorted(MODELS_DIR.rglob("*.yml")):
        relative = path.relative_to(PROJECT_DIR)
        found += accepted_values_tests(yaml.safe_load(path.read_text(encoding="utf-8")) or {}, str(relative))
    return found


def contract_code_lists() -> dict[tuple[str, str], tuple[str, ...]]:
    """{(table, column): codes} of every code column of the landing contract, seed-backed ones included."""
    return {
        (table.name, column.name): column.values
        for table in load_contract().tables.values()
        for column in table.columns
        if column.values
    }


def copies_of_contract_codes(tests, code_lists) -> list[str]:
    """The accepted_values lists written by hand that copy (part of) a contract code list, rule subsets aside."""
    problems = []
    for file, model, column, values in tests:
        if isinstance(values, str):
            continue
        written = {str(value) for value in values}
        copied_from = [key for key, codes in code_lists.items() if written <= set(codes)]
        rule = RULE_SUBSETS.get((model, column))
        if rule and rule in copied_from and written < set(code_lists[rule]):
            continue
        if copied_from:
            table, source_column = copied_from[0]
            problems.append(f"{file}: {model}.{column} copies {table}.{source_column}'s codes {sorted(written)}")
    return problems


def test_no_accepted_values_list_copies_contract_codes():
    assert copies_of_contract_codes(project_accepted_values(), contract_code_lists()) == []


def test_derived_lists_name_a_code_column_with_its_own_values():
    code_lists = contract_code_lists()
    seed_backed = {
        (table.name, column.name)
        for table in load_contract().tables.values()
        for column in table.columns
        if column.values_from
    }
    derived = [test for test in project_accepted_values() if isinstance(test[3], str)]
    assert derived, "no accepted_values reads billing_source_codes()"
    for file, model, column, values in derived:
        match = _DERIVED.match(values.strip())
        if match is None:
            assert _OTHER_MACROS.match(values.strip()), f"{file}: {model}.{column}: unknown values {values!r}"
            continue
        key = (match["table"], match["column"])
        assert key in code_lists, f"{file}: {model}.{column}: the contract has no code column {key}"
        assert key not in seed_backed, f"{file}: {model}.{column}: {key} is seed-backed: use relationships"


def test_rule_subsets_are_strict_subsets_of_their_contract_list():
    code_lists = contract_code_lists()
    tests = {(model, column): values for _, model, column, values in project_accepted_values()}
    for (model, column), source in RULE_SUBSETS.items():
        assert set(tests[(model, column)]) < set(code_lists[source]), (model, column)


def test_model_made_code_lists_are_written_once():
    seen: dict[frozenset, str] = {}
    for file, model, column, values in project_accepted_values():
        if isinstance(values, str):
            continue
        written = frozenset(str(value) for value in values)
        assert written not in seen, f"{file}: {model}.{column} repeats {seen.get(written)}: {sorted(written)}"
        seen[written] = f"{file}: {model}.{column}"


@pytest.mark.parametrize(
    ("values", "copied"),
    [
        (["USD", "CAD"], True),  # the currencies, copied
        (["email", "fax", "sml"], True),  # part of the delivery channels: adding one would miss this list
        (["AWAITING_OPS_APPROVAL", "AWAITING_CUSTOMER_APPROVAL"], True),  # a rule subset, but not on its column
        (["done", "current", "pending", "not_applicable"], False),  # a code the model makes, not the contract's
    ],
)
def test_the_check_catches_a_hand_written_copy(values, copied):
    document = {"models": [{"name": "rpt_example", "columns": [{"name": "code", "data_tests": [
        {"accepted_values": {"arguments": {"values": values}}}
    ]}]}]}  # fmt: skip
    problems = copies_of_contract_codes(accepted_values_tests(document, "example.yml"), contract_code_lists())
    assert bool(problems) is copied, problems
