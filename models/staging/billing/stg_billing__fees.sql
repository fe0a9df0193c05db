with landed_fees as (

    select * from {{ ref('base_billing__fees') }}

),

current_fees as (

    select
        fee_id,
        client_id,
        job_id,
        batch_id,
        document_id,
        branch_code,
        fee_type,
        quantity,
        unit_price,
        amount,
        currency,
        fee_date,
        print_facility,
        _source_file,
        _source_row
    from landed_fees
    where _row_status = 'current'

)

select * from current_fees
