{#- Whether a text value is a known IANA time-zone name. -#}
{% macro billing_is_known_timezone(expression) %}
    {{ return(adapter.dispatch('billing_is_known_timezone', 'billing_reports')(expression)) }}
{% endmacro %}
{% macro default__billing_is_known_timezone(expression) -%}
    (from_utc_timestamp(timestamp '2000-01-01 00:00:00', {{ expression }}) is not null)
{%- endmacro %}
{% macro duckdb__billing_is_known_timezone(expression) -%}
    ({{ expression }} in (select zones.name from pg_timezone_names() as zones))
{%- endmacro %}
