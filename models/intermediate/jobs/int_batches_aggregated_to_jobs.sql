-- One row per job that has batches: how many print and electronic batches it has, the earliest
-- scheduled_send_date of its electronic batches (tracker step 7, R6) and the latest
-- post_office_due_date of its print batches (step 9).
with batches as (

    select
        job_id,
        batch_type,
        scheduled_send_date,
        post_office_due_date
    from {{ ref('stg_billing__batches') }}

),

job_batches as (

    select
        job_id,
        count(case when batch_type = 'print' then 1 end) as print_batch_count,
        count(case when batch_type = 'electronic' then 1 end) as electronic_batch_count,
        min(case when batch_type = 'electronic' then scheduled_send_date end) as earliest_scheduled_send_date,
        max(case when batch_type = 'print' then post_office_due_date end) as latest_post_office_due_date
    from batches
    group by job_id

)

select * from job_batches
