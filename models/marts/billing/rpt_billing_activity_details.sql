-- One row per dated batch (R10): dated by the client-local date mailed (print: mailed_at;
-- electronic: completed_at), with counts of the batch's non-pulled documents. Undated batches
-- are left out.
with batches as (

    select
        batch_id,
        job_id,
        batch_type,
        print_facility,
        released_at,
        completed_at,
        mailed_at,
        mail_class,
        piece_count,
        sheet_count,
        postage_amount,
        postage_currency
    from {{ ref('stg_billing__batches') }}

),

jobs as (

    select
        job_id,
        client_id,
        timezone
    from {{ ref('int_jobs_completed') }}

),

documents as (

    select
        batch_id,
        is_invoice,
        is_statement,
        page_count
    from {{ ref('int_documents_classified') }}
    where not is_pulled

),

batch_documents as (

    select
        batch_id,
        count(*) as document_count,
        count(case when is_invoice then 1 end) as invoice_count,
        count(case when is_statement then 1 end) as statement_count,
        cast(sum(page_count) as bigint) as page_count
    from documents
    group by batch_id

),

dated_batches as (

    select
        jobs.client_id,
        batches.*,
        case batches.batch_type
            when 'print' then batches.mailed_at
            when 'electronic' then batches.completed_at
        end as dated_at,
        jobs.timezone
    from batches
    inner join jobs
        on batches.job_id = jobs.job_id

),

final as (

    select
        dated_batches.client_id,
        dated_batches.job_id,
        dated_batches.batch_id,
        dated_batches.batch_type,
        dated_batches.print_facility,
        {{ billing_local_date('dated_batches.dated_at', 'dated_batches.timezone') }} as date_mailed,
        coalesce(batch_documents.document_count, 0) as document_count,
        coalesce(batch_documents.invoice_count, 0) as invoice_count,
        coalesce(batch_documents.statement_count, 0) as statement_count,
        coalesce(batch_documents.page_count, 0) as page_count,
        dated_batches.piece_count,
        dated_batches.postage_amount,
        dated_batches.postage_currency,
        dated_batches.sheet_count,
        dated_batches.mail_class,
        dated_batches.dated_at as mailed_at,
        dated_batches.released_at
    from dated_batches
    left join batch_documents
        on dated_batches.batch_id = batch_documents.batch_id
    where dated_batches.dated_at is not null

)

select * from final
