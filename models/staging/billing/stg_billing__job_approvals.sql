with landed_job_approvals as (

    select * from {{ ref('base_billing__job_approvals') }}

),

current_job_approvals as (

    select
        approval_id,
        job_id,
        approval_stage,
        requested_at,
        decided_at,
        decision,
        decided_by,
        _source_file,
        _source_row
    from landed_job_approvals
    where _row_status = 'current'

)

select * from current_job_approvals
