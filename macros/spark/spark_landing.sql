{#-
    The landing loader on Spark (BILLING_ENGINE=spark; docs/scale-out.md). The same contract as
    the DuckDB loader (macros/landing/load_landing_files.sql): every `<table>/*.csv[.gz]` of the
    landing folder, in file-name order, into `raw.<table>` as text with `_source_file`,
    `_file_order` and `_source_row`; a file whose header lacks a contract column is rejected whole;
    rows the CSV reader cannot take are recorded in `raw._landing_rejects` with their row number.

    Spark's CSV reader, not DuckDB's:
      - the folder is listed once (`binaryFile`, which reads no content unless asked);
      - each file's header is its first line, and its columns are mapped by position to that
        header (a file's columns may come in any order);
      - a file is read whole (`multiLine`: quoted line breaks, and one file = one partition, so
        the order in which Spark returns its records is their order in the file);
      - a record with too few or too many fields (PERMISSIVE mode's corrupt record) or bytes that
        are not UTF-8 (decoded as U+FFFD) is an unreadable row.
    Spark builds in full: a refresh on Spark never lands incrementally (billing_incremental).
    Spark SQL runs one statement per call, hence one run_query per statement.
-#}

{% macro spark__billing_landing_incremental() %}
    {%- set wanted = billing_incremental_build() -%}
    {%- if wanted and execute -%}
        {{ exceptions.raise_compiler_error(
            'var billing_incremental is set, but builds on Spark are full builds: unset it '
            ~ '(billing-reports refresh on Spark always builds in full)'
        ) }}
    {%- endif -%}
    {{ return(false) }}
{% endmacro %}


{#- Nothing to drop: a Spark build writes no raw._touched_ tables (no incremental landing). -#}
{% macro spark__billing_drop_touched_keys(force=false) %}
    select 1
{% endmacro %}


{% macro spark__billing_landing_setup_sql(incremental=false) %}
    {% do run_query('create schema if not exists raw') %}
    {% for name, columns in spark_billing_landing_record_tables().items() %}
        {% do run_query('drop table if exists raw.' ~ name) %}
        {% do run_query('create table raw.' ~ name ~ ' (' ~ columns ~ ') using parquet') %}
    {% endfor %}
    {#- Every CSV file under the landing folder, listed once (paths only: binaryFile reads no content unless asked). -#}
    {% do run_query(
        'create or replace temporary view _billing_landing_listing using binaryFile options (path '
        ~ spark_sql_string(env_var('BILLING_RAW_DIR', 'data/raw')) ~ ", recursiveFileLookup 'true')"
    ) %}
    {#-
        With each file's first line, read in the same single job (a header read per file would cost
        a Spark job each); a compressed file's first line is read on its own when it is landed.
    -#}
    {% do run_query(
        "cache table _billing_landing_csv_files as select path, case when endswith(path, '.csv') then "
        ~ "substring_index(decode(substring(content, 1, 65536), 'UTF-8'), '\\n', 1) end as first_line "
        ~ "from _billing_landing_listing where endswith(path, '.csv') or endswith(path, '.csv.gz')"
    ) %}
    {{ return('select 1') }}
{% endmacro %}


{#- The loader's record tables (as on DuckDB: macros/landing/load_landing_files.sql) and their columns. -#}
{% macro spark_billing_landing_record_tables() %}
    {{ return({
        '_landing_runs': 'source_table string, load_mode string, first_new_file_order int, files_new int',
        '_landing_files': 'source_table string, source_file string, file_order int, file_status string, '
            ~ 'rows_read bigint, rows_unreadable bigint, message string, loaded_at timestamp',
        '_landing_rejects': 'source_table string, source_file string, source_row bigint, source_line bigint, '
            ~ 'reason string, raw_record string',
    }) }}
{% endmacro %}


{#-
    Lands one table. To keep Spark jobs few (each costs a scheduling round trip), what the loader
    records about files, runs and rejects is gathered as temporary views of literal rows, one per
    table (`_billing_<record table>__<table>`), and written to the `raw._landing_*` tables once,
    after the last table.
-#}
{% macro spark__billing_load_landing_table(raw_dir, node, incremental=false) %}
    {% set table = node.name %}
    {% set columns = node.columns.keys() | list %}
    {% do run_query('drop table if exists raw.' ~ table) %}
    {% do run_query(
        'create table raw.' ~ table ~ ' (' ~ columns | join(' string, ') ~ ' string, '
        ~ '_source_file string, _file_order int, _source_row bigint) using parquet'
    ) %}

    {#- The folder's files as DuckDB's glob names them (`<raw_dir>/<table>/<name>`), with Spark's path to read. -#}
    {% set folder = raw_dir.rstrip('/') ~ '/' ~ table %}
    {% set folder_suffix = '/' ~ folder.lstrip('./') %}
    {% set files_sql %}
        select path, regexp_extract(path, '[^/]+$', 0) as file_name, first_line
        from _billing_landing_csv_files
        where endswith(regexp_extract(path, '^(.*)/[^/]+$', 1), {{ spark_sql_string(folder_suffix) }})
        order by file_name, path
    {% endset %}
    {% set files = [] %}
    {% for row in run_query(files_sql).rows %}
        {% do files.append((row[0], folder ~ '/' ~ row[1], row[2])) %}
    {% endfor %}
    {% set records = {'_landing_runs': [], '_landing_files': [], '_landing_rejects': []} %}
    {% do records['_landing_runs'].append([spark_sql_string(table), "'full'", 1, files | length]) %}

    {% set batches = {} %}
    {% for spark_path, file, listed_line in files %}
        {% set file_order = loop.index %}
        {% if listed_line is not none %}
            {% set first_line = [listed_line] if listed_line | length > 0 else [] %}
        {% else %}
            {% set first_line = run_query('select value from text.`' ~ spark_path ~ '` limit 1').columns[0].values() | list %}
        {% endif %}
        {% set header = [] %}
        {% if first_line %}
            {% for name in first_line[0].replace('\ufeff', '').split(',') %}
                {% do header.append(name.strip().strip('"')) %}
            {% endfor %}
        {% endif %}
        {% set missing = [] %}
        {% for column in columns %}
            {% if column not in header %}{% do missing.append(column) %}{% endif %}
        {% endfor %}
        {% if missing %}
            {% set named = [] %}
            {% for name in header if modules.re.match('^[A-Za-z_][A-Za-z0-9_]*$', name) %}{% do named.append(name) %}{% endfor %}
            {% if not first_line or '\ufffd' in first_line[0] or not named %}
                {% set message = 'file rejected whole: it has no header row (empty, not CSV, or not UTF-8); expected columns: ' ~ columns | join(', ') %}
            {% else %}
                {% set message = 'file rejected whole: header lacks required column(s): ' ~ missing | join(', ') %}
            {% endif %}
            {% do records['_landing_files'].append([
                spark_sql_string(table), spark_sql_string(file), file_order, "'rejected'",
                'cast(null as bigint)', 'cast(null as bigint)', spark_sql_string(message), spark_billing_now()
            ]) %}
            {% do records['_landing_rejects'].append([
                spark_sql_string(table), spark_sql_string(file), 0, 1,
                spark_sql_string(message), spark_sql_string(header | join(','))
            ]) %}
            {% do log('REJECTED ' ~ file ~ ': ' ~ message, info=true) %}
        {% else %}
            {% do batches.setdefault(header | join(','), []).append((spark_path, file, file_order, header)) %}
        {% endif %}
    {% endfor %}
    {% for header_files in batches.values() %}
        {% for batch in header_files | batch(billing_landing_batch_files()) %}
            {% do spark_billing_land_files(table, columns, batch, records) %}
        {% endfor %}
    {% endfor %}

    {% for name, rows in records.items() %}
        {% set column_names = [] %}
        {% for column in spark_billing_landing_record_tables()[name].split(', ') %}{% do column_names.append(column.split(' ')[0]) %}{% endfor %}
        {% set typed = [] %}
        {% for column in spark_billing_landing_record_tables()[name].split(', ') %}
            {% do typed.append('cast(' ~ column.split(' ')[0] ~ ' as ' ~ column.split(' ')[1] ~ ') as ' ~ column.split(' ')[0]) %}
        {% endfor %}
        {% set view_sql %}
            create or replace temporary view _billing{{ name }}__{{ table }} as
            select {{ typed | join(', ') }} from (
                {%- if rows %}
                select * from (values
                    {% for row in rows %}({{ row | join(', ') }}){{ ", " if not loop.last }}{% endfor %}
                ) as landed ({{ column_names | join(', ') }})
                {%- else %}
                select {% for column in column_names %}null as {{ column }}{{ ", " if not loop.last }}{% endfor %} where false
                {%- endif %}
            )
        {% endset %}
        {% do run_query(view_sql) %}
    {% endfor %}

    {#- After the last table: write what was gathered, one insert per record table. -#}
    {% set tables = graph.sources.values() | selectattr('source_name', 'equalto', 'billing') | map(attribute='name') | sort | list %}
    {% if table == tables[-1] %}
        {% for name in records %}
            {% do run_query('insert into raw.' ~ name ~ ' ' ~ spark_billing_union_views(name, tables)) %}
        {% endfor %}
        {% do run_query('uncache table _billing_landing_csv_files') %}
    {% endif %}
    {{ return(files | length) }}
{% endmacro %}


{% macro spark_billing_union_views(name, tables) -%}
    {%- for table in tables %}select * from _billing{{ name }}__{{ table }}{{ " union all " if not loop.last }}{% endfor -%}
{%- endmacro %}


{#-
    Lands a batch of files of one table that share a header, `files` = [(Spark path, file name
    as recorded, file order, header), ...]: one view per file (its header's columns by position,
    plus the reader's corrupt record, each record numbered in file order), one insert of the
    readable rows, and one query that brings back each file's counts and its unreadable rows
    (few) into `records`.
-#}
{% macro spark_billing_land_files(table, columns, files, records) %}
    {% set field_count = files[0][3] | length %}
    {% for spark_path, file, file_order, header in files %}
        {% set fields = [] %}
        {% for name in header %}{% do fields.append('_billing_c' ~ loop.index ~ ' string') %}{% endfor %}
        {% do run_query(
            'create or replace temporary view _billing_csv_' ~ loop.index ~ ' ('
            ~ fields | join(', ') ~ ', _corrupt_record string) using csv options (path ' ~ spark_sql_string(spark_path)
            ~ ", header 'true', enforceSchema 'true', multiLine 'true', mode 'PERMISSIVE', "
            ~ "columnNameOfCorruptRecord '_corrupt_record', sep ',', quote '\"', escape '\"', encoding 'UTF-8')"
        ) %}
    {% endfor %}
    {% set batch_sql %}
        create or replace temporary view _billing_batch as
        select
            *,
            _corrupt_record is not null or ({% for index in range(1, field_count + 1) -%}
                coalesce(instr(_billing_c{{ index }}, '\ufffd'), 0) > 0{{ " or " if not loop.last }}
            {%- endfor %}) as _unreadable
        from (
            {%- for spark_path, file, file_order, header in files %}
            select
                {% for column in columns %}_billing_c{{ header.index(column) + 1 }} as {{ column }}, {% endfor %}
                {% for index in range(1, field_count + 1) %}_billing_c{{ index }}, {% endfor %}
                _corrupt_record,
                {{ spark_sql_string(file) }} as _source_file,
                {{ file_order }} as _file_order,
                row_number() over (order by _billing_record) as _source_row
            from (select *, monotonically_increasing_id() as _billing_record from _billing_csv_{{ loop.index }})
            {{ "union all" if not loop.last }}
            {%- endfor %}
        )
    {% endset %}
    {% do run_query(batch_sql) %}
    {% do run_query(
        'insert into raw.' ~ table ~ ' select ' ~ columns | join(', ')
        ~ ', _source_file, _file_order, _source_row from _billing_batch where not _unreadable'
    ) %}
    {% set counts_sql %}
        select
            _source_file,
            count_if(not _unreadable) as rows_read,
            count_if(_unreadable) as rows_unreadable,
            to_json(collect_list(case when _unreadable then named_struct(
                'row', _source_row,
                'reason', case
                    when _corrupt_record is null then 'INVALID ENCODING: the row is not valid UTF-8'
                    when size(split(_corrupt_record, ',')) < {{ field_count }}
                        then 'MISSING COLUMNS: expected {{ field_count }} fields, found fewer'
                    else 'TOO MANY COLUMNS: expected {{ field_count }} fields, found more'
                end,
                'record', coalesce(_corrupt_record, concat_ws(','{% for index in range(1, field_count + 1) %}, _billing_c{{ index }}{% endfor %}))
            ) end)) as unreadable
        from _billing_batch
        group by _source_file
    {% endset %}
    {% set counted = {} %}
    {% for row in run_query(counts_sql).rows %}
        {% do counted.update({row[0]: row}) %}
    {% endfor %}
    {% for spark_path, file, file_order, header in files %}
        {% set row = counted.get(file) %}
        {% do records['_landing_files'].append([
            spark_sql_string(table), spark_sql_string(file), file_order, "'loaded'",
            row[1] if row else 0, row[2] if row else 0, 'cast(null as string)', spark_billing_now()
        ]) %}
        {% for reject in (fromjson(row[3]) if row else []) %}
            {% do records['_landing_rejects'].append([
                spark_sql_string(table), spark_sql_string(file), reject['row'], reject['row'] + 1,
                spark_sql_string('unreadable row: ' ~ reject['reason']), spark_sql_string(reject['record'])
            ]) %}
        {% endfor %}
    {% endfor %}
    {% do run_query('drop view _billing_batch') %}
{% endmacro %}


{#- A Spark SQL string literal: quotes doubled, and backslashes too (Spark reads a backslash as an escape). -#}
{% macro spark_sql_string(value) -%}
    '{{ value | replace("\\", "\\\\") | replace("'", "''") }}'
{%- endmacro %}


{#- The time of landing as a timestamp literal (a VALUES row takes no current_timestamp()). -#}
{% macro spark_billing_now() -%}
    {{ return("timestamp '" ~ modules.datetime.datetime.utcnow().strftime('%Y-%m-%d %H:%M:%S') ~ "'") }}
{%- endmacro %}
