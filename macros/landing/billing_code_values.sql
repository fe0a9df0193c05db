{#-
    The known values of a code column, for `not in (...)`: the column meta's `values`, or with
    `values_from: <seed>` the seed's column of the same name (the reference table holds them once).
    A model that calls it for a seed declares the seed with `-- depends_on: ref('<seed>')`.
-#}
{% macro billing_code_values(column) -%}
    {%- if column.meta.values_from -%}
        select known_values.{{ column.name }} from {{ ref(column.meta.values_from) }} as known_values
    {%- else -%}
        {%- for value in column.meta['values'] %}'{{ value }}'{{ ", " if not loop.last }}{% endfor -%}
    {%- endif -%}
{%- endmacro %}
