{% macro billing_load_landing_table(raw_dir, node, incremental=false) %}
    {{ return(adapter.dispatch('billing_load_landing_table', 'billing_reports')(raw_dir, node, incremental)) }}
{% endmacro %}

{% macro default__billing_load_landing_table(raw_dir, node, incremental=false) %}
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
    {% set landed_before = [] %}
    {% if incremental %}
        {% set landed_before = run_query(
            "select source_file from raw._landing_files where source_table = " ~ billing_sql_string(table)
            ~ " order by file_order"
        ).columns[0].values() | list %}
        {% do run_query(create_sql | replace('create or replace table', 'create table if not exists')) %}
    {% else %}
        {% do run_query(create_sql) %}
    {% endif %}

    {% set folder = raw_dir ~ '/' ~ table %}
    {% set files_sql %}
        select file, regexp_extract(file, '[^/\\]+$') as file_name
        from glob({{ billing_sql_string(folder ~ '/*.csv') }})
        union all
        select file, regexp_extract(file, '[^/\\]+$') as file_name
        from glob({{ billing_sql_string(folder ~ '/*.csv.gz') }})
        order by file_name, file
    {% endset %}
    {% set files = run_query(files_sql).columns[0].values() | list %}
    {% if files[:landed_before | length] != landed_before %}
        {{ exceptions.raise_compiler_error(
            'landing folder ' ~ folder ~ ' no longer starts with the files of the previous build, in order; '
            ~ 'an incremental load cannot add to it: rebuild in full (billing-reports refresh --full)'
        ) }}
    {% endif %}
    {% set first_new = landed_before | length + 1 %}
    {% do run_query(
        'insert into raw._landing_runs values (' ~ billing_sql_string(table) ~ ', '
        ~ billing_sql_string('append' if incremental else 'full') ~ ', ' ~ first_new ~ ', '
        ~ (files | length - landed_before | length) ~ ')'
    ) %}

    {#-
        Each file's header is checked on its own (a file lacking a contract column is rejected
        whole); the files that pass are read together, as many as share a header, in one parallel
        scan per batch (`billing_land_files_sql`): a scan per file costs about twice the scan floor.
        `batches` maps each header to its files, in the order the headers were first seen.
    -#}
    {% set batches = {} %}
    {% for file in files[first_new - 1:] %}
        {% set file_order = first_new - 1 + loop.index %}
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
            {% set header_key = header | join(',') %}
            {% do batches.setdefault(header_key, []).append((file, file_order)) %}
        {% endif %}
    {% endfor %}
    {% for header_files in batches.values() %}
        {% for batch in header_files | batch(billing_landing_batch_files()) %}
            {% do run_query(billing_land_files_sql(table, columns, batch)) %}
        {% endfor %}
    {% endfor %}
    {{ return(files | length - landed_before | length) }}
{% endmacro %}
