{#-
    For a singular test that holds two models' totals together: the key combinations where the
    totals of `left` and `right` (two CTEs with the same key and measure columns) disagree, a
    combination only one side has counting as 0 on the other. Returns the keys and, per measure,
    `<left>_<measure>` and `<right>_<measure>`.
-#}
{% macro billing_totals_that_disagree(left, right, keys, measures) -%}
select
    {%- for key in keys %}
    coalesce({{ left }}.{{ key }}, {{ right }}.{{ key }}) as {{ key }},
    {%- endfor %}
    {%- for measure in measures %}
    coalesce({{ left }}.{{ measure }}, 0) as {{ left }}_{{ measure }},
    coalesce({{ right }}.{{ measure }}, 0) as {{ right }}_{{ measure }}{{ "," if not loop.last }}
    {%- endfor %}
from {{ left }}
full outer join {{ right }}
    on
    {%- for key in keys %}
        {{ "and " if not loop.first }}{{ left }}.{{ key }} = {{ right }}.{{ key }}
    {%- endfor %}
where
    {%- for measure in measures %}
    {{ "or " if not loop.first }}coalesce({{ left }}.{{ measure }}, 0) != coalesce({{ right }}.{{ measure }}, 0)
    {%- endfor %}
{%- endmacro %}
