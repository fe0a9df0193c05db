{{ config(billing_document_model_config(
    replaced="billing_documents_of_touched(['documents', 'deliveries'])",
    post_hook=[
        "{{ billing_store_in_order(['document_id', 'attempt_number'], billing_sort_slices(ref('stg_billing__deliveries'))) }}",
    ],
)) }}
-- One row per delivery attempt of a document that passed R14: which document, job and client it
-- belongs to, its channel, when it was attempted and sent, its outcome and its place among the
-- document's attempts. The Job tracking page's search and job details show them.
-- Incremental refreshes recompute the attempts of the documents whose document or deliveries
-- (every version: a re-sent delivery may name another document) they re-judged; the pre-hooks
-- record them and delete their rows (macros/landing/billing_replaced_documents.sql).
with documents as (

    select
        document_id,
        client_id,
        job_id,
        document_number
    from {{ ref('int_documents_classified') }}
    {%- if is_incremental() %}
    where {{ billing_replaced_documents_filter() }}
    {%- endif %}

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
    {%- if is_incremental() %}
    where {{ billing_replaced_documents_filter() }}
    {%- endif %}

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

-- Stored by document: the dashboard reads the attempts of a few documents at a time (an
-- incremental build appends its documents, in this order, after the stored ones). Above var
-- billing_sort_slice_rows attempts, a full build sorts in slices of document_id, in a post-hook.
select * from numbered
{%- if billing_sort_slices(ref('stg_billing__deliveries')) == 1 %}
    order by document_id, attempt_number
{%- endif %}
