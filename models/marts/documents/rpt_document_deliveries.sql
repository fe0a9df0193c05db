-- One row per delivery attempt of a document that passed R14: which document, job and client it
-- belongs to, its channel, when it was attempted and sent, its outcome and its place among the
-- document's attempts. The Job tracking page's search and job details show them.
with documents as (

    select
        document_id,
        client_id,
        job_id,
        document_number
    from {{ ref('int_documents_classified') }}

),

deliveries as (

    select
        delivery_id,
        document_id,
        delivery_channel,
        attempted_at,
        sent_at,
        outcome
    from {{ ref('stg_billing__deliveries') }}

),

numbered as (

    select
        documents.client_id,
        documents.job_id,
        deliveries.document_id,
        documents.document_number,
        deliveries.delivery_id,
        deliveries.delivery_channel,
        deliveries.attempted_at,
        deliveries.sent_at,
        deliveries.outcome,
        row_number() over (
            partition by deliveries.document_id
            order by deliveries.attempted_at, deliveries.delivery_id
        ) as attempt_number
    from deliveries
    inner join documents
        on deliveries.document_id = documents.document_id

)

-- Stored by document: the dashboard reads the attempts of a few documents at a time.
select * from numbered
order by document_id, attempt_number
