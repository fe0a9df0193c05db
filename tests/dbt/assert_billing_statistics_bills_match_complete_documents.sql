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

),

compared as (

    select
        coalesce(statistics.client_id, documents.client_id) as client_id,
        coalesce(statistics.job_complete_date, documents.job_complete_date) as job_complete_date,
        coalesce(statistics.delivery_method, documents.delivery_method) as delivery_method,
        coalesce(statistics.bill_count, 0) as report_bill_count,
        coalesce(documents.bill_count, 0) as document_count,
        coalesce(statistics.job_count, 0) as report_job_count,
        coalesce(documents.job_count, 0) as document_job_count
    from statistics
    full outer join documents
        on
            statistics.client_id = documents.client_id
            and statistics.job_complete_date = documents.job_complete_date
            and statistics.delivery_method = documents.delivery_method

)

select * from compared
where
    report_bill_count != document_count
    or report_job_count != document_job_count
