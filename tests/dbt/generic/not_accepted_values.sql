{#-
    The column never holds one of `values` (nulls pass): the opposite of accepted_values, for a
    report that leaves a code out by rule while the codes it may hold come from a seed
    (`relationships`). Returns the rows that hold a left-out value.
-#}
{% test not_accepted_values(model, column_name, values) %}

select {{ column_name }}
from {{ model }}
where {{ column_name }} in (
    {%- for value in values %}'{{ value }}'{{ ", " if not loop.last }}{% endfor -%}
)

{% endtest %}
