-- R6 / contract section 3: every job of rpt_job_tracking has exactly the 10 tracker steps, 1 to 10,
-- in rpt_job_tracking_steps, and the steps list no other job. Returns the jobs that do not.
with steps as (

    select
        job_id,
        count(*) as step_count,
        count(distinct step_order) as distinct_step_count,
        min(step_order) as first_step,
        max(step_order) as last_step
    from {{ ref('rpt_job_tracking_steps') }}
    group by job_id

),

jobs as (

    select job_id
    from {{ ref('rpt_job_tracking') }}

),

compared as (

    select
        coalesce(jobs.job_id, steps.job_id) as job_id,
        jobs.job_id is not null as is_tracked_job,
        coalesce(steps.step_count, 0) as step_count,
        steps.distinct_step_count,
        steps.first_step,
        steps.last_step
    from jobs
    full outer join steps
        on jobs.job_id = steps.job_id

)

select * from compared
where
    not is_tracked_job
    or step_count != 10
    or distinct_step_count != 10
    or first_step != 1
    or last_step != 10
