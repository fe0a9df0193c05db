{#- The words naming a column type in a reject reason, e.g. 'whole number'. -#}
{% macro billing_type_words(column_type) -%}
    {{ billing_column_types().get(column_type, {}).get('words', column_type) }}
{%- endmacro %}
