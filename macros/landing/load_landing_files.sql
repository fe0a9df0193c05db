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
-#}
{% macro load_landing_files() %}
    {% if execute and flags.WHICH in ['build', 'run', 'test', 'seed', 'snapshot', 'retry', 'show', 'docs'] %}
        {% do run_query(billing_landing_setup_sql()) %}
        {% set raw_dir = env_var('BILLING_RAW_DIR', 'data/raw') %}
        {% set summary = [] %}
        {% for node in graph.sources.values() | selectattr('source_name', 'equalto', 'billing') | sort(attribute='name') %}
            {% set loaded = billing_load_landing_table(raw_dir, node) %}
            {% do summary.append(node.name ~ '=' ~ loaded) %}
        {% endfor %}
        {% do log('Landing folder ' ~ raw_dir ~ ' loaded into raw: ' ~ summary | join(', '), info=true) %}
    {% endif %}
    select 1
{% endmacro %}


{% macro billing_landing_setup_sql() %}
    create schema if not exists raw;
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
{% endmacro %}


{% macro billing_csv_options() -%}
    header = true, all_varchar = true, delim = ',', quote = '"', escape = '"', store_rejects = true
{%- endmacro %}


{% macro billing_sql_string(value) -%}
    '{{ value | replace("'", "''") }}'
{%- endmacro %}


{% macro billing_load_landing_table(raw_dir, node) %}
    {% set table = node.name %}
    {% set columns = node.columns.keys() | list %}
    {% set create_sql %}
        create or replace table raw.{{ table }} (
            {% for column in columns %}{{ column }} varchar, {% endfor %}
            _source_file varchar,
            _file_order integer,
            _source_row bigint
        )
    {% endset %}
    {% do run_query(create_sql) %}

    {% set folder = raw_dir ~ '/' ~ table %}
    {% set files_sql %}
        select file, regexp_extract(file, '[^/\\]+$') as file_name
        from glob({{ billing_sql_string(folder ~ '/*.csv') }})
        union all
        select file, regexp_extract(file, '[^/\\]+$') as file_name
        from glob({{ billing_sql_string(folder ~ '/*.csv.gz') }})
        order by file_name, file
    {% endset %}
    {% set files = run_query(files_sql).columns[0].values() %}
    {% set ns = namespace(rows=0) %}

    {% for file in files %}
        {% set file_order = loop.index %}
        {% set header = run_query('describe select * from read_csv(' ~ billing_sql_string(file) ~ ', ' ~ billing_csv_options() ~ ')').columns[0].values() | list %}
        {% set missing = [] %}
        {% for column in columns %}
            {% if column not in header %}{% do missing.append(column) %}{% endif %}
        {% endfor %}

        {% if missing %}
            {% set generated_names = [] %}
            {% for name in header %}
                {% if modules.re.match('^column[0-9]+$', name) %}{% do generated_names.append(name) %}{% endif %}
            {% endfor %}
            {% if generated_names | length == header | length %}
                {% set message = 'file rejected whole: it has no header row (empty, not CSV, or not UTF-8); expected columns: ' ~ columns | join(', ') %}
            {% else %}
                {% set message = 'file rejected whole: header lacks required column(s): ' ~ missing | join(', ') %}
            {% endif %}
            {% set reject_sql %}
                insert into raw._landing_files values (
                    {{ billing_sql_string(table) }}, {{ billing_sql_string(file) }}, {{ file_order }},
                    'rejected', null, null, {{ billing_sql_string(message) }}, current_timestamp::timestamp
                );
                insert into raw._landing_rejects values (
                    {{ billing_sql_string(table) }}, {{ billing_sql_string(file) }}, 0, 1,
                    {{ billing_sql_string(message) }}, {{ billing_sql_string(header | join(',')) }}
                );
            {% endset %}
            {% do run_query(reject_sql) %}
            {% do log('REJECTED ' ~ file ~ ': ' ~ message, info=true) %}
        {% else %}
            {#- The reader's reject tables keep earlier scans' errors: start each file afresh. -#}
            {% do run_query('drop table if exists reject_errors; drop table if exists reject_scans') %}
            {% set load_sql %}
                insert into raw.{{ table }}
                select
                    {% for column in columns %}{{ column }}, {% endfor %}
                    {{ billing_sql_string(file) }} as _source_file,
                    {{ file_order }} as _file_order,
                    row_number() over () as _source_row
                from read_csv({{ billing_sql_string(file) }}, {{ billing_csv_options() }})
            {% endset %}
            {% set rows_read = run_query(load_sql).columns[0].values()[0] %}
            {% set rows_unreadable = run_query('select count(distinct line) from reject_errors').columns[0].values()[0] %}
            {% if rows_unreadable > 0 %}
                {% set rejects_sql %}
                    create or replace temporary table _billing_file_rejects as
                    -- The reader reports a short row once per missing field: one entry per line.
                    select
                        errors.line as source_line,
                        errors.line - 1 as source_row,
                        min(errors.error_type || ': ' || errors.error_message) as reason,
                        min(errors.csv_line) as raw_record
                    from reject_errors as errors
                    group by errors.line;

                    -- Rows after an unreadable row were numbered without it: shift them back into place.
                    update raw.{{ table }} as landed
                    set _source_row = landed._source_row + (
                        select count(*)
                        from (
                            select source_row - row_number() over (order by source_row) as accepted_before
                            from _billing_file_rejects
                        ) as shifts
                        where shifts.accepted_before < landed._source_row
                    )
                    where landed._source_file = {{ billing_sql_string(file) }};

                    insert into raw._landing_rejects
                    select
                        {{ billing_sql_string(table) }}, {{ billing_sql_string(file) }},
                        source_row, source_line, 'unreadable row: ' || reason, raw_record
                    from _billing_file_rejects;
                {% endset %}
                {% do run_query(rejects_sql) %}
            {% endif %}
            {% set status_sql %}
                insert into raw._landing_files values (
                    {{ billing_sql_string(table) }}, {{ billing_sql_string(file) }}, {{ file_order }}, 'loaded',
                    {{ rows_read }}, {{ rows_unreadable }}, null, current_timestamp::timestamp
                )
            {% endset %}
            {% do run_query(status_sql) %}
        {% endif %}
    {% endfor %}
    {{ return(files | length) }}
{% endmacro %}
