-- One row per job and tracker step (10 per job): the step's state (R6) with the not-applicable
-- rules of contract section 3 and the dates of steps 7 and 9.
with jobs as (

    select
        job_id,
        client_id,
        coalesce(ops_approval_required, false) as ops_approval_required,
        coalesce(customer_approval_required, false) as customer_approval_required
    from {{ ref('stg_billing__jobs') }}

),

job_statuses as (

    select
        step_order,
        status_code,
        status_label,
        help_text,
        not_applicable_rule
    from {{ ref('job_statuses') }}

),

current_statuses as (

    select
        job_id,
        current_status_code,
        current_step_order
    from {{ ref('int_jobs_current_status') }}

),

job_status_events as (

    select
        job_id,
        status_code,
        event_at,
        status_date
    from {{ ref('stg_billing__job_status_events') }}

),

job_documents as (

    select
        job_id,
        print_document_count,
        electronic_document_count
    from {{ ref('int_documents_aggregated_to_jobs') }}

),

job_batches as (

    select
        job_id,
        earliest_scheduled_send_date,
        latest_post_office_due_date
    from {{ ref('int_batches_aggregated_to_jobs') }}

),

-- A step's entry is its first event; its date is the latest date an event of that step showed.
step_events as (

    select
        job_id,
        status_code,
        min(event_at) as entered_at,
        max_by(status_date, case when status_date is not null then event_at end) as event_status_date
    from job_status_events
    group by
        job_id,
        status_code

),

job_facts as (

    select
        jobs.job_id,
        jobs.client_id,
        jobs.ops_approval_required,
        jobs.customer_approval_required,
        coalesce(job_documents.print_document_count, 0) > 0 as has_print_document,
        coalesce(job_documents.electronic_document_count, 0) > 0 as has_electronic_document,
        job_batches.earliest_scheduled_send_date,
        job_batches.latest_post_office_due_date,
        current_statuses.current_status_code,
        current_statuses.current_step_order
    from jobs
    left join job_documents
        on jobs.job_id = job_documents.job_id
    left join job_batches
        on jobs.job_id = job_batches.job_id
    left join current_statuses
        on jobs.job_id = current_statuses.job_id

),

job_steps as (

    select
        job_facts.*,
        job_statuses.step_order,
        job_statuses.status_code,
        job_statuses.status_label,
        job_statuses.help_text,
        job_statuses.not_applicable_rule,
        step_events.entered_at,
        step_events.event_status_date,
        case job_statuses.not_applicable_rule
            when 'no_ops_approval' then not job_facts.ops_approval_required
            when 'no_customer_approval' then not job_facts.customer_approval_required
            when 'no_print' then not job_facts.has_print_document
            when 'no_electronic' then not job_facts.has_electronic_document
            when 'no_electronic_delay'
                then not (
                        job_facts.has_electronic_document
                        and (
                            step_events.entered_at is not null
                            or job_facts.earliest_scheduled_send_date is not null
                        )
                    )
            else false
        end as is_not_applicable
    from job_facts
    cross join job_statuses
    left join step_events
        on
            job_facts.job_id = step_events.job_id
            and job_statuses.status_code = step_events.status_code

),

step_dates as (

    select
        *,
        case
            when is_not_applicable then null
            when status_code = 'ELECTRONIC_SCHEDULED'
                then coalesce(event_status_date, earliest_scheduled_send_date)
            when status_code = 'DELIVERED_TO_POST_OFFICE'
                then coalesce(event_status_date, latest_post_office_due_date)
        end as step_status_date
    from job_steps

),

final as (

    select
        client_id,
        job_id,
        step_order,
        status_code,
        status_label,
        case
            when is_not_applicable then 'not_applicable'
            when status_code = current_status_code and status_code = 'JOB_COMPLETE' then 'done'
            when status_code = current_status_code then 'current'
            when entered_at is not null or step_order < current_step_order then 'done'
            else 'pending'
        end as step_state,
        case when not is_not_applicable then entered_at end as entered_at,
        step_status_date as status_date,
        is_not_applicable,
        help_text,
        -- Steps 7 and 9 show their date in place of the help page's "(Date)".
        replace(
            status_label,
            '(Date)',
            coalesce(
                cast(step_status_date as string),
                case when is_not_applicable then '(no date)' else '(date not set yet)' end
            )
        ) as step_title,
        -- Why a step does not apply, from the conditions of contract section 3.
        case
            when not is_not_applicable then null
            when not_applicable_rule = 'no_ops_approval' then 'N/A: ops approval not selected'
            when not_applicable_rule = 'no_customer_approval' then 'N/A: customer approval not selected'
            when not_applicable_rule = 'no_print' then 'N/A: this job has no print bills'
            when not has_electronic_document then 'N/A: this job has no electronic bills'
            else 'N/A: electronic delivery is not delayed for this job'
        end as not_applicable_reason
    from step_dates

)

select * from final
