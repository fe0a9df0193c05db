{#-
    An index for a dashboard lookup by a column the table is not stored in order of.

    rpt_job_documents is stored in document-number order, so a lookup by number reads one block
    (billing_sorted_in_slices.sql); a lookup by customer account, whose documents are spread over
    the whole table, would read every row (about 280 ms at 10M documents). On DuckDB this post-hook
    adds an ART index on the column: the lookup then reads only the matching rows (a few ms), and
    delete+insert keeps the index current in incremental builds. It runs on every build; on an
    incremental build the index already exists and the statement does nothing. Other engines have
    no such index: nothing (a lookup scans the table, as it would without it).

    The index belongs to the table (dbt builds a new table on a full build, which has none yet).
    Readers use it when the filter on the column is the query's first step (dashboards.data's
    find_documents filters in a materialized CTE: a top-N with `order by ... limit` over the whole
    table would scan it instead).
-#}
{% macro billing_lookup_index(column) %}
    {{ return(adapter.dispatch('billing_lookup_index', 'billing_reports')(column)) }}
{% endmacro %}

{% macro default__billing_lookup_index(column) %}
{% endmacro %}

{% macro duckdb__billing_lookup_index(column) %}
    {%- if execute -%}
    create index if not exists {{ this.identifier }}__{{ column }} on {{ this }} ({{ column }})
    {%- endif -%}
{% endmacro %}
