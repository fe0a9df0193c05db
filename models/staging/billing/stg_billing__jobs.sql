with landed_jobs as (

    select * from {{ ref('base_billing__jobs') }}

),

current_jobs as (

    select
        job_id,
        client_id,
        job_name,
        created_at,
        ops_approval_required,
        customer_approval_required,
        _source_file,
        _source_row
    from landed_jobs
    where _row_status = 'current'

)

select * from current_jobs
