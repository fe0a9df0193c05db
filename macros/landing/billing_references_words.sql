{#- The table a column's values must exist in (its `references` meta), for a reject reason. -#}
{% macro billing_references_words(columns, column_name) -%}
    {%- for column in columns if column.name == column_name -%}{{ column.meta.references }}{%- endfor -%}
{%- endmacro %}
