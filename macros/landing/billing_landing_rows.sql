{#-
    Every landed row of one raw table (source `billing`), parsed and judged (R14):

      _row_status   'current'    the accepted version of its key (the latest file wins: upsert)
                    'superseded' accepted, but a later file re-sent its key
                    'duplicate'  an exact copy of an earlier row of the same file, collapsed
                    'rejected'   breaks the contract; _reject_reason says why
      _reject_reason  the first contract breach found, in words a user can act on

    Column types, keys, required columns, codes and references come from the column `meta` of
    the source YAML, so the rules live in one place (the Python validator reads the same YAML).
    `references` are checked against the parent's current rows, passed in as `parents`
    ({column: relation}); the calling model declares them with `-- depends_on`. A reference with
    `same_client: true` must also belong to the row's client: a document of client C2 that names
    job J1 of client C1 is rejected ("client mismatch"), so that it never reaches C1's reports.

    Incremental builds (`is_incremental()`: `billing-reports refresh` copied the published
    warehouse forward and landed only the new files) re-judge only the key groups that can have
    changed, and replace them (delete+insert on `_group_key`):
      - every key that a new row carries: its versions (current / superseded) are re-ranked;
      - every key with a row rejected for an unknown reference: its parent may have landed since.
    Every other judgment is local to its file (row checks, exact duplicates, in-file key
    conflicts), and a key's parent, once known, stays known while files are only added; so the
    other rows are what a full build would make of them. Each touched group is judged from all of
    its landed rows, exactly as a full build judges it.
-#}
{% macro billing_landing_rows(table_name, parents={}) %}
    {#- Read only by incremental builds; named here, outside that branch, so that dbt sees them when it parses. -#}
    {%- set touched_keys = source('landing_state', '_touched_' ~ table_name) -%}
    {%- set landing_runs = source('landing_state', '_landing_runs') -%}
    {%- set node = billing_source_node(table_name) -%}
    {%- if node is none -%}
        select * from {{ source('billing', table_name) }}
    {%- else -%}
    {%- set columns = node.columns.values() | list -%}
    {%- set key = node.meta.key -%}
    {%- set min_year = var('min_plausible_year') -%}
    {%- set max_year = var('max_plausible_year') -%}
    {%- set raw_names = [] -%}
    {%- for column in columns -%}{%- do raw_names.append('checked._raw_' ~ column.name) -%}{%- endfor -%}

with
{%- if is_incremental() %}
{%- set first_new_file = billing_landing_first_new_file(table_name) %}

touched_rows as (

    -- Rows landed by earlier builds whose key group must be judged again (source landing_state,
    -- written by the loader); the base table knows each landed row's group.
    select _source_file, _source_row
    from {{ this }}
    where _group_key in (select _group_key from {{ touched_keys }})

),

landed as {{ billing_inline_cte() }} (

    select * from {{ source('billing', table_name) }}
    where _file_order >= {{ first_new_file }}

    union all

    select landed_before.*
    from {{ source('billing', table_name) }} as landed_before
    inner join touched_rows
        on
            landed_before._source_file = touched_rows._source_file
            and landed_before._source_row = touched_rows._source_row
    where landed_before._file_order < {{ first_new_file }}

),
{%- else %}

landed as {{ billing_inline_cte() }} (

    select * from {{ source('billing', table_name) }}

),
{%- endif %}

parsed as {{ billing_inline_cte() }} (

    select
        _source_file,
        _file_order,
        _source_row,
        {%- for column in columns %}
        {{ billing_parse_column(column.name, column.meta.type) }} as {{ column.name }},
        nullif({{ column.name }}, '') as _raw_{{ column.name }}{{ ',' if not loop.last }}
        {%- endfor %}

    from landed

),

checked as {{ billing_inline_cte() }} (

    select
        *,
        case
            {%- for column in columns if column.meta.required %}
            when _raw_{{ column.name }} is null
                then '{{ "missing key" if column.meta.key else "missing required value" }}: {{ column.name }} is empty'
            {%- endfor %}
            {%- for column in columns if column.meta.type not in ['text', 'code'] %}
            when _raw_{{ column.name }} is not null and {{ column.name }} is null
                then 'unparseable {{ billing_type_words(column.meta.type) }} in {{ column.name }}: '''
                    || _raw_{{ column.name }} || ''''
            {%- endfor %}
            {%- for column in columns if column.meta.type == 'timestamp' %}
            when extract(year from {{ column.name }}) not between {{ min_year }} and {{ max_year }}
                then 'implausible timestamp in {{ column.name }} (outside {{ min_year }}-{{ max_year }}): '''
                    || _raw_{{ column.name }} || ''''
            {%- endfor %}
            {%- for column in columns if billing_type_is_non_negative(column.meta.type) %}
            when {{ column.name }} < 0
                then 'negative {{ column.name }}: ' || _raw_{{ column.name }}
            {%- endfor %}
            {%- for column in columns if column.meta.type == 'code' %}
            when {{ column.name }} not in ({{ billing_code_values(column) }})
                then 'unknown {{ column.name }}: ''' || {{ column.name }} || ''''
            {%- endfor %}
            {%- for column in columns if column.meta.type == 'timezone' %}
            when not {{ billing_is_known_timezone(column.name) }}
                then 'unknown time zone in {{ column.name }}: ''' || {{ column.name }} || ''''
            {%- endfor %}
        end as _row_reason,
        {{ billing_group_key(key) }} as _group_key

    from parsed

),

-- Most keys land once. Only keys that land more than once (re-sent versions, duplicates,
-- conflicts) need the windows below, so those run over a small subset, not the whole table.
repeated_keys as (

    select _group_key
    from checked
    group by _group_key
    having count(*) > 1

),

repeated_fingerprints as (

    select
        checked.*,
        {{ billing_row_fingerprint(raw_names) }} as _fingerprint
    from checked
    inner join repeated_keys
        on checked._group_key = repeated_keys._group_key

),

repeated_rows as (

    select
        *,
        row_number() over (
            partition by _source_file, _fingerprint order by _source_row
        ) > 1 as _is_exact_duplicate
    from repeated_fingerprints

),

distinct_rows as {{ billing_inline_cte() }} (

    select
        checked.*,
        cast(null as {{ dbt.type_string() | lower }}) as _fingerprint,
        false as _is_exact_duplicate,
        false as _has_conflicting_key,
        false as _is_repeated
    from checked
    left join repeated_keys
        on checked._group_key = repeated_keys._group_key
    where repeated_keys._group_key is null

    union all

    select
        *,
        count(*) over (partition by _source_file, _group_key) > 1 as _has_conflicting_key,
        true as _is_repeated
    from repeated_rows
    where not _is_exact_duplicate

),

{%- for column_name, parent in parents.items() %}

known_{{ column_name }} as (

    {%- if billing_same_client(columns, column_name) %}
    select distinct
        {{ column_name }},
        client_id as _parent_client_id
    from {{ parent }}
    {%- else %}
    select distinct {{ column_name }} from {{ parent }}
    {%- endif %}
    {%- if is_incremental() %}
    -- An incremental build judges few rows: look up only the parent keys they name, instead of
    -- every distinct key of the parent (all 12 million documents at 10M, for a few thousand pulls).
    where {{ column_name }} in (select distinct_rows.{{ column_name }} from distinct_rows)
    {%- endif %}

),
{%- endfor %}

judged as {{ billing_inline_cte() }} (

    select
        distinct_rows.*,
        coalesce(
            distinct_rows._row_reason,
            case
                when distinct_rows._has_conflicting_key
                    then 'duplicate key with different values in one file: {{ key | join(", ") }} = '''
                        || distinct_rows.{{ key | join(" || ', ' || distinct_rows.") }} || ''''
                {%- for column_name, parent in parents.items() %}
                when distinct_rows.{{ column_name }} is not null and known_{{ column_name }}.{{ column_name }} is null
                    then 'unknown reference: {{ column_name }} '''
                        || distinct_rows.{{ column_name }} || ''' is not in {{ billing_references_words(columns, column_name) }}'
                {%- endfor %}
                {%- for column_name, parent in parents.items() if billing_same_client(columns, column_name) %}
                when distinct_rows.client_id != known_{{ column_name }}._parent_client_id
                    then 'client mismatch: {{ column_name }} ''' || distinct_rows.{{ column_name }}
                        || ''' belongs to client ''' || known_{{ column_name }}._parent_client_id
                        || ''', not to ''' || distinct_rows.client_id || ''''
                {%- endfor %}
            end
        ) as _reject_reason

    from distinct_rows
    {%- for column_name, parent in parents.items() %}
    left join known_{{ column_name }}
        on distinct_rows.{{ column_name }} = known_{{ column_name }}.{{ column_name }}
    {%- endfor %}

),

versions as (

    select
        *,
        case when _reject_reason is not null then 'rejected' else 'current' end as _row_status
    from judged
    where not _is_repeated

    union all

    select
        *,
        case
            when _reject_reason is not null then 'rejected'
            when row_number() over (
                partition by _group_key, _reject_reason is null
                order by _file_order desc, _source_row desc
            ) = 1 then 'current'
            else 'superseded'
        end as _row_status
    from judged
    where _is_repeated

),

final as (

    select
        {%- for column in columns %}
        {{ column.name }},
        {%- endfor %}
        _source_file,
        _file_order,
        _source_row,
        _row_status,
        _reject_reason,
        _fingerprint,
        _group_key
    from versions

    union all

    select
        {%- for column in columns %}
        {{ column.name }},
        {%- endfor %}
        _source_file,
        _file_order,
        _source_row,
        'duplicate' as _row_status,
        'exact duplicate of an earlier row of the same file, collapsed' as _reject_reason,
        _fingerprint,
        _group_key
    from repeated_rows
    where _is_exact_duplicate

)

select * from final
    {%- endif -%}
{% endmacro %}
