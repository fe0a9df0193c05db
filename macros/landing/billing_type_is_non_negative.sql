{#- Whether values of a column type below zero are rejected (money, counts, quantities). -#}
{% macro billing_type_is_non_negative(column_type) -%}
    {{ return(billing_column_types().get(column_type, {}).get('non_negative', false)) }}
{%- endmacro %}
