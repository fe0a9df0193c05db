with landed_contacts as (

    select * from {{ ref('base_billing__contacts') }}

),

current_contacts as (

    select
        contact_id,
        client_id,
        full_name,
        email,
        role,
        valid_from,
        valid_to,
        _source_file,
        _source_row
    from landed_contacts
    where _row_status = 'current'

)

select * from current_contacts
