{#- A text value parsed as an ISO 8601 timestamp (Z, an offset, or none = UTC), returned as a UTC timestamp; null when it does not parse. -#}
{% macro billing_parse_timestamp(expression) %}
    {{ return(adapter.dispatch('billing_parse_timestamp', 'billing_reports')(expression)) }}
{% endmacro %}
{% macro default__billing_parse_timestamp(expression) -%}
    to_utc_timestamp(try_cast({{ expression }} as timestamp), 'UTC')
{%- endmacro %}
{% macro duckdb__billing_parse_timestamp(expression) -%}
    cast(timezone('UTC', try_cast({{ expression }} as timestamptz)) as timestamp)
{%- endmacro %}
