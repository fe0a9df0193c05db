{#-
    Data tests of an incremental build test the rows the build replaced, not every row.

    dbt wraps the model of every generic test in get_where_subquery (the hook of the `where`
    config); this override adds, in incremental builds only (var billing_incremental, `dbt build`),
    a condition that keeps the rows the build wrote, for the large tables that an incremental build
    changes only in part (billing_replaced_rows). Full builds, and every other table and test, test
    every row as before. A scoped test still catches whatever the new rows can break:
      - not_null, accepted_values, landed_rows_are_well_formed: row by row; rows the build did not
        replace are as the previous (published, tested) build left them;
      - unique on a column: every row, old or new, whose value is one of the replaced rows' values
        (a duplicate of an old row made by a new one is found; a duplicate needs a replaced row);
      - relationships: the replaced rows, and every row that references a key its parent changed in
        this build (an old row whose parent went is found); left whole when the parent's changed
        keys are not known (billing_changed_parent_keys).
    Other tests (singular tests, unique_combination_of_columns, ...) are not scoped.
    tests/refresh/test_scoped_tests.py proves the scoped tests fail where the full ones would.
-#}
{% macro default__get_where_subquery(relation) -%}
    {%- set where = config.get('where', '') -%}
    {%- set scope = billing_test_scope(relation) -%}
    {#- dbt's own form when there is no scope (every full build, and every Spark build): Spark
        without ANSI mode reads `from t where (x)` as the alias `where` with a column list. -#}
    {%- set condition = where if not scope else (('(' ~ where ~ ') and ' if where else '') ~ '(' ~ scope ~ ')') -%}
    {%- if condition -%}
        {%- set filtered -%}
            (select * from {{ relation }} where {{ condition }}) dbt_subquery
        {%- endset -%}
        {%- do return(filtered) -%}
    {%- endif -%}
    {%- do return(relation) -%}
{%- endmacro %}

{#- True in the tests of an incremental `dbt build` (the run that writes raw._touched_*), and in the
    `dbt compile` of the same tests that a refresh runs in one batch after such a build
    (billing_reports/dbt_batch.py, env BILLING_DBT_TEST_BATCH; the tables are kept for it). -#}
{% macro billing_tests_scoped() %}
    {%- set wanted = billing_incremental_build() -%}
    {%- set batch = flags.WHICH == 'compile' and env_var('BILLING_DBT_TEST_BATCH', '') == '1' -%}
    {{ return(wanted and execute and (flags.WHICH == 'build' or batch) and target.type == 'duckdb') }}
{% endmacro %}

{#- The condition that keeps the tested rows of `relation` in this test, or '' (every row). -#}
{% macro billing_test_scope(relation) %}
    {%- if not billing_tests_scoped() -%}{{ return('') }}{%- endif -%}
    {%- set rows = billing_replaced_rows(relation.identifier) -%}
    {%- set test = model.get('test_metadata') if model is mapping else none -%}
    {%- if not rows or not test -%}{{ return('') }}{%- endif -%}
    {%- set kwargs = test.get('kwargs') or {} -%}
    {%- set column = kwargs.get('column_name') -%}
    {%- if test.name in ['not_null', 'accepted_values', 'landed_rows_are_well_formed'] -%}
        {{ return(rows) }}
    {%- elif test.name == 'unique' and column -%}
        {{ return(column ~ ' in (select ' ~ column ~ ' from ' ~ relation ~ ' where ' ~ rows ~ ')') }}
    {%- elif test.name == 'relationships' and column -%}
        {%- set parent = modules.re.search("ref\\(\\s*['\"](\\w+)['\"]\\s*\\)", kwargs.get('to') or '') -%}
        {%- set changed = billing_changed_parent_keys(parent.group(1)) if parent else none -%}
        {%- if changed is none -%}{{ return('') }}{%- endif -%}
        {%- if changed == '' -%}{{ return(rows) }}{%- endif -%}
        {{ return(rows ~ ' or ' ~ column ~ ' in (' ~ changed ~ ')') }}
    {%- endif -%}
    {{ return('') }}
{% endmacro %}

{#-
    The rows of `identifier` an incremental build replaced, as a condition on its columns, or ''
    when the build rewrites the whole table (or the table is small): the base_ tables' re-judged
    key groups, the current documents and deliveries of those groups, and the documents the
    document marts deleted or wrote (raw._touched_rows_<model>, billing_replaced_documents.sql).
    A row without the key is always tested (a null key is what not_null looks for).
-#}
{% macro billing_replaced_rows(identifier) %}
    {%- if identifier.startswith('base_billing__') -%}
        {{ return('_group_key is null or _group_key in (select _group_key from raw._touched_' ~ identifier[14:] ~ ')') }}
    {%- elif identifier in ['stg_billing__documents', 'stg_billing__deliveries'] -%}
        {%- set table = identifier[13:] -%}
        {%- set key = {'documents': 'document_id', 'deliveries': 'delivery_id'}[table] -%}
        {{ return(key ~ ' is null or ' ~ key ~ ' in (select ' ~ key ~ ' from ' ~ billing_base_relation(table)
            ~ ' where _group_key in (select _group_key from raw._touched_' ~ table ~ '))') }}
    {%- elif identifier in ['fct_documents', 'rpt_job_documents', 'rpt_document_deliveries', 'lookup_documents_by_account'] -%}
        {{ return('document_id is null or document_id in (select document_id from ' ~ billing_replaced_documents_table(identifier) ~ ')') }}
    {%- endif -%}
    {{ return('') }}
{% endmacro %}

{#-
    The keys of a relationships test's parent that this incremental build may have added or
    removed, as a query; '' when it cannot change in an incremental build (a seed: the build's
    code digest, seeds included, is the published build's); none when not known (the test is then
    not scoped). A parent keeps one row per current row of its raw table (stg_, dim_clients,
    rpt_job_tracking), so its keys change only in the key groups the build re-judged.
-#}
{% macro billing_changed_parent_keys(parent) %}
    {%- for node in graph.nodes.values() if node.resource_type == 'seed' and node.name == parent -%}
        {{ return('') }}
    {%- endfor -%}
    {%- set by_table = {
        'stg_billing__clients': ('clients', 'client_id'),
        'dim_clients': ('clients', 'client_id'),
        'stg_billing__jobs': ('jobs', 'job_id'),
        'rpt_job_tracking': ('jobs', 'job_id'),
        'stg_billing__batches': ('batches', 'batch_id'),
        'stg_billing__documents': ('documents', 'document_id'),
    } -%}
    {%- if parent in by_table -%}
        {%- set table, key = by_table[parent] -%}
        {{ return('select ' ~ key ~ ' from ' ~ billing_base_relation(table)
            ~ ' where _group_key in (select _group_key from raw._touched_' ~ table ~ ')') }}
    {%- elif parent == 'rpt_job_documents' -%}
        {{ return('select document_id from ' ~ billing_replaced_documents_table('rpt_job_documents')) }}
    {%- endif -%}
    {{ return(none) }}
{% endmacro %}
