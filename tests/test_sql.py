"""billing_reports.sql: the one way Python quotes SQL literals and identifiers, checked by DuckDB itself."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from billing_reports.sql import sql_identifier, sql_string

AWKWARD = [
    "plain",
    "",
    "it's",  # a quote inside is doubled
    "''",
    "C:\\new\\table",  # a backslash is an ordinary character in standard SQL
    "a\\'b",  # a backslash before a quote escapes nothing
    "line\nbreak; drop table x; --",
    "Montréal 東京 🧾",
]


def test_literals_read_back_as_the_same_text():
    with duckdb.connect() as connection:
        for text in AWKWARD:
            assert connection.execute(f"select {sql_string(text)}").fetchone()[0] == text


def test_the_quoting_is_standard_sql():
    assert sql_string("it's") == "'it''s'"
    assert sql_string("C:\\new") == "'C:\\new'"
    assert sql_identifier('my "odd" column') == '"my ""odd"" column"'


def test_none_is_null_and_anything_else_is_its_text():
    assert sql_string(None) == "NULL"
    assert sql_string(Path("/data/it's/x.parquet")) == "'/data/it''s/x.parquet'"
    assert sql_string(42) == "'42'"


def test_identifiers_name_the_same_column():
    with duckdb.connect() as connection:
        for name in [text for text in AWKWARD if text] + ['my "odd" column']:
            connection.execute(f"create or replace table t as select 1 as {sql_identifier(name)}")
            assert [row[0] for row in connection.execute("describe t").fetchall()] == [name]
            assert connection.execute(f"select {sql_identifier(name)} from t").fetchone() == (1,)


@pytest.mark.parametrize("quote", [sql_string, sql_identifier])
def test_a_nul_character_is_refused(quote):
    with pytest.raises(ValueError, match="cannot hold a NUL character"):
        quote("a\x00b")
