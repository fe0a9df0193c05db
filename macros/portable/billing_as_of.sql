{#- The "now" of as-of logic (R5, R12): the `as_of` var, else the current time, as a UTC timestamp.
    billing_reports.dbt_runner hands a refresh's `as_of` to dbt in env BILLING_DBT_AS_OF instead of
    --vars: dbt parses the whole project again whenever --vars change, but only the models that read
    an env var when that var changes, so a new as_of each run keeps partial parsing. -#}
{% macro billing_as_of() -%}
    {%- set as_of = var('as_of', none) -%}
    {%- if as_of is none or as_of == '' -%}
        {%- set as_of = env_var('BILLING_DBT_AS_OF', '') -%}
    {%- endif -%}
    {%- if as_of is none or as_of == '' -%}
        cast({{ dbt.current_timestamp() }} as timestamp)
    {%- else -%}
        {%- set iso_8601 = '^[0-9]{4}-[0-9]{2}-[0-9]{2}([T ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?)?(Z|[+-][0-9]{2}(:?[0-9]{2})?)?$' -%}
        {%- if not modules.re.match(iso_8601, as_of | string) -%}
            {{ exceptions.raise_compiler_error(
                "var as_of must be an ISO 8601 timestamp such as 2026-10-31T12:00:00Z, got '" ~ as_of ~ "'"
            ) }}
        {%- endif -%}
        {{ billing_parse_timestamp("'" ~ as_of ~ "'") }}
    {%- endif -%}
{%- endmacro %}
