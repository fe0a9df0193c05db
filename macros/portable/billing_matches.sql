{#- Whether a text value matches a regular expression in full. -#}
{% macro billing_matches(expression, pattern) %}
    {{ return(adapter.dispatch('billing_matches', 'billing_reports')(expression, pattern)) }}
{% endmacro %}
{% macro default__billing_matches(expression, pattern) -%}
    ({{ expression }} rlike '^(?:{{ pattern }})$')
{%- endmacro %}
{% macro duckdb__billing_matches(expression, pattern) -%}
    regexp_full_match({{ expression }}, '{{ pattern }}')
{%- endmacro %}
