with landed_customers as (

    select * from {{ ref('base_billing__customers') }}

),

current_customers as (

    select
        client_id,
        customer_account_id,
        customer_name,
        branch_code,
        _source_file,
        _source_row
    from landed_customers
    where _row_status = 'current'

)

select * from current_customers
