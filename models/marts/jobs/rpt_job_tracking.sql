-- One row per job: its current status (R6), its documents, its completion (R2, R3) and the
-- tracker's completion (its JOB_COMPLETE step, R6).
with jobs as (

    select
        job_id,
        client_id,
        job_name,
        created_at,
        ops_approval_required,
        customer_approval_required
    from {{ ref('stg_billing__jobs') }}

),

current_statuses as (

    select * from {{ ref('int_jobs_current_status') }}

),

jobs_completed as (

    select
        job_id,
        job_completed_at,
        job_complete_date,
        is_complete,
        job_complete_event_at
    from {{ ref('int_jobs_completed') }}

),

job_documents as (

    select
        job_id,
        document_count,
        pulled_document_count
    from {{ ref('int_documents_aggregated_to_jobs') }}

),

final as (

    select
        jobs.client_id,
        jobs.job_id,
        jobs.job_name,
        current_statuses.current_status_code,
        current_statuses.current_status_label,
        current_statuses.current_status_at,
        coalesce(job_documents.document_count, 0) as document_count,
        jobs_completed.job_completed_at,
        jobs_completed.job_complete_date,
        coalesce(jobs_completed.is_complete, false) as is_complete,
        current_statuses.current_step_order,
        coalesce(job_documents.pulled_document_count, 0) as pulled_document_count,
        jobs.created_at,
        coalesce(jobs.ops_approval_required, false) as ops_approval_required,
        coalesce(jobs.customer_approval_required, false) as customer_approval_required,
        -- The tracker's completion: its last step, JOB_COMPLETE, is done once the job has that
        -- event (R6). Beside, not instead of, the R2 completion above.
        jobs_completed.job_complete_event_at as tracker_completed_at,
        jobs_completed.job_complete_event_at is not null as is_tracker_complete
    from jobs
    left join current_statuses
        on jobs.job_id = current_statuses.job_id
    left join jobs_completed
        on jobs.job_id = jobs_completed.job_id
    left join job_documents
        on jobs.job_id = job_documents.job_id

)

select * from final
