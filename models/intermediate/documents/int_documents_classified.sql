{{ config(billing_document_model_config()) }}
-- What billing_touched_documents() reads in incremental builds:
-- depends_on: {{ ref('base_billing__documents') }} {{ ref('base_billing__document_pulls') }}
-- depends_on: {{ ref('base_billing__customers') }} {{ source('landing_state', '_touched_customers') }}
-- depends_on: {{ source('landing_state', '_touched_documents') }}
-- depends_on: {{ source('landing_state', '_touched_document_pulls') }}
-- One row per document with its delivery method (R1) and branch (R8), computed once for every report.
-- Incremental refreshes recompute only the documents whose inputs they touched
-- (macros/landing/billing_touched_documents.sql); full builds all of them.
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
        amount_due,
        currency,
        delivery_channel,
        pull_class,
        page_count
    from {{ ref('stg_billing__documents') }}
    {%- if is_incremental() %}
    where document_id in ({{ billing_touched_documents() }})
    {%- endif %}

),

document_pulls as (

    select
        document_id,
        min(pulled_at) as pulled_at
    from {{ ref('stg_billing__document_pulls') }}
    group by document_id

),

customers as (

    select
        client_id,
        customer_account_id,
        branch_code
    from {{ ref('stg_billing__customers') }}

),

delivery_channels as (

    select
        delivery_channel,
        channel_group
    from {{ ref('delivery_channels') }}

),

document_types as (

    select
        document_type,
        is_invoice,
        is_statement
    from {{ ref('document_types') }}

),

methods as (

    select
        documents.*,
        document_pulls.document_id is not null as is_pulled,
        document_pulls.pulled_at,
        case
            when document_pulls.document_id is not null then 'pull'
            else documents.delivery_channel
        end as delivery_method,
        case
            when document_pulls.document_id is not null then 'T'
            when documents.delivery_channel = 'pull' then documents.pull_class
        end as method_pull_class,
        documents.branch_code as document_branch_code,
        customers.branch_code as customer_branch_code
    from documents
    left join document_pulls
        on documents.document_id = document_pulls.document_id
    left join customers
        on
            documents.client_id = customers.client_id
            and documents.customer_account_id = customers.customer_account_id

),

classified as (

    select
        methods.document_id,
        methods.client_id,
        methods.job_id,
        methods.batch_id,
        methods.customer_account_id,
        coalesce(methods.document_branch_code, methods.customer_branch_code, 'UNASSIGNED') as branch_code,
        case
            when methods.document_branch_code is not null then 'document'
            when methods.customer_branch_code is not null then 'customer'
            else 'unassigned'
        end as branch_source,
        methods.document_type,
        methods.document_number,
        methods.document_date,
        methods.delivery_channel,
        methods.delivery_method,
        methods.method_pull_class as pull_class,
        delivery_channels.channel_group as delivery_method_group,
        methods.is_pulled,
        methods.pulled_at,
        coalesce(document_types.is_invoice, false) as is_invoice,
        coalesce(document_types.is_statement, false) as is_statement,
        methods.amount_due,
        methods.currency,
        methods.page_count
    from methods
    left join delivery_channels
        on methods.delivery_method = delivery_channels.delivery_channel
    left join document_types
        on methods.document_type = document_types.document_type

)

select * from classified
