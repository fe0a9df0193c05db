{{ config(billing_document_model_config(replaced="fct_documents_replaced()")) }}
-- What billing_touched_documents() reads in incremental builds:
-- depends_on: {{ ref('base_billing__documents') }} {{ ref('base_billing__document_pulls') }}
-- depends_on: {{ ref('base_billing__customers') }} {{ source('landing_state', '_touched_customers') }}
-- depends_on: {{ source('landing_state', '_touched_documents') }}
-- depends_on: {{ source('landing_state', '_touched_document_pulls') }}
-- One row per document: its delivery method (R1), branch (R8) and its job's completion (R2, R3).
-- Incremental refreshes recompute only the documents whose inputs they touched and the documents
-- of jobs whose completion is no longer what this table holds (fct_documents_replaced, recorded
-- by the pre-hooks, which delete their rows); full builds all of them.
with jobs_completed as (

    select
        job_id,
        job_completed_at,
        job_complete_date
    from {{ ref('int_jobs_completed') }}

),

documents as (

    select * from {{ ref('int_documents_classified') }}
    {%- if is_incremental() %}
    where {{ billing_replaced_documents_filter() }}
    {%- endif %}

),

final as (

    select
        documents.document_id,
        documents.client_id,
        documents.job_id,
        documents.batch_id,
        documents.customer_account_id,
        documents.branch_code,
        documents.document_type,
        documents.delivery_method,
        documents.pull_class,
        documents.is_pulled,
        documents.amount_due,
        documents.currency,
        documents.page_count,
        documents.branch_source,
        documents.delivery_channel,
        documents.delivery_method_group,
        documents.document_number,
        documents.document_date,
        documents.is_invoice,
        documents.is_statement,
        documents.pulled_at,
        jobs_completed.job_completed_at,
        jobs_completed.job_complete_date
    from documents
    left join jobs_completed
        on documents.job_id = jobs_completed.job_id

)

select * from final
