{#-
    The 16 raw tables of the landing folder (contract section 2), in load order, each with its key
    columns: {table: [key column, ...]}. The keys come from the table `meta` of source `billing`
    (models/staging/billing/_billing__sources.yml, the one definition) through `graph.sources`.
    While dbt parses a project there is no graph yet; the models that loop over the tables (ops)
    then only need the names, for their ref()s: `billing_landing_table_names()`. The singular test
    `assert_landing_tables_match_sources` checks those names against the source.
-#}
{% macro billing_landing_tables() -%}
    {%- set keys = {} -%}
    {%- if execute -%}
        {%- for node in graph.sources.values() if node.source_name == 'billing' -%}
            {%- do keys.update({node.name: node.meta.key}) -%}
        {%- endfor -%}
    {%- endif -%}
    {%- set tables = {} -%}
    {%- for name in billing_landing_table_names() -%}
        {%- do tables.update({name: keys.get(name, [])}) -%}
    {%- endfor -%}
    {{ return(tables) }}
{%- endmacro %}
