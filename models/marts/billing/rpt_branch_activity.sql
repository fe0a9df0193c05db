-- One row per client, branch, local completion date and delivery method (R8): documents of
-- completed jobs by branch, so that charges can be allocated to branches.
with documents as (

    select
        client_id,
        branch_code,
        job_complete_date,
        delivery_method,
        is_invoice,
        is_statement,
        amount_due,
        currency
    from {{ ref('fct_documents') }}
    where job_complete_date is not null

),

branches as (

    select
        client_id,
        branch_code,
        branch_name
    from {{ ref('stg_billing__branches') }}

),

activity as (

    select
        client_id,
        branch_code,
        job_complete_date as activity_date,
        delivery_method,
        count(*) as document_count,
        count(case when is_invoice then 1 end) as invoice_count,
        count(case when is_statement then 1 end) as statement_count,
        sum(amount_due) as amount_due,
        case when count(distinct currency) = 1 then min(currency) end as currency
    from documents
    group by
        client_id,
        branch_code,
        job_complete_date,
        delivery_method

),

final as (

    select
        activity.client_id,
        activity.branch_code,
        {{ billing_branch_name('activity.branch_code', 'branches.branch_name') }} as branch_name,
        activity.activity_date,
        activity.delivery_method,
        activity.document_count,
        activity.invoice_count,
        activity.statement_count,
        activity.amount_due,
        activity.currency
    from activity
    left join branches
        on
            activity.client_id = branches.client_id
            and activity.branch_code = branches.branch_code

)

select * from final
