{#- The existing `base_billing__<table>` relation, or none. -#}
{% macro billing_base_relation(table) %}
    {%- for node in graph.nodes.values() if node.resource_type == 'model' and node.name == 'base_billing__' ~ table -%}
        {{ return(adapter.get_relation(database=node.database, schema=node.schema, identifier=node.alias)) }}
    {%- endfor -%}
    {{ return(none) }}
{% endmacro %}
