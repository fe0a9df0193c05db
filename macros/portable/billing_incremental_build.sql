{#- True in an incremental build: the var billing_incremental (`dbt build --vars`), or env
    BILLING_DBT_INCREMENTAL, which is how billing_reports.dbt_runner hands the var to dbt. dbt parses
    the whole project again when --vars change, but only the files that read an env var when that
    var changes: a refresh switching between a full and an incremental build keeps partial parsing
    (the models whose config reads this are parsed again, the rest of the project is not). -#}
{% macro billing_incremental_build() %}
    {%- set wanted = var('billing_incremental', false) -%}
    {%- if wanted is string -%}{%- set wanted = wanted | lower in ['true', '1', 'yes'] -%}{%- endif -%}
    {%- set from_env = env_var('BILLING_DBT_INCREMENTAL', '') | lower in ['true', '1', 'yes'] -%}
    {{ return(wanted or from_env) }}
{% endmacro %}
