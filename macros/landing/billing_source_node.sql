{#- The graph node of a `billing` source table, or none while dbt is only parsing. -#}
{% macro billing_source_node(table_name) %}
    {%- if not execute -%}{{ return(none) }}{%- endif -%}
    {%- for node in graph.sources.values() -%}
        {%- if node.source_name == 'billing' and node.name == table_name -%}
            {{ return(node) }}
        {%- endif -%}
    {%- endfor -%}
    {{ exceptions.raise_compiler_error('No billing source table named ' ~ table_name) }}
{% endmacro %}
