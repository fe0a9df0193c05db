{#-
    Storing a large mart in key order without sorting all of it at once.

    rpt_job_documents and rpt_document_deliveries are stored in the order the dashboard looks them
    up by, so that DuckDB's min/max per row group leaves one block to read. An `order by` over the
    whole table sorts every row with every column: at 100M documents that sort held more than 50 GB
    (memory and temporary files) and filled the disk. Above `billing_sort_slice_rows` rows (a
    project var, default 20M), a full DuckDB build leaves the `order by` out of the model's select
    and a post-hook then stores the table in order one slice of the first key column at a time:
    each slice's sort holds a fraction of the rows, and the slices are written in ascending order,
    so the table ends up in the same order as one sort would give.

    billing_sort_slices(relation)  how many slices a full build of a model with one row per row of
                                   `relation` sorts in: 1 (sort in the select, as always) on
                                   incremental builds, on engines other than DuckDB, while dbt
                                   parses, in unit tests, when `relation` is not built yet (dbt
                                   compile), and up to `billing_sort_slice_rows` rows.
    billing_store_in_order(order_by, slices)
                                   the post-hook: nothing when `slices` is 1; otherwise copies the
                                   rows aside, empties the table and inserts each slice back in
                                   order (bounds: quantiles of the first key column in a sample of a
                                   million rows), then drops the copy.
-#}
{% macro billing_sort_slices(relation) %}
    {{ return(adapter.dispatch('billing_sort_slices', 'billing_reports')(relation)) }}
{% endmacro %}

{% macro default__billing_sort_slices(relation) %}
    {{ return(1) }}
{% endmacro %}

{% macro duckdb__billing_sort_slices(relation) %}
    {#- A unit test renders the model over fixture CTEs (`__dbt__cte__<model>`): nothing to count. #}
    {%- if not execute or is_incremental() or (relation | string).startswith('__dbt__cte__') -%}
        {{ return(1) }}
    {%- endif -%}
    {#- `dbt compile` (and sqlfluff) before the input is built: the one-sort select. #}
    {%- if load_relation(relation) is none -%}
        {{ return(1) }}
    {%- endif -%}
    {%- set slice_rows = var('billing_sort_slice_rows') | int -%}
    {%- set rows = run_query('select count(*) from ' ~ relation).columns[0].values()[0] | int -%}
    {{ return([1, ((rows + slice_rows - 1) // slice_rows)] | max) }}
{% endmacro %}

{% macro billing_store_in_order(order_by, slices) %}
    {{ return(adapter.dispatch('billing_store_in_order', 'billing_reports')(order_by, slices)) }}
{% endmacro %}

{% macro default__billing_store_in_order(order_by, slices) %}
{% endmacro %}

{% macro duckdb__billing_store_in_order(order_by, slices) %}
    {%- if execute and slices > 1 -%}
    {%- set first = order_by[0] -%}
    {%- set fractions = [] -%}
    {%- for index in range(1, slices) -%}{%- do fractions.append(index / slices) -%}{%- endfor -%}
    {%- set found = run_query(
        'select unnest(quantile_disc(' ~ first ~ ', [' ~ fractions | join(', ') ~ '])) from (select '
        ~ first ~ ' from ' ~ this ~ ' using sample 1000000 rows)'
    ).columns[0].values() -%}
    {%- set bounds = [] -%}
    {%- for bound in found if bound is not none and bound not in bounds -%}{%- do bounds.append(bound) -%}{%- endfor -%}
    {%- set unordered = this.incorporate(path={'identifier': this.identifier ~ '__unordered'}) -%}
    {%- do log('storing ' ~ this.schema ~ '.' ~ this.identifier ~ ' in order of ' ~ order_by | join(', ') ~ ' in ' ~ (bounds | length + 1) ~ ' slices', info=true) -%}
    {#- The rows move to a copy and back, so that the table keeps what dbt gave it (comments, types). #}
    drop table if exists {{ unordered }};
    create table {{ unordered }} as select * from {{ this }};
    truncate {{ this }};
    {%- for index in range(bounds | length + 1) %}
    {%- set conditions = [] %}
    {%- if index > 0 %}{% do conditions.append(first ~ ' >= ' ~ billing_sql_string(bounds[index - 1])) %}{% endif %}
    {%- if index < bounds | length %}{% do conditions.append(first ~ ' < ' ~ billing_sql_string(bounds[index])) %}{% endif %}
    {%- set where = conditions | join(' and ') if conditions else 'true' %}
    insert into {{ this }}
    select * from {{ unordered }}
    where {{ where if index < bounds | length else '(' ~ where ~ ') or ' ~ first ~ ' is null' }}
    order by {{ order_by | join(', ') }};
    {%- endfor %}
    drop table {{ unordered }};
    {%- endif -%}
{% endmacro %}
