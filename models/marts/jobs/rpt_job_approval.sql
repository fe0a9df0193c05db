-- One row per job awaiting ops or customer approval (R7): its documents, amount due and pulled
-- documents. Pulled documents count as delivery method pull, class T (R1).
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
        job_id,
        approval_stage,
        requested_at
    from {{ ref('stg_billing__job_approvals') }}
    where decided_at is null

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

pending_requests as (

    select
        job_id,
        approval_stage,
        min(requested_at) as requested_at
    from job_approvals
    group by
        job_id,
        approval_stage

),

final as (

    select
        job_tracking.client_id,
        job_tracking.job_id,
        case job_tracking.current_status_code
            when 'AWAITING_OPS_APPROVAL' then 'ops'
            else 'customer'
        end as approval_stage,
        job_tracking.current_status_at as awaiting_since,
        coalesce(document_totals.document_count, 0) as document_count,
        coalesce(document_totals.amount_due, 0) as amount_due,
        coalesce(document_totals.pulled_document_count, 0) as pulled_document_count,
        document_totals.currency,
        job_tracking.job_name,
        job_tracking.current_status_code,
        pending_requests.requested_at as approval_requested_at
    from job_tracking
    left join document_totals
        on job_tracking.job_id = document_totals.job_id
    left join pending_requests
        on
            job_tracking.job_id = pending_requests.job_id
            and pending_requests.approval_stage = case job_tracking.current_status_code
                when 'AWAITING_OPS_APPROVAL' then 'ops'
                else 'customer'
            end

)

select * from final
