with landed_document_pulls as (

    select * from {{ ref('base_billing__document_pulls') }}

),

current_document_pulls as (

    select
        pull_id,
        job_id,
        document_id,
        pulled_at,
        pulled_by,
        _source_file,
        _source_row
    from landed_document_pulls
    where _row_status = 'current'

)

select * from current_document_pulls
