{#-
    The documents an incremental build of fct_documents recomputes: those whose inputs it touched
    (billing_touched_documents), and those of the jobs whose completion (int_jobs_completed) is no
    longer what the table holds, as stored and as now classified. Rendered in fct_documents'
    pre-hook, before the table is replaced; every relation it reads is declared by the model.
-#}
{% macro fct_documents_replaced() %}
    with stored_completions as (
        select distinct job_id, job_completed_at, job_complete_date from {{ this }}
    ),

    completions as (
        select job_id, job_completed_at, job_complete_date from {{ ref('int_jobs_completed') }}
    ),

    changed_jobs as (
        select job_id from (select * from completions except select * from stored_completions) as now_different
        union
        select job_id from (select * from stored_completions except select * from completions) as was_different
    )

    select document_id from ({{ billing_touched_documents() }}) as touched
    union
    select document_id from {{ ref('int_documents_classified') }}
    where job_id in (select changed_jobs.job_id from changed_jobs)
    union
    select document_id from {{ this }}
    where job_id in (select changed_jobs.job_id from changed_jobs)
{% endmacro %}
