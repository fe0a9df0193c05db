{#-
    Lands the landing folder (contract section 2) into the `raw` schema, once per dbt invocation.

    For every table of source `billing`:
      - every `$BILLING_RAW_DIR/<table>/*.csv` and `*.csv.gz`, in lexicographic file-name order,
        is read as text into `raw.<table>` with `_source_file`, `_file_order` and `_source_row`
        (1-based data row; the header is not counted);
      - a missing folder leaves an empty `raw.<table>`;
      - a file whose header lacks a contract column is not read at all and is recorded in
        `raw._landing_rejects` with the missing columns (R14: rejected whole, others still load);
      - rows the CSV reader cannot take (bad encoding, too many or too few fields) are recorded in
        `raw._landing_rejects` with their row and line numbers and DuckDB's reason.
    `raw._landing_files` records every file seen and what happened to it.

    Incremental loads (var `billing_incremental`, set by `billing-reports refresh` when it copied the
    published warehouse forward): the `raw` tables already hold every file of the previous build.
    Only the files after them are landed, numbered on from the last file order; the previous build's
    files must still be the first files of the folder, in the same order (refresh checks this, and
    that none changed, before it chooses an incremental build). `raw._landing_runs` says, per
    table, from which file order the rows are new in this build; the `base_` models read it.
-#}
{% macro load_landing_files() %}
    {% if execute and flags.WHICH in ['build', 'run', 'test', 'seed', 'snapshot', 'retry', 'show', 'docs'] %}
        {% set incremental = billing_landing_incremental() %}
        {% do run_query(billing_landing_setup_sql(incremental)) %}
        {% set raw_dir = env_var('BILLING_RAW_DIR', 'data/raw') %}
        {% set summary = [] %}
        {% for node in graph.sources.values() | selectattr('source_name', 'equalto', 'billing') | sort(attribute='name') %}
            {% set loaded = billing_load_landing_table(raw_dir, node, incremental) %}
            {% do summary.append(node.name ~ '=' ~ loaded) %}
            {% if incremental %}{% do run_query(billing_touched_keys_sql(node)) %}{% endif %}
        {% endfor %}
        {% if incremental %}
            {% do log('Landing folder ' ~ raw_dir ~ ' loaded into raw incrementally (new files per table): ' ~ summary | join(', '), info=true) %}
        {% else %}
            {% do log('Landing folder ' ~ raw_dir ~ ' loaded into raw: ' ~ summary | join(', '), info=true) %}
        {% endif %}
    {% endif %}
    select 1
{% endmacro %}
