-- R14 "no input row vanishes silently": for every raw table, each landed row is accepted,
-- rejected or collapsed as an exact duplicate, and every rejection is listed in ops.rejected_rows.
-- Returns the tables where the books do not balance.
with accounting as (

    select
        source_table,
        rows_landed,
        rows_accepted,
        rows_rejected,
        duplicates_collapsed,
        files_rejected
    from {{ ref('landing_accounting') }}

),

rejections as (

    select
        source_table,
        count(case when reject_level = 'row' then 1 end) as rejected_rows,
        count(case when reject_level = 'file' then 1 end) as rejected_files
    from {{ ref('rejected_rows') }}
    group by source_table

)

select
    accounting.*,
    coalesce(rejections.rejected_rows, 0) as listed_rejected_rows,
    coalesce(rejections.rejected_files, 0) as listed_rejected_files
from accounting
left join rejections
    on accounting.source_table = rejections.source_table
where
    accounting.rows_landed != accounting.rows_accepted + accounting.rows_rejected + accounting.duplicates_collapsed
    or accounting.rows_rejected != coalesce(rejections.rejected_rows, 0)
    or accounting.files_rejected != coalesce(rejections.rejected_files, 0)
