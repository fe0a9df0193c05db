-- One row per Job Activity Report and recipient (R11): the client's contacts valid at the job's
-- completion whose role is primary_support or billing.
-- Every job with a JOB_COMPLETE event has a report (R11), completed at its first such event.
with job_activity as (

    select
        client_id,
        job_id,
        job_complete_event_at as completed_at
    from {{ ref('int_jobs_completed') }}
    where job_complete_event_at is not null

),

contacts as (

    select
        contact_id,
        client_id,
        full_name,
        email,
        role,
        valid_from,
        valid_to
    from {{ ref('stg_billing__contacts') }}
    where role in ('primary_support', 'billing')

),

recipients as (

    select
        job_activity.client_id,
        job_activity.job_id,
        contacts.contact_id,
        contacts.full_name,
        contacts.email,
        contacts.role,
        job_activity.completed_at
    from job_activity
    inner join contacts
        on
            job_activity.client_id = contacts.client_id
            and (contacts.valid_from is null or job_activity.completed_at >= contacts.valid_from)
            and (contacts.valid_to is null or job_activity.completed_at < contacts.valid_to)

)

select * from recipients
