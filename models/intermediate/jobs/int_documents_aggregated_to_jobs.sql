-- One row per job that has documents: how many it has in all, pulled (R1), by delivery method
-- group, their amount due and their currency when they share one. Computed once for the job
-- reports (tracking, steps, approval, activity).
with documents as (

    select
        job_id,
        delivery_method_group,
        is_pulled,
        amount_due,
        currency
    from {{ ref('int_documents_classified') }}

),

job_documents as (

    select
        job_id,
        count(*) as document_count,
        count(case when is_pulled then 1 end) as pulled_document_count,
        count(case when delivery_method_group = 'print' then 1 end) as print_document_count,
        count(case when delivery_method_group = 'electronic' then 1 end) as electronic_document_count,
        sum(amount_due) as amount_due,
        case when count(distinct currency) = 1 then min(currency) end as currency
    from documents
    group by job_id

)

select * from job_documents
