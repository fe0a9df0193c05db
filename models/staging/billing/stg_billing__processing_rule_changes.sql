with landed_processing_rule_changes as (

    select * from {{ ref('base_billing__processing_rule_changes') }}

),

current_processing_rule_changes as (

    select
        change_id,
        client_id,
        rule_id,
        requested_by_contact_id,
        requested_at,
        applied_at,
        summary,
        _source_file,
        _source_row
    from landed_processing_rule_changes
    where _row_status = 'current'

)

select * from current_processing_rule_changes
