{#- A UTC timestamp seen on the wall clock of an IANA time zone (a timestamp without zone). -#}
{% macro billing_utc_to_local(timestamp_expression, timezone_expression) %}
    {{ return(adapter.dispatch('billing_utc_to_local', 'billing_reports')(timestamp_expression, timezone_expression)) }}
{% endmacro %}
{% macro default__billing_utc_to_local(timestamp_expression, timezone_expression) -%}
    from_utc_timestamp({{ timestamp_expression }}, {{ timezone_expression }})
{%- endmacro %}
{% macro duckdb__billing_utc_to_local(timestamp_expression, timezone_expression) -%}
    cast(timezone({{ timezone_expression }}, timezone('UTC', {{ timestamp_expression }})) as timestamp)
{%- endmacro %}
