-- R14 / issue 16: every published row that names a job carries that job's client. A row of job
-- J1 under another client would put one client's document, batch or contact into another
-- client's report or e-mail (the Job Activity Report and notify read rows by job and client).
-- Returns each published row whose client differs from its job's client.
with jobs as (

    select
        job_id,
        client_id
    from {{ ref('stg_billing__jobs') }}

),

published as (

    select
        'fct_documents' as model_name,
        client_id,
        job_id
    from {{ ref('fct_documents') }}
    where job_id is not null

    union all

    select
        'rpt_billing_activity_details' as model_name,
        client_id,
        job_id
    from {{ ref('rpt_billing_activity_details') }}
    where job_id is not null

    union all

    select
        'rpt_job_tracking' as model_name,
        client_id,
        job_id
    from {{ ref('rpt_job_tracking') }}
    where job_id is not null

    union all

    select
        'rpt_job_tracking_steps' as model_name,
        client_id,
        job_id
    from {{ ref('rpt_job_tracking_steps') }}
    where job_id is not null

    union all

    select
        'rpt_job_delivery_counts' as model_name,
        client_id,
        job_id
    from {{ ref('rpt_job_delivery_counts') }}
    where job_id is not null

    union all

    select
        'rpt_job_approval' as model_name,
        client_id,
        job_id
    from {{ ref('rpt_job_approval') }}
    where job_id is not null

    union all

    select
        'rpt_job_activity' as model_name,
        client_id,
        job_id
    from {{ ref('rpt_job_activity') }}
    where job_id is not null

    union all

    select
        'rpt_job_activity_recipients' as model_name,
        client_id,
        job_id
    from {{ ref('rpt_job_activity_recipients') }}
    where job_id is not null

    union all

    select
        'rpt_file_pickup' as model_name,
        client_id,
        job_id
    from {{ ref('rpt_file_pickup') }}
    where job_id is not null

    union all

    select
        'rpt_upload_to_completion' as model_name,
        client_id,
        job_id
    from {{ ref('rpt_upload_to_completion') }}
    where job_id is not null

)

select
    published.model_name,
    published.job_id,
    published.client_id,
    jobs.client_id as job_client_id
from published
inner join jobs
    on published.job_id = jobs.job_id
where published.client_id != jobs.client_id
