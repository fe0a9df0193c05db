-- R10: per job, the document counts of rpt_billing_activity_details sum to the job's non-pulled
-- documents that sit in a dated batch. By the rule's definition a batch is dated when it is a
-- print batch with mailed_at or an electronic batch with completed_at: a print batch that only
-- completed printing is not dated, an electronic batch never uses mailed_at. Documents without a
-- batch, or whose batch never landed, are in no batch row. Documents are taken to their batch's
-- job (the batch row's job_id). Returns the jobs where the two disagree.
with dated_batches as (

    select
        batch_id,
        job_id
    from {{ ref('stg_billing__batches') }}
    where
        (batch_type = 'print' and mailed_at is not null)
        or (batch_type = 'electronic' and completed_at is not null)

),

batched_documents as (

    select
        dated_batches.job_id,
        count(*) as document_count
    from {{ ref('fct_documents') }} as documents
    inner join dated_batches
        on documents.batch_id = dated_batches.batch_id
    where not documents.is_pulled
    group by dated_batches.job_id

),

report as (

    select
        job_id,
        sum(document_count) as document_count
    from {{ ref('rpt_billing_activity_details') }}
    group by job_id

)

{{ billing_totals_that_disagree(
    left='report',
    right='batched_documents',
    keys=['job_id'],
    measures=['document_count'],
) }}
