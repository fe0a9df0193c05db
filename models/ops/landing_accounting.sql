-- noqa: disable=LT02
-- One row per raw table: what landed and what became of it (R14). For every table,
-- rows_landed = rows_accepted + rows_rejected + duplicates_collapsed; rows in a file rejected
-- whole are not read, and are counted in files_rejected instead.
{%- set tables = billing_landing_tables() %}
with
{%- for table in tables %}

statuses_{{ table }} as (

    select
        '{{ table }}' as source_table,
        count(*) as rows_read,
        count(case when _row_status = 'current' then 1 end) as rows_current,
        count(case when _row_status = 'superseded' then 1 end) as rows_superseded,
        count(case when _row_status = 'rejected' then 1 end) as rows_rejected_by_contract,
        count(case when _row_status = 'duplicate' then 1 end) as duplicates_collapsed
    from {{ ref('base_billing__' ~ table) }}

),
{%- endfor %}

row_statuses as (
{%- for table in tables %}
    select * from statuses_{{ table }}
    {%- if not loop.last %}
    union all
    {%- endif %}
{%- endfor %}

),

landing_files as (

    select
        source_table,
        count(*) as files_seen,
        count(case when file_status = 'rejected' then 1 end) as files_rejected,
        cast(coalesce(sum(rows_unreadable), 0) as bigint) as rows_unreadable
    from {{ source('landing_audit', '_landing_files') }}
    group by source_table

),

final as (

    select
        row_statuses.source_table,
        row_statuses.rows_read + coalesce(landing_files.rows_unreadable, 0) as rows_landed,
        row_statuses.rows_current + row_statuses.rows_superseded as rows_accepted,
        row_statuses.rows_rejected_by_contract + coalesce(landing_files.rows_unreadable, 0) as rows_rejected,
        row_statuses.duplicates_collapsed,
        row_statuses.rows_current,
        row_statuses.rows_superseded,
        coalesce(landing_files.rows_unreadable, 0) as rows_unreadable,
        coalesce(landing_files.files_seen, 0) as files_seen,
        coalesce(landing_files.files_rejected, 0) as files_rejected
    from row_statuses
    left join landing_files
        on row_statuses.source_table = landing_files.source_table

)

select * from final
