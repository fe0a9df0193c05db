with landed_deliveries as (

    select * from {{ ref('base_billing__deliveries') }}

),

current_deliveries as (

    select
        delivery_id,
        document_id,
        delivery_channel,
        attempted_at,
        sent_at,
        outcome,
        _source_file,
        _source_row
    from landed_deliveries
    where _row_status = 'current'

)

select * from current_deliveries
