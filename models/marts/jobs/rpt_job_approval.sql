-- One row per job awaiting ops or customer approval (R7): its documents, amount due and pulled
-- documents. Pulled documents count as delivery method pull, class T (R1). The awaited approval is
-- the stage's pending request (the earliest), else the one decided latest since the job started to
-- wait: a decision made in the portal shows here once the billing system's row has landed.
with current_statuses as (

    select
        job_id,
        current_status_code,
        current_status_at
    from {{ ref('int_jobs_current_status') }}
    where current_status_code in ('AWAITING_OPS_APPROVAL', 'AWAITING_CUSTOMER_APPROVAL')

),

jobs as (

    select
        job_id,
        client_id,
        job_name
    from {{ ref('stg_billing__jobs') }}

),

job_documents as (

    select
        job_id,
        document_count,
        amount_due,
        currency,
        pulled_document_count
    from {{ ref('int_documents_aggregated_to_jobs') }}

),

job_approvals as (

    select
        approval_id,
        job_id,
        approval_stage,
        requested_at,
        decided_at,
        decision,
        decided_by
    from {{ ref('stg_billing__job_approvals') }}

),

awaiting_jobs as (

    select
        jobs.client_id,
        jobs.job_id,
        jobs.job_name,
        current_statuses.current_status_code,
        current_statuses.current_status_at,
        case current_statuses.current_status_code
            when 'AWAITING_OPS_APPROVAL' then 'ops'
            else 'customer'
        end as approval_stage
    from jobs
    inner join current_statuses
        on jobs.job_id = current_statuses.job_id

),

stage_approvals as (

    select
        job_approvals.approval_id,
        job_approvals.job_id,
        job_approvals.requested_at,
        job_approvals.decided_at,
        job_approvals.decision,
        job_approvals.decided_by,
        row_number() over (
            partition by job_approvals.job_id
            order by
                case when job_approvals.decided_at is null then 0 else 1 end asc,
                case when job_approvals.decided_at is null then job_approvals.requested_at end asc,
                job_approvals.decided_at desc,
                job_approvals.approval_id asc
        ) as awaited_rank
    from job_approvals
    inner join awaiting_jobs
        on
            job_approvals.job_id = awaiting_jobs.job_id
            and job_approvals.approval_stage = awaiting_jobs.approval_stage
    where
        job_approvals.decided_at is null
        or job_approvals.decided_at >= awaiting_jobs.current_status_at

),

awaited_approvals as (

    select
        approval_id,
        job_id,
        requested_at,
        decided_at,
        decision,
        decided_by
    from stage_approvals
    where awaited_rank = 1

),

final as (

    select
        awaiting_jobs.client_id,
        awaiting_jobs.job_id,
        awaiting_jobs.approval_stage,
        awaiting_jobs.current_status_at as awaiting_since,
        coalesce(job_documents.document_count, 0) as document_count,
        coalesce(job_documents.amount_due, 0) as amount_due,
        coalesce(job_documents.pulled_document_count, 0) as pulled_document_count,
        job_documents.currency,
        awaiting_jobs.job_name,
        awaiting_jobs.current_status_code,
        awaited_approvals.requested_at as approval_requested_at,
        awaited_approvals.approval_id,
        awaited_approvals.decision as approval_decision,
        awaited_approvals.decided_at as approval_decided_at,
        awaited_approvals.decided_by as approval_decided_by
    from awaiting_jobs
    left join job_documents
        on awaiting_jobs.job_id = job_documents.job_id
    left join awaited_approvals
        on awaiting_jobs.job_id = awaited_approvals.job_id

)

select * from final
