-- One row per client (biller): its name, time zone and whether it invoices by branch. The
-- dashboard, the e-mails and analysts show names and local times from here.
with clients as (

    select
        client_id,
        client_name,
        timezone,
        invoices_by_branch
    from {{ ref('stg_billing__clients') }}

),

final as (

    select
        client_id,
        client_name,
        timezone,
        coalesce(invoices_by_branch, false) as invoices_by_branch,
        coalesce(nullif(trim(client_name), ''), client_id) as display_name
    from clients

)

select * from final
