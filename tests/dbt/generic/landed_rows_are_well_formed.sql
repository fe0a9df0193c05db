{#-
    Every row of a `base_billing__<table>` model is well formed, in one scan of the table (these are
    the largest tables: one test here replaces eight per table, each a scan and a dbt node):
      - `_source_file`, `_file_order`, `_source_row`, `_row_status` and `_group_key` are present;
      - `_row_status` is current, superseded, duplicate or rejected;
      - a rejected or duplicate row says why (`_reject_reason`);
      - no landed row (file and row number) appears twice.
    Returns one row per problem: the file, the row and what is wrong.
-#}
{% test landed_rows_are_well_formed(model) %}

with row_problems as (

    select
        _source_file,
        _source_row,
        case
            when _source_file is null then '_source_file is null'
            when _file_order is null then '_file_order is null'
            when _source_row is null then '_source_row is null'
            when _row_status is null then '_row_status is null'
            when _row_status not in ('current', 'superseded', 'duplicate', 'rejected')
                then 'unknown _row_status: ' || _row_status
            when _row_status in ('rejected', 'duplicate') and _reject_reason is null
                then 'a ' || _row_status || ' row without _reject_reason'
            when _group_key is null then '_group_key is null'
        end as problem
    from {{ model }}

),

landed_twice as (

    select
        _source_file,
        _source_row,
        'landed ' || count(*) || ' times' as problem
    from {{ model }}
    group by _source_file, _source_row
    having count(*) > 1

)

select * from row_problems
where problem is not null

union all

select * from landed_twice

{% endtest %}
