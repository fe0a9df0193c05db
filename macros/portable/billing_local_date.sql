{#- The client-local calendar date of a UTC timestamp (R3). -#}
{% macro billing_local_date(timestamp_expression, timezone_expression) -%}
    cast({{ billing_utc_to_local(timestamp_expression, timezone_expression) }} as date)
{%- endmacro %}
