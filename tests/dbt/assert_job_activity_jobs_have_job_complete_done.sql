-- R11 / R6: every job with a Job Activity Report (it has a JOB_COMPLETE event) shows its last
-- tracker step, JOB_COMPLETE, as done. Returns the jobs that do not.
with job_activity as (

    select job_id
    from {{ ref('rpt_job_activity') }}

),

job_complete_steps as (

    select
        job_id,
        step_state
    from {{ ref('rpt_job_tracking_steps') }}
    where status_code = 'JOB_COMPLETE'

)

select
    job_activity.job_id,
    job_complete_steps.step_state
from job_activity
left join job_complete_steps
    on job_activity.job_id = job_complete_steps.job_id
where job_complete_steps.step_state is distinct from 'done'
