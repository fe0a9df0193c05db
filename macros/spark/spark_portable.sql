{#-
    Spark SQL versions of the engine-specific expressions (macros/portable). Spark string literals
    treat a backslash as an escape (spark.sql.parser.escapedStringLiterals is off, so that '' stays
    a quote): a backslash meant literally is doubled.
-#}

{#- Whether a text value matches a regular expression in full (Java regular expressions). -#}
{% macro spark__billing_matches(expression, pattern) -%}
    ({{ expression }} rlike '^(?:{{ pattern | replace("\\", "\\\\") }})$')
{%- endmacro %}

{#- The values of a key as one text; a null is a backslash-N, as on DuckDB. -#}
{% macro spark__billing_group_key(columns) -%}
    concat_ws('|'{% for column in columns %}, coalesce(replace({{ column }}, '|', '||'), '\\N'){% endfor %})
{%- endmacro %}

{#-
    A cast to a contract's data type: Spark wants a length on varchar, so the contracts' `varchar`
    is Spark's `string` (the type a varchar is stored as anyway).
-#}
{% macro spark__cast(field, type) -%}
    {%- set spark_type = 'string' if type | trim | lower in ['varchar', 'text'] else type -%}
    cast({{ field }} as {{ spark_type }})
{%- endmacro %}
