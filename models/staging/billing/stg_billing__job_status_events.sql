with landed_job_status_events as (

    select * from {{ ref('base_billing__job_status_events') }}

),

current_job_status_events as (

    select
        event_id,
        job_id,
        status_code,
        event_at,
        status_date,
        _source_file,
        _source_row
    from landed_job_status_events
    where _row_status = 'current'

)

select * from current_job_status_events
