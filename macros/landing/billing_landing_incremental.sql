{#- True when this build lands only new files on top of the raw tables of a previous build. -#}
{% macro billing_landing_incremental() %}
    {{ return(adapter.dispatch('billing_landing_incremental', 'billing_reports')()) }}
{% endmacro %}

{% macro default__billing_landing_incremental() %}
    {%- set wanted = billing_incremental_build() -%}
    {%- if not wanted or not execute -%}{{ return(false) }}{%- endif -%}
    {%- set found = run_query(
        "select count(*) from duckdb_tables() where database_name = current_database() "
        ~ "and schema_name = 'raw' and table_name in ('_landing_files', '_landing_rejects')"
    ).columns[0].values()[0] -%}
    {%- if found < 2 -%}
        {{ exceptions.raise_compiler_error(
            'var billing_incremental is set, but this warehouse has no raw._landing_files from an earlier build; '
            ~ 'build it in full first (billing-reports refresh does so by itself)'
        ) }}
    {%- endif -%}
    {{ return(true) }}
{% endmacro %}
