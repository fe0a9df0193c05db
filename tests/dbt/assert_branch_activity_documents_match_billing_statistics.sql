-- R8 / R4: the branch report allocates the same documents as billing statistics, only split by
-- branch: per client, local completion date and delivery method, branch activity's
-- document_count sums to billing statistics' bill_count. Returns the combinations that disagree.
with branch_activity as (

    select
        client_id,
        activity_date as job_complete_date,
        delivery_method,
        sum(document_count) as bill_count
    from {{ ref('rpt_branch_activity') }}
    group by client_id, activity_date, delivery_method

),

billing_statistics as (

    select
        client_id,
        job_complete_date,
        delivery_method,
        sum(bill_count) as bill_count
    from {{ ref('rpt_billing_statistics') }}
    group by client_id, job_complete_date, delivery_method

)

{{ billing_totals_that_disagree(
    left='branch_activity',
    right='billing_statistics',
    keys=['client_id', 'job_complete_date', 'delivery_method'],
    measures=['bill_count'],
) }}
