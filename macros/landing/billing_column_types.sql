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


{#- The words naming a column type in a reject reason, e.g. 'whole number'. -#}
{% macro billing_type_words(column_type) -%}
    {{ billing_column_types().get(column_type, {}).get('words', column_type) }}
{%- endmacro %}


{#- Whether values of a column type below zero are rejected (money, counts, quantities). -#}
{% macro billing_type_is_non_negative(column_type) -%}
    {{ return(billing_column_types().get(column_type, {}).get('non_negative', false)) }}
{%- endmacro %}


{#- The read_csv options of the landing files (source meta `csv_options`). -#}
{% macro billing_csv_options() -%}
    {%- for node in graph.sources.values() if node.source_name == 'billing' -%}
        {{ return(node.source_meta.csv_options) }}
    {%- endfor -%}
{%- endmacro %}
