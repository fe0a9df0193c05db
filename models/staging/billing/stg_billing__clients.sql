with landed_clients as (

    select * from {{ ref('base_billing__clients') }}

),

current_clients as (

    select
        client_id,
        client_name,
        timezone,
        invoices_by_branch,
        _source_file,
        _source_row
    from landed_clients
    where _row_status = 'current'

)

select * from current_clients
