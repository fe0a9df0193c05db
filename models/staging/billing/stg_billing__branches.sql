with landed_branches as (

    select * from {{ ref('base_billing__branches') }}

),

current_branches as (

    select
        client_id,
        branch_code,
        branch_name,
        country,
        _source_file,
        _source_row
    from landed_branches
    where _row_status = 'current'

)

select * from current_branches
