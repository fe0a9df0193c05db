-- One row per client, branch, fee date, fee type, currency and print facility (R9): fees by
-- branch, in their own currency, and in USD when the user gave a CAD -> USD rate.
with fees as (

    select
        fee_id,
        client_id,
        document_id,
        branch_code,
        fee_type,
        amount,
        currency,
        fee_date,
        print_facility
    from {{ ref('stg_billing__fees') }}

),

documents as (

    select
        document_id,
        branch_code
    from {{ ref('int_documents_classified') }}

),

branches as (

    select
        client_id,
        branch_code,
        branch_name
    from {{ ref('stg_billing__branches') }}

),

fee_branches as (

    select
        fees.client_id,
        coalesce(fees.branch_code, documents.branch_code, 'UNASSIGNED') as branch_code,
        fees.fee_date,
        fees.fee_type,
        fees.currency,
        fees.print_facility,
        fees.amount
    from fees
    left join documents
        on fees.document_id = documents.document_id

),

fee_totals as (

    select
        client_id,
        branch_code,
        fee_date,
        fee_type,
        currency,
        print_facility,
        count(*) as fee_count,
        sum(amount) as fee_amount
    from fee_branches
    group by
        client_id,
        branch_code,
        fee_date,
        fee_type,
        currency,
        print_facility

),

final as (

    select
        fee_totals.client_id,
        fee_totals.branch_code,
        {{ billing_branch_name('fee_totals.branch_code', 'branches.branch_name') }} as branch_name,
        fee_totals.fee_date,
        fee_totals.fee_type,
        fee_totals.currency,
        fee_totals.print_facility,
        fee_totals.fee_amount,
        cast(
            case fee_totals.currency
                when 'USD' then fee_totals.fee_amount
                when 'CAD' then round(fee_totals.fee_amount * {{ billing_cad_to_usd_rate() }}, 2)
            end as decimal(18, 2)
        ) as fee_amount_usd,
        fee_totals.fee_count,
        {{ billing_cad_to_usd_rate() }} as cad_to_usd_rate
    from fee_totals
    left join branches
        on
            fee_totals.client_id = branches.client_id
            and fee_totals.branch_code = branches.branch_code

)

select * from final
