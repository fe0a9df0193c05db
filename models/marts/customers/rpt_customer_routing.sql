-- One row per client and delivery channel: the distinct customers routed to the channel at
-- `as_of` (R5), leaving out US Mail and routings that came with the billing files.
with customer_routings as (

    select
        client_id,
        customer_account_id,
        delivery_channel,
        routing_source,
        valid_from,
        valid_to
    from {{ ref('stg_billing__customer_routings') }}

),

routings_as_of as (

    select
        client_id,
        customer_account_id,
        delivery_channel
    from customer_routings
    where
        delivery_channel != 'us_mail'
        and routing_source != 'billing_file'
        and valid_from <= {{ billing_as_of() }}
        and (valid_to is null or {{ billing_as_of() }} < valid_to)

),

final as (

    select
        client_id,
        delivery_channel,
        count(distinct customer_account_id) as customer_count,
        {{ billing_as_of() }} as as_of
    from routings_as_of
    group by
        client_id,
        delivery_channel

)

select * from final
