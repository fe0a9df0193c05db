{% macro billing_sql_string(value) -%}
    '{{ value | replace("'", "''") }}'
{%- endmacro %}
