{#-
    Incremental builds of the document marts (fct_documents, rpt_job_documents,
    rpt_document_deliveries) and of the account lookup (lookup_documents_by_account) replace whole
    documents. Their pre-hooks, in incremental builds only:
      1. billing_record_replaced_documents(sql) writes raw._touched_rows_<model>: the documents
         whose rows this build computes again (`sql` selects their document_id);
      2. billing_delete_replaced_documents() deletes the stored rows of those documents, so that a
         document that no longer passes R14 leaves the table as it would in a full build.
    The model then selects exactly those documents and appends them (delete+insert), and its
    post-hook billing_record_written_documents() adds to the table every document it wrote (the
    same ones, unless the model is wrong). The data tests of an incremental build read the table to
    test only the rows of these documents (billing_test_scope).
    billing_drop_touched_keys (on-run-end) drops it with the raw._touched_* tables.
    billing_document_model_config() is the config of every such model.
-#}

{#-
    The config of a model that an incremental build replaces document by document: delete+insert
    on document_id, built in full unless the build is incremental (billing_incremental_build).
    `replaced` is a Jinja expression, rendered when the hooks run, giving the query of the
    documents the build computes again: it adds the hooks above. Without it the model selects its
    documents itself and has no hooks (int_documents_classified). `post_hook` adds post-hooks after
    billing_record_written_documents(). Use: {{ config(billing_document_model_config(...)) }}.
-#}
{% macro billing_document_model_config(replaced=none, post_hook=[]) %}
    {%- set model_config = {
        'materialized': 'incremental',
        'incremental_strategy': 'delete+insert',
        'unique_key': 'document_id',
        'on_schema_change': 'fail',
        'full_refresh': not billing_incremental_build(),
    } -%}
    {%- if replaced is not none -%}
        {%- do model_config.update({
            'pre_hook': [
                '{{ billing_record_replaced_documents(' ~ replaced ~ ') }}',
                '{{ billing_delete_replaced_documents() }}',
            ],
            'post_hook': ['{{ billing_record_written_documents() }}'] + post_hook,
        }) -%}
    {%- endif -%}
    {{ return(model_config) }}
{% endmacro %}

{#- raw._touched_rows_<identifier>: the documents an incremental build of that model replaced. -#}
{% macro billing_replaced_documents_table(identifier) %}
    {{ return('raw._touched_rows_' ~ identifier) }}
{% endmacro %}

{% macro billing_record_replaced_documents(documents_sql) %}
    {%- if is_incremental() -%}
        create or replace table {{ billing_replaced_documents_table(this.identifier) }} as
        select distinct document_id from ({{ documents_sql }}) as replaced
        where document_id is not null
    {%- endif -%}
{% endmacro %}

{% macro billing_delete_replaced_documents() %}
    {%- if is_incremental() -%}
        delete from {{ this }}
        where document_id in (select replaced.document_id from {{ billing_replaced_documents_table(this.identifier) }} as replaced)
    {%- endif -%}
{% endmacro %}

{#- Post-hook: every document the build wrote (dbt's temporary relation of the new rows, which
    delete+insert appended; named after the model and a time) is in raw._touched_rows_<model>, so
    that the scoped tests see its rows. -#}
{% macro billing_record_written_documents() %}
    {%- if is_incremental() and execute -%}
        {%- set found = run_query(
            "select table_name from duckdb_tables() where temporary and starts_with(table_name, '"
            ~ this.identifier ~ "__dbt_tmp') order by table_name desc limit 1"
        ).columns[0].values() -%}
        {%- if found | length != 1 -%}
            {{ exceptions.raise_compiler_error('the new rows of ' ~ this ~ ' (its __dbt_tmp table) are not found') }}
        {%- endif -%}
        insert into {{ billing_replaced_documents_table(this.identifier) }}
        select distinct written.document_id from temp.main."{{ found[0] }}" as written
        where written.document_id not in (select replaced.document_id from {{ billing_replaced_documents_table(this.identifier) }} as replaced)
    {%- endif -%}
{% endmacro %}

{#- The documents the model reads in an incremental build (a condition on its document_id). -#}
{% macro billing_replaced_documents_filter(column='document_id') %}
    {{ column }} in (select replaced.document_id from {{ billing_replaced_documents_table(this.identifier) }} as replaced)
{% endmacro %}

{#-
    The documents of the current rows of raw tables an incremental build re-judged (their key
    groups in raw._touched_<table>), read from the base_ tables without ref() so that pre-hooks
    may call it (every base_ table named here is upstream of the calling model through its stg_
    view). `tables` names what the calling model's rows depend on:
      documents, deliveries, document_pulls: every version in a touched group (a re-sent delivery
        or pull may name another document than before: both are recomputed);
      customers, jobs, batches, clients: the current documents of a touched customer, job, batch
        or client.
-#}
{% macro billing_documents_of_touched(tables) %}
    {%- if not execute -%}{{ return('') }}{%- endif -%}
    {%- set parts = [] -%}
    {%- for table in ['documents', 'deliveries', 'document_pulls'] if table in tables -%}
        {%- do parts.append(
            'select document_id from ' ~ billing_base_relation(table)
            ~ ' where _group_key in (select _group_key from raw._touched_' ~ table ~ ')'
        ) -%}
    {%- endfor -%}
    {%- set documents = billing_base_relation('documents') -%}
    {%- if 'customers' in tables -%}
        {%- do parts.append(
            'select current_documents.document_id from ' ~ documents ~ ' as current_documents'
            ~ ' inner join (select distinct client_id, customer_account_id from ' ~ billing_base_relation('customers')
            ~ ' where _group_key in (select _group_key from raw._touched_customers)) as touched_customers'
            ~ ' on current_documents.client_id = touched_customers.client_id'
            ~ ' and current_documents.customer_account_id = touched_customers.customer_account_id'
            ~ " where current_documents._row_status = 'current'"
        ) -%}
    {%- endif -%}
    {%- for table, column in [('jobs', 'job_id'), ('batches', 'batch_id'), ('clients', 'client_id')] if table in tables -%}
        {%- do parts.append(
            'select document_id from ' ~ documents ~ " where _row_status = 'current' and " ~ column
            ~ ' in (select ' ~ column ~ ' from ' ~ billing_base_relation(table)
            ~ ' where _group_key in (select _group_key from raw._touched_' ~ table ~ '))'
        ) -%}
    {%- endfor -%}
    {{ parts | join('\nunion\n') }}
{% endmacro %}
