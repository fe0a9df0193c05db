{#-
    How the landing files are read and each column type parses, from the `meta` of source
    `billing` (models/staging/billing/_billing__sources.yml): the one definition that these macros
    and billing_reports/landing_contract.py (the validator, the generator) read.
-#}

{#- {type: {words, pattern, cast, non_negative}} of the source meta `column_types`; {} while dbt parses. -#}
{% macro billing_column_types() -%}
    {%- if execute -%}
        {%- for node in graph.sources.values() if node.source_name == 'billing' -%}
            {{ return(node.source_meta.column_types) }}
        {%- endfor -%}
    {%- endif -%}
    {{ return({}) }}
{%- endmacro %}
