{#-
    The SQL that parses one text column of the landing files into its contract type (null when it
    does not parse). Types with a `pattern` and a `cast` in the source meta parse by them; timestamp
    and boolean by their own rules; text and code stay text.
-#}
{% macro billing_parse_column(column_name, column_type) -%}
    {%- set value = "nullif(" ~ column_name ~ ", '')" -%}
    {%- set parse = billing_column_types().get(column_type, {}) -%}
    {%- if column_type == 'timestamp' -%}
        {{ billing_parse_timestamp(value) }}
    {%- elif column_type == 'boolean' -%}
        case lower({{ value }}) when 'true' then true when 'false' then false end
    {%- elif parse.pattern and parse.cast -%}
        case when {{ billing_matches(value, parse.pattern) }} then try_cast({{ value }} as {{ parse.cast }}) end
    {%- else -%}
        {{ value }}
    {%- endif -%}
{%- endmacro %}
