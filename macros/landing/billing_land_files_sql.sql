{#-
    Lands a batch of files of one table that share a header, `files` = [(path, file order), ...]:
      - one parallel scan reads them all into a temporary table, in file order and, within a file,
        in row order (DuckDB keeps a scan's order: preserve_insertion_order);
      - each row's `_source_row` is its position within its file (rowid less the file's first);
      - rows the reader could not take are recorded per file (reject_errors has the file and line),
        and the rows after them are shifted back to their place in the file;
      - `raw._landing_files` gets each file's rows read and rows unreadable.
    DuckDB's reader; another engine lands files its own way (dispatched).
-#}
{% macro billing_land_files_sql(table, columns, files) -%}
    {{ return(adapter.dispatch('billing_land_files_sql')(table, columns, files)) }}
{%- endmacro %}
{% macro default__billing_land_files_sql(table, columns, files) -%}
    {{ exceptions.raise_compiler_error('the landing loader reads files with DuckDB; ' ~ adapter.type() ~ ' needs its own') }}
{%- endmacro %}
{% macro duckdb__billing_land_files_sql(table, columns, files) -%}
    -- The reader's reject tables keep earlier scans' errors: start each batch afresh.
    drop table if exists reject_errors;
    drop table if exists reject_scans;

    create or replace temporary table _billing_files as
    select
        {% for column in columns %}{{ column }}, {% endfor %}
        _billing_source_file as _source_file
    from read_csv(
        [{% for file, file_order in files %}{{ billing_sql_string(file) }}{{ ", " if not loop.last }}{% endfor %}],
        {{ billing_csv_options() }}, filename = '_billing_source_file'
    );

    create or replace temporary table _billing_file_list as
    select * from (values
        {% for file, file_order in files %}({{ billing_sql_string(file) }}, {{ file_order }}){{ ", " if not loop.last }}{% endfor %}
    ) as file_list (source_file, file_order);

    create or replace temporary table _billing_file_starts as
    select _source_file, min(rowid) as first_rowid, count(*) as rows_read
    from _billing_files
    group by _source_file;

    insert into raw.{{ table }}
    select
        {% for column in columns %}landed.{{ column }}, {% endfor %}
        landed._source_file,
        file_list.file_order as _file_order,
        landed.rowid - starts.first_rowid + 1 as _source_row
    from _billing_files as landed
    inner join _billing_file_starts as starts on landed._source_file = starts._source_file
    inner join _billing_file_list as file_list on landed._source_file = file_list.source_file;

    -- The reader reports a short row once per missing field: one entry per line.
    create or replace temporary table _billing_file_rejects as
    select
        scans.file_path as source_file,
        errors.line as source_line,
        errors.line - 1 as source_row,
        min(errors.error_type || ': ' || errors.error_message) as reason,
        min(errors.csv_line) as raw_record
    from reject_errors as errors
    inner join reject_scans as scans
        on errors.scan_id = scans.scan_id and errors.file_id = scans.file_id
    group by scans.file_path, errors.line;

    -- Rows after an unreadable row were numbered without it: shift them back into place.
    update raw.{{ table }} as landed
    set _source_row = landed._source_row + (
        select count(*)
        from (
            select
                source_file,
                source_row - row_number() over (partition by source_file order by source_row) as accepted_before
            from _billing_file_rejects
        ) as shifts
        where shifts.source_file = landed._source_file and shifts.accepted_before < landed._source_row
    )
    where landed._source_file in (select source_file from _billing_file_rejects);

    insert into raw._landing_rejects
    select
        {{ billing_sql_string(table) }}, source_file,
        source_row, source_line, 'unreadable row: ' || reason, raw_record
    from _billing_file_rejects;

    insert into raw._landing_files
    select
        {{ billing_sql_string(table) }}, file_list.source_file, file_list.file_order, 'loaded',
        coalesce(starts.rows_read, 0), coalesce(unreadable.rows_unreadable, 0), null, current_timestamp::timestamp
    from _billing_file_list as file_list
    left join _billing_file_starts as starts on file_list.source_file = starts._source_file
    left join (
        select source_file, count(*) as rows_unreadable from _billing_file_rejects group by source_file
    ) as unreadable on file_list.source_file = unreadable.source_file
    order by file_list.file_order;

    drop table _billing_files;
    drop table _billing_file_list;
    drop table _billing_file_starts;
    drop table _billing_file_rejects;
{%- endmacro %}
