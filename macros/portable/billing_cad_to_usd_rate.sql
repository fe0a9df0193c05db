{#- The CAD -> USD rate the user entered (R9), or null. -#}
{% macro billing_cad_to_usd_rate() -%}
    {%- set rate = var('cad_to_usd_rate', none) -%}
    {%- if rate is none or rate == '' -%}
        cast(null as decimal(18, 6))
    {%- else -%}
        {%- if not modules.re.match('^[0-9]+(\.[0-9]+)?$', rate | string) or (rate | float) <= 0 -%}
            {{ exceptions.raise_compiler_error(
                "var cad_to_usd_rate must be a positive number such as 0.73, got '" ~ rate ~ "'"
            ) }}
        {%- endif -%}
        cast({{ rate | float }} as decimal(18, 6))
    {%- endif -%}
{%- endmacro %}
