with landed_batches as (

    select * from {{ ref('base_billing__batches') }}

),

current_batches as (

    select
        batch_id,
        job_id,
        batch_type,
        print_facility,
        released_at,
        scheduled_send_date,
        completed_at,
        post_office_due_date,
        mailed_at,
        mail_class,
        piece_count,
        sheet_count,
        postage_amount,
        postage_currency,
        _source_file,
        _source_row
    from landed_batches
    where _row_status = 'current'

)

select * from current_batches
