{{ config(billing_document_model_config(
    replaced="'select document_id from ' ~ billing_replaced_documents_table(ref('rpt_job_documents').identifier)",
)) }}
-- The documents of rpt_job_documents by customer account: which document numbers a customer account
-- was billed, stored in account order so that the dashboard's lookup by customer account reads one
-- block of this narrow table, then the documents by number, each in the one block of
-- rpt_job_documents that holds it (that table is stored in document-number order). Without it the
-- lookup scans every document (about 280 ms at 10M).
-- Incremental refreshes replace exactly the documents rpt_job_documents replaced (its
-- raw._touched_rows_ table, written by its own pre-hooks earlier in the same build); they are
-- appended after the stored rows, so a lookup also reads the small blocks appended since the last
-- full build.
select
    customer_account_id,
    client_id,
    document_number,
    document_id
from {{ ref('rpt_job_documents') }}
{%- if is_incremental() %}
    where {{ billing_replaced_documents_filter() }}
{%- else %}
    order by customer_account_id, client_id, document_number, document_id
{%- endif %}
