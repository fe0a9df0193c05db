{#- A wall-clock time of an IANA time zone as a UTC timestamp (across daylight-saving changes). -#}
{% macro billing_local_to_utc(local_expression, timezone_expression) %}
    {{ return(adapter.dispatch('billing_local_to_utc', 'billing_reports')(local_expression, timezone_expression)) }}
{% endmacro %}
{% macro default__billing_local_to_utc(local_expression, timezone_expression) -%}
    to_utc_timestamp({{ local_expression }}, {{ timezone_expression }})
{%- endmacro %}
{% macro duckdb__billing_local_to_utc(local_expression, timezone_expression) -%}
    cast(timezone('UTC', timezone({{ timezone_expression }}, cast({{ local_expression }} as timestamp))) as timestamp)
{%- endmacro %}
