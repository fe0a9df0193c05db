-- One row per job with its electronic and print parts and its completion time (R2), in UTC and
-- as the client's local date (R3), and its first JOB_COMPLETE event (the tracker's completion, R6,
-- and the Job Activity Report's, R11). Computed once; every report that needs completion reads it.
with jobs as (

    select
        job_id,
        client_id,
        job_name
    from {{ ref('stg_billing__jobs') }}

),

clients as (

    select
        client_id,
        timezone
    from {{ ref('stg_billing__clients') }}

),

documents as {{ billing_inline_cte() }} (

    select
        document_id,
        job_id,
        batch_id,
        delivery_method_group
    from {{ ref('int_documents_classified') }}

),

deliveries as (

    select
        document_id,
        sent_at
    from {{ ref('stg_billing__deliveries') }}
    where sent_at is not null

),

batches as (

    select
        batch_id,
        released_at
    from {{ ref('stg_billing__batches') }}

),

job_complete_events as (

    select
        job_id,
        min(event_at) as job_complete_event_at
    from {{ ref('stg_billing__job_status_events') }}
    where status_code = 'JOB_COMPLETE'
    group by job_id

),

-- A document's first successful send counts; a later bounce does not undo it.
first_sends as (

    select
        document_id,
        min(sent_at) as first_sent_at
    from deliveries
    group by document_id

),

electronic_parts as (

    select
        documents.job_id,
        count(*) as electronic_document_count,
        count(first_sends.first_sent_at) as electronic_sent_count,
        max(first_sends.first_sent_at) as last_electronic_sent_at
    from documents
    left join first_sends
        on documents.document_id = first_sends.document_id
    where documents.delivery_method_group = 'electronic'
    group by documents.job_id

),

print_batches as (

    select distinct
        job_id,
        batch_id
    from documents
    where delivery_method_group = 'print'

),

-- A print document without a batch, or whose batch has not landed, is not yet sent to print.
print_parts as (

    select
        print_batches.job_id,
        count(*) as print_batch_count,
        count(batches.released_at) as released_batch_count,
        max(batches.released_at) as last_released_at
    from print_batches
    left join batches
        on print_batches.batch_id = batches.batch_id
    group by print_batches.job_id

),

job_parts as (

    select
        jobs.job_id,
        jobs.client_id,
        jobs.job_name,
        clients.timezone,
        coalesce(electronic_parts.electronic_document_count, 0) > 0 as has_electronic_part,
        coalesce(print_parts.print_batch_count, 0) > 0 as has_print_part,
        case
            when electronic_parts.electronic_sent_count = electronic_parts.electronic_document_count
                then electronic_parts.last_electronic_sent_at
        end as electronic_sent_at,
        case
            when print_parts.released_batch_count = print_parts.print_batch_count
                then print_parts.last_released_at
        end as print_sent_at,
        job_complete_events.job_complete_event_at
    from jobs
    left join clients
        on jobs.client_id = clients.client_id
    left join electronic_parts
        on jobs.job_id = electronic_parts.job_id
    left join print_parts
        on jobs.job_id = print_parts.job_id
    left join job_complete_events
        on jobs.job_id = job_complete_events.job_id

),

completion as (

    select
        *,
        case
            when has_electronic_part and has_print_part
                then case
                        when electronic_sent_at is not null and print_sent_at is not null
                            then greatest(electronic_sent_at, print_sent_at)
                    end
            when has_electronic_part then electronic_sent_at
            when has_print_part then print_sent_at
            else job_complete_event_at
        end as job_completed_at
    from job_parts

),

final as (

    select
        job_id,
        client_id,
        job_name,
        timezone,
        has_electronic_part,
        has_print_part,
        electronic_sent_at,
        print_sent_at,
        job_complete_event_at,
        {{ billing_local_date('job_complete_event_at', 'timezone') }} as job_complete_event_date,
        job_completed_at,
        {{ billing_local_date('job_completed_at', 'timezone') }} as job_complete_date,
        job_completed_at is not null as is_complete
    from completion

)

select * from final
