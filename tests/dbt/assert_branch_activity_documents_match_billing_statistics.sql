-- R8 / R4: the branch report allocates the same documents as billing statistics, only split by
-- branch: per client, local completion date and delivery method, branch activity's
-- document_count sums to billing statistics' bill_count. Returns the combinations that disagree.
with branch_activity as (

    select
        client_id,
        activity_date,
        delivery_method,
        sum(document_count) as document_count
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

),

compared as (

    select
        coalesce(branch_activity.client_id, billing_statistics.client_id) as client_id,
        coalesce(branch_activity.activity_date, billing_statistics.job_complete_date) as activity_date,
        coalesce(branch_activity.delivery_method, billing_statistics.delivery_method) as delivery_method,
        coalesce(branch_activity.document_count, 0) as branch_document_count,
        coalesce(billing_statistics.bill_count, 0) as bill_count
    from branch_activity
    full outer join billing_statistics
        on
            branch_activity.client_id = billing_statistics.client_id
            and branch_activity.activity_date = billing_statistics.job_complete_date
            and branch_activity.delivery_method = billing_statistics.delivery_method

)

select * from compared
where branch_document_count != bill_count
