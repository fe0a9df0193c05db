{{ config(billing_document_model_config(
    replaced="billing_documents_of_touched(
        ['documents', 'deliveries', 'document_pulls', 'customers', 'jobs', 'batches', 'clients'])",
    post_hook=[
        "{{ billing_store_in_order(['document_number', 'document_id'], billing_sort_slices(ref('int_documents_classified'))) }}",
    ],
)) }}
-- One row per document that passed R14, as the Job tracking page lists and finds it: its job and
-- batch, its customer, its routing as generated and as delivered (R1), its delivery attempts and
-- the date it was mailed or sent, and the state the page filters on.
-- Incremental refreshes recompute only the documents whose inputs (document, pulls, customer,
-- deliveries, job, batch, client) they re-judged: the pre-hooks record them and delete their rows
-- (macros/landing/billing_replaced_documents.sql); full builds all of them.
with documents as (

    select
        document_id,
        client_id,
        job_id,
        batch_id,
        customer_account_id,
        branch_code,
        document_type,
        document_number,
        document_date,
        delivery_channel,
        delivery_method,
        pull_class,
        delivery_method_group,
        is_pulled,
        pulled_at,
        amount_due,
        currency,
        page_count
    from {{ ref('int_documents_classified') }}
    {%- if is_incremental() %}
    where {{ billing_replaced_documents_filter() }}
    {%- endif %}

),

jobs as (

    select
        job_id,
        job_name
    from {{ ref('stg_billing__jobs') }}

),

clients as (

    select
        client_id,
        timezone
    from {{ ref('stg_billing__clients') }}

),

customers as (

    select
        client_id,
        customer_account_id,
        customer_name
    from {{ ref('stg_billing__customers') }}

),

batches as (

    select
        batch_id,
        batch_type,
        mailed_at
    from {{ ref('stg_billing__batches') }}

),

deliveries as {{ billing_inline_cte() }} (

    select
        delivery_id,
        document_id,
        attempted_at,
        sent_at,
        outcome
    from {{ ref('stg_billing__deliveries') }}
    {%- if is_incremental() %}
    where {{ billing_replaced_documents_filter() }}
    {%- endif %}

),

-- The latest attempt decides the state (a bounce after a send shows as bounced); the first
-- send is the date sent, as in R2.
ranked_deliveries as (

    select
        document_id,
        attempted_at,
        outcome,
        row_number() over (
            partition by document_id
            order by attempted_at desc, delivery_id desc
        ) as recency_rank
    from deliveries

),

delivery_summaries as (

    select
        document_id,
        count(*) as delivery_attempt_count,
        count(case when outcome = 'sent' then 1 end) as sent_attempt_count,
        count(case when outcome = 'bounced' then 1 end) as bounced_attempt_count,
        count(case when outcome = 'failed' then 1 end) as failed_attempt_count,
        min(sent_at) as first_sent_at
    from deliveries
    group by document_id

),

last_attempts as (

    select
        document_id,
        attempted_at as last_attempted_at,
        outcome as last_attempt_outcome
    from ranked_deliveries
    where recency_rank = 1

),

joined as (

    select
        documents.*,
        jobs.job_name,
        clients.timezone,
        customers.customer_name,
        batches.batch_type,
        batches.mailed_at,
        coalesce(delivery_summaries.delivery_attempt_count, 0) as delivery_attempt_count,
        coalesce(delivery_summaries.sent_attempt_count, 0) as sent_attempt_count,
        coalesce(delivery_summaries.bounced_attempt_count, 0) as bounced_attempt_count,
        coalesce(delivery_summaries.failed_attempt_count, 0) as failed_attempt_count,
        delivery_summaries.first_sent_at,
        last_attempts.last_attempted_at,
        last_attempts.last_attempt_outcome
    from documents
    left join jobs
        on documents.job_id = jobs.job_id
    left join clients
        on documents.client_id = clients.client_id
    left join customers
        on
            documents.client_id = customers.client_id
            and documents.customer_account_id = customers.customer_account_id
    left join batches
        on documents.batch_id = batches.batch_id
    left join delivery_summaries
        on documents.document_id = delivery_summaries.document_id
    left join last_attempts
        on documents.document_id = last_attempts.document_id

),

dated as (

    select
        *,
        case
            when delivery_method_group = 'print' then mailed_at
            when delivery_method_group = 'electronic' then first_sent_at
        end as mailed_or_sent_at
    from joined

),

final as (

    select
        client_id,
        job_id,
        job_name,
        batch_id,
        batch_type,
        document_id,
        document_number,
        document_type,
        document_date,
        customer_account_id,
        customer_name,
        branch_code,
        delivery_channel,
        delivery_method,
        pull_class,
        delivery_method_group,
        is_pulled,
        pulled_at,
        amount_due,
        currency,
        page_count,
        delivery_attempt_count,
        sent_attempt_count,
        bounced_attempt_count,
        failed_attempt_count,
        first_sent_at,
        last_attempted_at,
        last_attempt_outcome,
        mailed_at,
        mailed_or_sent_at,
        {{ billing_local_date('mailed_or_sent_at', 'timezone') }} as mailed_or_sent_date,
        case
            when delivery_method_group = 'pull' then 'pulled'
            when delivery_method_group = 'print' and mailed_at is not null then 'sent'
            when delivery_method_group = 'print' then 'waiting'
            when last_attempt_outcome = 'sent' then 'sent'
            when last_attempt_outcome in ('bounced', 'failed') then 'bounced_or_failed'
            else 'waiting'
        end as delivery_state
    from dated

)

-- Stored in document-number order: the dashboard's lookup by number then reads only the block
-- that holds it (DuckDB's min/max per row group), at 10M documents too. An incremental build
-- appends its documents after the stored ones, themselves in this order: a lookup then reads the
-- block that holds the number and the blocks appended since the last full build whose range
-- covers it (about one per refresh); the next full build stores the table in order again. Above
-- var billing_sort_slice_rows documents, a full build sorts in slices of document_number, in a
-- post-hook (macros/portable/billing_sorted_in_slices.sql): one sort of every row does not fit.
select * from final
{%- if billing_sort_slices(ref('int_documents_classified')) == 1 %}
    order by document_number, document_id
{%- endif %}
