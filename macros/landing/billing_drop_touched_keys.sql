{% macro billing_drop_touched_keys() %}
    {{ return(adapter.dispatch('billing_drop_touched_keys', 'billing_reports')()) }}
{% endmacro %}

{% macro default__billing_drop_touched_keys() %}
    {% if execute and flags.WHICH in ['build', 'run'] %}
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
