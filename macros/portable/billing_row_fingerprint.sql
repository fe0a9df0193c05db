{#- A stable fingerprint of a row's text values (nulls distinguished from empty text). -#}
{% macro billing_row_fingerprint(columns) -%}
    md5({{ billing_group_key(columns) }})
{%- endmacro %}
