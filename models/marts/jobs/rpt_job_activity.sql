-- One row per job with a JOB_COMPLETE event: the Job Activity Report (R11). Its per-method
-- counts are in rpt_job_delivery_counts, its timeline in rpt_job_tracking_steps, its batches in
-- rpt_billing_activity_details, its recipients in rpt_job_activity_recipients.
with jobs_completed as (

    select
        client_id,
        job_id,
        job_name,
        job_complete_event_at,
        job_complete_event_date,
        job_completed_at
    from {{ ref('int_jobs_completed') }}
    where job_complete_event_at is not null

),

job_documents as (

    select
        job_id,
        document_count,
        pulled_document_count,
        print_document_count,
        electronic_document_count
    from {{ ref('int_documents_aggregated_to_jobs') }}

),

job_batches as (

    select
        job_id,
        print_batch_count,
        electronic_batch_count
    from {{ ref('int_batches_aggregated_to_jobs') }}

),

documents as (

    select
        document_id,
        job_id
    from {{ ref('int_documents_classified') }}

),

deliveries as (

    select
        document_id,
        outcome
    from {{ ref('stg_billing__deliveries') }}

),

fees as (

    select
        job_id,
        amount,
        currency
    from {{ ref('stg_billing__fees') }}
    where job_id is not null

),

delivery_outcomes as (

    select
        documents.job_id,
        count(case when deliveries.outcome = 'failed' then 1 end) as failed_delivery_count,
        count(case when deliveries.outcome = 'bounced' then 1 end) as bounced_delivery_count
    from deliveries
    inner join documents
        on deliveries.document_id = documents.document_id
    group by documents.job_id

),

fee_totals as (

    select
        job_id,
        sum(case when currency = 'USD' then amount end) as fee_amount_usd_billed,
        sum(case when currency = 'CAD' then amount end) as fee_amount_cad_billed
    from fees
    group by job_id

),

final as (

    select
        jobs_completed.client_id,
        jobs_completed.job_id,
        jobs_completed.job_name,
        jobs_completed.job_complete_event_at as completed_at,
        coalesce(job_documents.document_count, 0) as document_count,
        jobs_completed.job_complete_event_date as completed_date,
        jobs_completed.job_completed_at,
        coalesce(job_documents.print_document_count, 0) as print_document_count,
        coalesce(job_documents.electronic_document_count, 0) as electronic_document_count,
        coalesce(job_documents.pulled_document_count, 0) as pulled_document_count,
        coalesce(delivery_outcomes.failed_delivery_count, 0) as failed_delivery_count,
        coalesce(delivery_outcomes.bounced_delivery_count, 0) as bounced_delivery_count,
        coalesce(job_batches.print_batch_count, 0) as print_batch_count,
        coalesce(job_batches.electronic_batch_count, 0) as electronic_batch_count,
        coalesce(fee_totals.fee_amount_usd_billed, 0) as fee_amount_usd_billed,
        coalesce(fee_totals.fee_amount_cad_billed, 0) as fee_amount_cad_billed
    from jobs_completed
    left join job_documents
        on jobs_completed.job_id = job_documents.job_id
    left join delivery_outcomes
        on jobs_completed.job_id = delivery_outcomes.job_id
    left join job_batches
        on jobs_completed.job_id = job_batches.job_id
    left join fee_totals
        on jobs_completed.job_id = fee_totals.job_id

)

select * from final
