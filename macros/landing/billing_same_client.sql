{#- Whether a reference column must name a parent of the row's own client (column meta `same_client`). -#}
{% macro billing_same_client(columns, column_name) -%}
    {%- set found = [] -%}
    {%- for column in columns if column.name == column_name and column.meta.same_client -%}
        {%- do found.append(column.name) -%}
    {%- endfor -%}
    {{ return(found | length > 0) }}
{%- endmacro %}
