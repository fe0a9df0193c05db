-- One row per job with a JOB_COMPLETE event: the Job Activity Report (R11). Its per-method
-- counts are in rpt_job_delivery_counts, its timeline in rpt_job_tracking_steps, its batches in
-- rpt_billing_activity_details, its recipients in rpt_job_activity_recipients.
with job_tracking as (

    select
        client_id,
        job_id,
        job_name,
        document_count,
        pulled_document_count,
        job_completed_at
    from {{ ref('rpt_job_tracking') }}

),

clients as (

    select
        client_id,
        timezone
    from {{ ref('stg_billing__clients') }}

),

job_complete_events as (

    select
        job_id,
        min(event_at) as completed_at
    from {{ ref('stg_billing__job_status_events') }}
    where status_code = 'JOB_COMPLETE'
    group by job_id

),

documents as (

    select
        document_id,
        job_id,
        delivery_method_group
    from {{ ref('fct_documents') }}

),

deliveries as (

    select
        document_id,
        outcome
    from {{ ref('stg_billing__deliveries') }}

),

batches as (

    select
        job_id,
        batch_type
    from {{ ref('stg_billing__batches') }}

),

fees as (

    select
        job_id,
        amount,
        currency
    from {{ ref('stg_billing__fees') }}
    where job_id is not null

),

document_groups as (

    select
        job_id,
        count(case when delivery_method_group = 'print' then 1 end) as print_document_count,
        count(case when delivery_method_group = 'electronic' then 1 end) as electronic_document_count
    from documents
    group by job_id

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

batch_counts as (

    select
        job_id,
        count(case when batch_type = 'print' then 1 end) as print_batch_count,
        count(case when batch_type = 'electronic' then 1 end) as electronic_batch_count
    from batches
    group by job_id

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
        job_tracking.client_id,
        job_tracking.job_id,
        job_tracking.job_name,
        job_complete_events.completed_at,
        job_tracking.document_count,
        {{ billing_local_date('job_complete_events.completed_at', 'clients.timezone') }} as completed_date,
        job_tracking.job_completed_at,
        coalesce(document_groups.print_document_count, 0) as print_document_count,
        coalesce(document_groups.electronic_document_count, 0) as electronic_document_count,
        job_tracking.pulled_document_count,
        coalesce(delivery_outcomes.failed_delivery_count, 0) as failed_delivery_count,
        coalesce(delivery_outcomes.bounced_delivery_count, 0) as bounced_delivery_count,
        coalesce(batch_counts.print_batch_count, 0) as print_batch_count,
        coalesce(batch_counts.electronic_batch_count, 0) as electronic_batch_count,
        coalesce(fee_totals.fee_amount_usd_billed, 0) as fee_amount_usd_billed,
        coalesce(fee_totals.fee_amount_cad_billed, 0) as fee_amount_cad_billed
    from job_tracking
    inner join job_complete_events
        on job_tracking.job_id = job_complete_events.job_id
    left join clients
        on job_tracking.client_id = clients.client_id
    left join document_groups
        on job_tracking.job_id = document_groups.job_id
    left join delivery_outcomes
        on job_tracking.job_id = delivery_outcomes.job_id
    left join batch_counts
        on job_tracking.job_id = batch_counts.job_id
    left join fee_totals
        on job_tracking.job_id = fee_totals.job_id

)

select * from final
