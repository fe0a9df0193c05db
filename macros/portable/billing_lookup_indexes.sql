{#-
    Indexes for dashboard lookups by a column a table is not stored in order of.

    rpt_job_documents is stored in document-number order, so a lookup by number reads one block
    (billing_sorted_in_slices.sql); a lookup by customer account, whose documents are spread over
    the whole table, would read every row (about 290 ms at 10M documents). A model names such
    columns in its config, `meta={'lookup_indexes': ['customer_account_id']}`, and calls this as a
    post-hook. On DuckDB it adds an ART index per column, named `<table>__<column>`: the lookup then
    reads only the matching rows (a few ms), and delete+insert keeps the index current in
    incremental builds. It runs on every build (`create index if not exists`: on an incremental
    build the index already exists and the statement does nothing). Other engines have no such
    index: nothing here; a Spark build's tables get the same indexes when they are copied into the
    DuckDB file (billing_reports.spark_warehouse reads the same meta from the manifest).

    Readers use an index when the filter on its column is the only filter of the table's scan
    (dashboards.data's find_documents filters in a materialized CTE first: a top-N such as
    `order by ... limit` over the whole table would scan it instead).
-#}
{% macro billing_lookup_indexes() %}
    {{ return(adapter.dispatch('billing_lookup_indexes', 'billing_reports')()) }}
{% endmacro %}

{% macro default__billing_lookup_indexes() %}
{% endmacro %}

{% macro duckdb__billing_lookup_indexes() %}
    {%- if execute -%}
    {%- for column in (config.get('meta') or {}).get('lookup_indexes', []) %}
    create index if not exists {{ this.identifier }}__{{ column }} on {{ this }} ({{ column }});
    {%- endfor -%}
    {%- endif -%}
{% endmacro %}
