-- One row per contact role period: who a client's contacts are, their role and when that role
-- is valid. The e-mails read the contacts valid at a moment from here (R11, R12, R7 reminders).
with contacts as (

    select
        contact_id,
        client_id,
        full_name,
        email,
        role,
        valid_from,
        valid_to
    from {{ ref('stg_billing__contacts') }}

)

select * from contacts
