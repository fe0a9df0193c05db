-- lookup_documents_by_account holds exactly the documents of rpt_job_documents, each with its
-- customer account, client and number as rpt_job_documents has them (the dashboard's lookup by
-- customer account finds its documents through it). Returns the rows in one and not the other.
-- An incremental build compares the documents either table replaced (billing_replaced_rows): the
-- other rows are as the previous build, which this test passed, left them.
{%- set replaced = billing_tests_scoped() %}
{%- set replaced_documents = '(' ~ billing_replaced_rows('rpt_job_documents') ~ ') or ('
    ~ billing_replaced_rows('lookup_documents_by_account') ~ ')' %}
with expected as (

    select
        document_id,
        customer_account_id,
        client_id,
        document_number
    from {{ ref('rpt_job_documents') }}
    {%- if replaced %}
    where {{ replaced_documents }}
    {%- endif %}

),

found as (

    select
        document_id,
        customer_account_id,
        client_id,
        document_number
    from {{ ref('lookup_documents_by_account') }}
    {%- if replaced %}
    where {{ replaced_documents }}
    {%- endif %}

),

missing as (

    select * from expected
    except all
    select * from found

),

extra as (

    select * from found
    except all
    select * from expected

)

select
    'missing from lookup_documents_by_account' as problem,
    missing.*
from missing
union all
select
    'not in rpt_job_documents' as problem,
    extra.*
from extra
