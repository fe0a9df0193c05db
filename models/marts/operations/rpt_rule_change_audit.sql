-- One row per processing-rule change request (R13): authorized only when requested by a
-- primary support contact of the same client who was valid at the time of the request. A
-- requester who is a contact of another client is shown as "a contact of another client".
with processing_rule_changes as (

    select
        change_id,
        client_id,
        rule_id,
        requested_by_contact_id,
        requested_at,
        applied_at,
        summary
    from {{ ref('stg_billing__processing_rule_changes') }}

),

contacts as (

    select
        contact_id,
        client_id,
        full_name,
        role,
        valid_from,
        valid_to
    from {{ ref('stg_billing__contacts') }}

),

requests as (

    select
        processing_rule_changes.*,
        contacts.contact_id as known_contact_id,
        contacts.client_id as contact_client_id,
        contacts.full_name as requested_by_name,
        contacts.role as requested_by_role,
        (contacts.valid_from is null or contacts.valid_from <= processing_rule_changes.requested_at)
        and (contacts.valid_to is null or processing_rule_changes.requested_at < contacts.valid_to)
            as is_contact_valid_at_request
    from processing_rule_changes
    left join contacts
        on processing_rule_changes.requested_by_contact_id = contacts.contact_id

),

final as (

    select
        client_id,
        change_id,
        rule_id,
        requested_by_contact_id,
        requested_at,
        applied_at,
        coalesce(
            known_contact_id is not null
            and contact_client_id = client_id
            and requested_by_role = 'primary_support'
            and is_contact_valid_at_request,
            false
        ) as is_authorized,
        case
            when requested_by_contact_id is null then 'no requester recorded'
            when known_contact_id is null then 'requester is not a known contact'
            when contact_client_id != client_id then 'requester is a contact of another client'
            when requested_by_role != 'primary_support'
                then 'requester''s role is ' || requested_by_role || ', not primary_support'
            when not is_contact_valid_at_request then 'requester was not a valid contact at the time of the request'
            else 'requested by a primary support contact'
        end as authorization_reason,
        -- Another client's contact is not named to this client (nor its role shown): issue 16.
        case
            when contact_client_id != client_id then 'a contact of another client'
            else requested_by_name
        end as requested_by_name,
        case when contact_client_id != client_id then null else requested_by_role end as requested_by_role,
        summary,
        applied_at is not null as is_applied
    from requests

)

select * from final
