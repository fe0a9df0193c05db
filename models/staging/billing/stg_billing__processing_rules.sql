with landed_processing_rules as (

    select * from {{ ref('base_billing__processing_rules') }}

),

current_processing_rules as (

    select
        rule_id,
        client_id,
        rule_type,
        rule_value,
        valid_from,
        valid_to,
        _source_file,
        _source_row
    from landed_processing_rules
    where _row_status = 'current'

)

select * from current_processing_rules
