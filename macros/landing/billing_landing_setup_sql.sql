{% macro billing_landing_setup_sql(incremental=false) %}
    {{ return(adapter.dispatch('billing_landing_setup_sql', 'billing_reports')(incremental)) }}
{% endmacro %}

{% macro default__billing_landing_setup_sql(incremental=false) %}
    create schema if not exists raw;
    create or replace table raw._landing_runs (
        source_table varchar,
        load_mode varchar,
        first_new_file_order integer,
        files_new integer
    );
    {%- if incremental %}
    select 1;
    {%- else %}
    create or replace table raw._landing_files (
        source_table varchar,
        source_file varchar,
        file_order integer,
        file_status varchar,
        rows_read bigint,
        rows_unreadable bigint,
        message varchar,
        loaded_at timestamp
    );
    create or replace table raw._landing_rejects (
        source_table varchar,
        source_file varchar,
        source_row bigint,
        source_line bigint,
        reason varchar,
        raw_record varchar
    );
    {%- endif %}
{% endmacro %}
