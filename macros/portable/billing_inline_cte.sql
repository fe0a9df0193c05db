{#-
    The hint that a CTE is to be inlined where it is read, not computed once and stored: `as
    {{ billing_inline_cte() }} (...)`. DuckDB stores (materializes) a CTE that a query reads more
    than once. For the judging CTEs of a large raw table (every landed row, every parsed column)
    that store is the size of the table: at 100M documents it spilled more than 40 GB of temporary
    files and filled the disk. Inlined, DuckDB scans the raw table again for each read, which
    costs less than writing it out (1M documents: 0.7 s against 1.0 to 1.2 s for
    base_billing__documents, the same rows). Engines without the hint (Spark) get nothing, and
    plan CTEs their own way.
-#}
{% macro billing_inline_cte() %}
    {{ return(adapter.dispatch('billing_inline_cte', 'billing_reports')()) }}
{% endmacro %}

{% macro default__billing_inline_cte() -%}
{%- endmacro %}

{% macro duckdb__billing_inline_cte() -%}
    not materialized
{%- endmacro %}
