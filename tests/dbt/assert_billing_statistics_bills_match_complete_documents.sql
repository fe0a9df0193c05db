-- R4: the bills in rpt_billing_statistics are exactly the documents of complete jobs in
-- fct_documents (pulled ones included), per client, local completion date and delivery method.
-- Returns the combinations where the two disagree.
with statistics as (

    select
        client_id,
        job_complete_date,
        delivery_method,
        sum(bill_count) as bill_count,
        sum(job_count) as job_count
    from {{ ref('rpt_billing_statistics') }}
    group by client_id, job_complete_date, delivery_method

),

documents as (

    select
        client_id,
        job_complete_date,
        delivery_method,
        count(*) as bill_count,
        count(distinct job_id) as job_count
    from {{ ref('fct_documents') }}
    where job_complete_date is not null
    group by client_id, job_complete_date, delivery_method

)

{{ billing_totals_that_disagree(
    left='statistics',
    right='documents',
    keys=['client_id', 'job_complete_date', 'delivery_method'],
    measures=['bill_count', 'job_count'],
) }}
