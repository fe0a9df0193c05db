{#- The first file order whose rows are new in this build (1 = every row is new). -#}
{% macro billing_landing_first_new_file(table_name) %}
    {%- if not execute -%}{{ return(1) }}{%- endif -%}
    {%- set found = run_query(
        "select first_new_file_order from " ~ source('landing_state', '_landing_runs')
        ~ " where source_table = '" ~ table_name ~ "'"
    ).columns[0].values() -%}
    {{ return(found[0] if found | length > 0 else 1) }}
{% endmacro %}
