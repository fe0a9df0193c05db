{#- The read_csv options of the landing files (source meta `csv_options`). -#}
{% macro billing_csv_options() -%}
    {%- for node in graph.sources.values() if node.source_name == 'billing' -%}
        {{ return(node.source_meta.csv_options) }}
    {%- endfor -%}
{%- endmacro %}
