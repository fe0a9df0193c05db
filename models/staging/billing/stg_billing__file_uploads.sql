with landed_file_uploads as (

    select * from {{ ref('base_billing__file_uploads') }}

),

current_file_uploads as (

    select
        file_id,
        client_id,
        file_name,
        uploaded_at,
        size_bytes,
        picked_up_at,
        job_id,
        _source_file,
        _source_row
    from landed_file_uploads
    where _row_status = 'current'

)

select * from current_file_uploads
