{#-
    The codes a code column of the landing contract accepts, from its column `meta.values` in
    models/staging/billing/_billing__sources.yml (the one definition), for the `accepted_values`
    tests of the models that carry the column on: `values: "{{ billing_source_codes('batches',
    'batch_type') }}"`. Empty while dbt only parses (no graph yet); tests render it when they run.
    A column whose codes live in a seed (`values_from`) is tested with `relationships` to the seed.
-#}
{% macro billing_source_codes(table_name, column_name) -%}
    {%- set node = billing_source_node(table_name) -%}
    {%- if node is none -%}{{ return([]) }}{%- endif -%}
    {%- set column = node.columns.get(column_name) -%}
    {%- if column is none or not column.meta.get('values') -%}
        {{ exceptions.raise_compiler_error(
            'billing_source_codes: ' ~ table_name ~ '.' ~ column_name ~ ' has no meta values in the '
            ~ 'billing source (a seed-backed code is tested with relationships to its seed)'
        ) }}
    {%- endif -%}
    {{ return(column.meta['values']) }}
{%- endmacro %}
