{#-
    The combination of `combination_of_columns` is unique in the model: no two rows share it.
    Nulls count as values (GROUP BY puts nulls together), so two rows that differ only by being
    null in the same columns are duplicates: a grain may hold a null (e.g. an undated fee) and
    still be a grain. Returns one row per duplicated combination, with how many rows share it.
-#}
{% test unique_combination_of_columns(model, combination_of_columns) %}

with grains as (

    select
        {%- for column in combination_of_columns %}
        {{ column }},
        {%- endfor %}
        count(*) as row_count
    from {{ model }}
    group by
        {%- for column in combination_of_columns %}
        {{ column }}{{ "," if not loop.last }}
        {%- endfor %}

)

select * from grains
where row_count > 1

{% endtest %}
