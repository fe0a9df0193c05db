{#-
    `raw._touched_<table>`: the key groups (`_group_key`) of one table that an incremental build
    must judge again: every key a new row carries, and every key with a row the previous build
    rejected for an unknown reference (its parent may have landed since). Written after landing,
    before any model runs (the `base_` table is still the previous build's); the `base_` models
    replace these groups, and the incremental models downstream derive the documents they must
    recompute from them. `billing_drop_touched_keys` (on-run-end) removes them.
-#}
{% macro billing_touched_keys_sql(node) %}
    {%- set table = node.name -%}
    {%- set columns = node.columns.values() | list -%}
    {%- set key_columns = [] -%}
    {%- for name in node.meta.key -%}
        {%- for column in columns if column.name == name -%}
            {%- do key_columns.append(billing_parse_column(column.name, column.meta.type)) -%}
        {%- endfor -%}
    {%- endfor -%}
    {%- set base = billing_base_relation(table) -%}
    create or replace table raw._touched_{{ table }} as
    select {{ billing_group_key(key_columns) }} as _group_key
    from raw.{{ table }}
    where _file_order >= {{ billing_landing_first_new_file(table) }}
    {%- if base is not none %}
    union
    select _group_key from {{ base }}
    where _row_status = 'rejected' and _reject_reason like 'unknown reference:%'
    {%- endif %}
{% endmacro %}
