-- One row per client, local completion date and delivery method: the bills of completed jobs
-- (R4), pulled bills included, dated by the job's local completion date (R2, R3).
with documents as (

    select
        client_id,
        job_id,
        delivery_method,
        job_complete_date
    from {{ ref('fct_documents') }}
    where job_complete_date is not null

),

statistics as (

    select
        client_id,
        job_complete_date,
        delivery_method,
        count(distinct job_id) as job_count,
        count(*) as bill_count
    from documents
    group by
        client_id,
        job_complete_date,
        delivery_method

)

select * from statistics
