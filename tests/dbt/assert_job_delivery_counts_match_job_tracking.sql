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

)

{{ billing_totals_that_disagree(
    left='job_tracking',
    right='delivery_counts',
    keys=['job_id'],
    measures=['document_count', 'pulled_document_count'],
) }}
