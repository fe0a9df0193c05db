-- R6: a job's item counts per delivery method add up to its document count in the job tracking
-- report (a job without documents has no delivery-count rows). Returns the jobs that disagree.
with delivery_counts as (

    select
        job_id,
        sum(document_count) as document_count,
        sum(pulled_document_count) as pulled_document_count
    from {{ ref('rpt_job_delivery_counts') }}
    group by job_id

),

job_tracking as (

    select
        job_id,
        document_count,
        pulled_document_count
    from {{ ref('rpt_job_tracking') }}

),

compared as (

    select
        coalesce(job_tracking.job_id, delivery_counts.job_id) as job_id,
        coalesce(job_tracking.document_count, 0) as tracking_document_count,
        coalesce(delivery_counts.document_count, 0) as delivery_document_count,
        coalesce(job_tracking.pulled_document_count, 0) as tracking_pulled_document_count,
        coalesce(delivery_counts.pulled_document_count, 0) as delivery_pulled_document_count
    from job_tracking
    full outer join delivery_counts
        on job_tracking.job_id = delivery_counts.job_id

)

select * from compared
where
    tracking_document_count != delivery_document_count
    or tracking_pulled_document_count != delivery_pulled_document_count
