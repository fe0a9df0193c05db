{#-
    Enforced contracts (the marts) on Spark. Spark types some expressions wider than DuckDB does
    (a sum of decimal(18,2) is a decimal(28,2) on Spark, decimal(38,2) on DuckDB; row_number() is
    an int), so on Spark a mart's columns are cast to its contract's types as the table is
    created. The contract still holds: the model must have exactly the contract's columns (checked
    here by name), and every cast column must then be of the contract's type (dbt's own check).
-#}
{% macro spark__get_assert_columns_equivalent(sql) -%}
    {%- set model_columns = [] -%}
    {%- for column in get_column_schema_from_query(get_empty_subquery_sql(sql)) -%}
        {%- do model_columns.append(column.name | lower) -%}
    {%- endfor -%}
    {%- set contract_columns = [] -%}
    {%- for name in model['columns'] -%}{%- do contract_columns.append(name | lower) -%}{%- endfor -%}
    {%- if model_columns | sort != contract_columns | sort -%}
        {{ exceptions.raise_compiler_error(
            'This model has an enforced contract that failed: its columns ' ~ model_columns | join(', ')
            ~ ' are not the contract columns ' ~ contract_columns | join(', ')
        ) }}
    {%- endif -%}
    {{ return(assert_columns_equivalent(spark__get_select_subquery(sql))) }}
{%- endmacro %}


{% macro spark__get_select_subquery(sql) -%}
    select
    {%- for name, column in model['columns'].items() %}
        {{ dbt.cast(name, column['data_type']) }} as {{ name }}{{ "," if not loop.last }}
    {%- endfor %}
    from (
        {{ sql }}
    ) as model_subq
{%- endmacro %}
