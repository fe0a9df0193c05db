-- One row per Job Activity Report and recipient (R11): the client's contacts valid at the job's
-- completion whose role is primary_support or billing.
with job_activity as (

    select
        client_id,
        job_id,
        completed_at
    from {{ ref('rpt_job_activity') }}

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
