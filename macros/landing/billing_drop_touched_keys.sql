{#- on-run-end of `dbt build` and `dbt run`. A refresh that runs the data tests in one batch after
    the build (billing_reports/dbt_batch.py, env BILLING_DBT_TEST_BATCH) keeps the tables for the
    scoped tests and drops them afterwards with `dbt run-operation billing_drop_touched_keys
    --args '{force: true}'`. -#}
{% macro billing_drop_touched_keys(force=false) %}
    {{ return(adapter.dispatch('billing_drop_touched_keys', 'billing_reports')(force)) }}
{% endmacro %}

{% macro default__billing_drop_touched_keys(force=false) %}
    {% set batch_after = env_var('BILLING_DBT_TEST_BATCH', '') == '1' %}
    {% if execute and (force or (flags.WHICH in ['build', 'run'] and not batch_after)) %}
        {% set found = run_query(
            "select table_name from duckdb_tables() where database_name = current_database() "
            ~ "and schema_name = 'raw' and starts_with(table_name, '_touched_')"
        ).columns[0].values() %}
        {% for table_name in found %}
            {% do run_query('drop table raw.' ~ table_name) %}
        {% endfor %}
    {% endif %}
    select 1
{% endmacro %}
