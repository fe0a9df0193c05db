with landed_customer_routing as (

    select * from {{ ref('base_billing__customer_routing') }}

),

current_customer_routing as (

    select
        routing_id,
        client_id,
        customer_account_id,
        delivery_channel,
        destination,
        pull_class,
        routing_source,
        valid_from,
        valid_to,
        _source_file,
        _source_row
    from landed_customer_routing
    where _row_status = 'current'

)

select * from current_customer_routing
