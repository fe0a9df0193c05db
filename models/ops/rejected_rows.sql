-- noqa: disable=LT02
-- One row per landed row kept out of the reports (R14), and one per landing file rejected whole
-- or row the CSV reader could not take: table, file, row number and the reason.
{%- set tables = billing_landing_tables() %}
with
{%- for table, key in tables.items() %}

rejected_{{ table }} as (

    select
        '{{ table }}' as source_table,
        _source_file as source_file,
        _source_row as source_row,
        _reject_reason as reason,
        {{ key | join(" || ', ' || ") }} as record_key,
        'row' as reject_level
    from {{ ref('base_billing__' ~ table) }}
    where _row_status = 'rejected'

),
{%- endfor %}

landing_rejects as (

    select
        source_table,
        source_file,
        source_row,
        reason,
        cast(null as {{ dbt.type_string() }}) as record_key,
        case when source_row = 0 then 'file' else 'row' end as reject_level
    from {{ source('landing_audit', '_landing_rejects') }}

),

all_rejects as (
{%- for table in tables %}
    select * from rejected_{{ table }}
    union all
{%- endfor %}
    select * from landing_rejects

)

select * from all_rejects
