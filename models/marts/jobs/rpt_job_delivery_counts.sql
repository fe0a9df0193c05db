-- One row per job and delivery method: the job's item counts per delivery method (R1, R6).
with documents as (

    select
        client_id,
        job_id,
        delivery_method,
        is_pulled
    from {{ ref('int_documents_classified') }}

),

delivery_counts as (

    select
        client_id,
        job_id,
        delivery_method,
        count(*) as document_count,
        count(case when is_pulled then 1 end) as pulled_document_count
    from documents
    group by
        client_id,
        job_id,
        delivery_method

)

select * from delivery_counts
