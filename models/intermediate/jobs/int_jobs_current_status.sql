-- One row per job that has status events: its current status, the status of its latest event
-- (R6); a tie on event_at goes to the later step.
with job_status_events as (

    select
        event_id,
        job_id,
        status_code,
        event_at
    from {{ ref('stg_billing__job_status_events') }}

),

job_statuses as (

    select
        status_code,
        step_order,
        status_label
    from {{ ref('job_statuses') }}

),

ranked_events as (

    select
        job_status_events.job_id,
        job_status_events.status_code,
        job_status_events.event_at,
        job_statuses.step_order,
        job_statuses.status_label,
        row_number() over (
            partition by job_status_events.job_id
            order by
                job_status_events.event_at desc,
                job_statuses.step_order desc,
                job_status_events.event_id desc
        ) as recency_rank
    from job_status_events
    inner join job_statuses
        on job_status_events.status_code = job_statuses.status_code

),

current_statuses as (

    select
        job_id,
        status_code as current_status_code,
        status_label as current_status_label,
        step_order as current_step_order,
        event_at as current_status_at
    from ranked_events
    where recency_rank = 1

)

select * from current_statuses
