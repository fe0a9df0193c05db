-- One row per picked-up upload whose job has completed (R2, R12): the time from the upload to the
-- job's completion, for the semantic layer's average days from upload to completion.
with file_pickups as (

    select
        client_id,
        file_id,
        file_name,
        uploaded_at,
        picked_up_at,
        job_id
    from {{ ref('stg_billing__file_uploads') }}
    where
        picked_up_at is not null
        and job_id is not null

),

jobs_completed as (

    select
        job_id,
        job_name,
        job_completed_at,
        job_complete_date
    from {{ ref('int_jobs_completed') }}
    where job_completed_at is not null

),

upload_jobs as (

    select
        file_pickups.client_id,
        file_pickups.file_id,
        file_pickups.job_id,
        file_pickups.uploaded_at,
        jobs_completed.job_completed_at,
        file_pickups.file_name,
        file_pickups.picked_up_at,
        jobs_completed.job_name,
        jobs_completed.job_complete_date
    from file_pickups
    inner join jobs_completed
        on file_pickups.job_id = jobs_completed.job_id

),

upload_completions as (

    select
        client_id,
        file_id,
        job_id,
        uploaded_at,
        job_completed_at,
        cast(
            {{ dbt.datediff('uploaded_at', 'job_completed_at', 'second') }}
            / 86400.0 as decimal(18, 4)
        ) as days_to_completion,
        file_name,
        picked_up_at,
        job_name,
        job_complete_date
    from upload_jobs

)

select * from upload_completions
