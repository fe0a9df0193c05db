-- One row per job awaiting ops or customer approval (R7): its documents, amount due and pulled
-- documents. Pulled documents count as delivery method pull, class T (R1). The awaited approval is
-- the stage's pending request (the earliest), else the one decided latest since the job started to
-- wait: a decision made in the portal shows here once the billing system's row has landed.
with job_tracking as (

    select
        client_id,
        job_id,
        job_name,
        current_status_code,
        current_status_at
    from {{ ref('rpt_job_tracking') }}
    where current_status_code in ('AWAITING_OPS_APPROVAL', 'AWAITING_CUSTOMER_APPROVAL')

),

documents as (

    select
        job_id,
        is_pulled,
        amount_due,
        currency
    from {{ ref('fct_documents') }}

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

document_totals as (

    select
        job_id,
        count(*) as document_count,
        sum(amount_due) as amount_due,
        case when count(distinct currency) = 1 then min(currency) end as currency,
        count(case when is_pulled then 1 end) as pulled_document_count
    from documents
    group by job_id

),

awaiting_jobs as (

    select
        client_id,
        job_id,
        job_name,
        current_status_code,
        current_status_at,
        case current_status_code
            when 'AWAITING_OPS_APPROVAL' then 'ops'
            else 'customer'
        end as approval_stage
    from job_tracking

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
        coalesce(document_totals.document_count, 0) as document_count,
        coalesce(document_totals.amount_due, 0) as amount_due,
        coalesce(document_totals.pulled_document_count, 0) as pulled_document_count,
        document_totals.currency,
        awaiting_jobs.job_name,
        awaiting_jobs.current_status_code,
        awaited_approvals.requested_at as approval_requested_at,
        awaited_approvals.approval_id,
        awaited_approvals.decision as approval_decision,
        awaited_approvals.decided_at as approval_decided_at,
        awaited_approvals.decided_by as approval_decided_by
    from awaiting_jobs
    left join document_totals
        on awaiting_jobs.job_id = document_totals.job_id
    left join awaited_approvals
        on awaiting_jobs.job_id = awaited_approvals.job_id

)

select * from final
