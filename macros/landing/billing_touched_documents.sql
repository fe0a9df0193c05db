{#-
    The documents whose `int_documents_classified` / `fct_documents` row an incremental build must
    compute again: documents in a key group the build re-judged (`raw._touched_documents`), the
    documents of re-judged pulls (every version: a re-sent pull may name another document), and
    the documents of re-judged customers (their branch, R8). Called only by incremental builds: the
    calling models declare what it reads with `-- depends_on:`, so that dbt sees it when it parses.
-#}
{% macro billing_touched_documents() %}
    select document_id from {{ ref('base_billing__documents') }}
    where _group_key in (select _group_key from {{ source('landing_state', '_touched_documents') }})
    union
    select document_id from {{ ref('base_billing__document_pulls') }}
    where _group_key in (select _group_key from {{ source('landing_state', '_touched_document_pulls') }})
    union
    select current_documents.document_id
    from {{ ref('base_billing__documents') }} as current_documents
    inner join (
        select distinct client_id, customer_account_id
        from {{ ref('base_billing__customers') }}
        where _group_key in (select _group_key from {{ source('landing_state', '_touched_customers') }})
    ) as touched_customers
        on
            current_documents.client_id = touched_customers.client_id
            and current_documents.customer_account_id = touched_customers.customer_account_id
    where current_documents._row_status = 'current'
{% endmacro %}
