with landed_documents as (

    select * from {{ ref('base_billing__documents') }}

),

current_documents as (

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
        page_count,
        _source_file,
        _source_row
    from landed_documents
    where _row_status = 'current'

)

select * from current_documents
