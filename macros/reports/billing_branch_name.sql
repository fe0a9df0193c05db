{#-
    A report branch's display name (R8, R9): "Unassigned" for the UNASSIGNED branch that documents
    and fees without a branch fall into, else the landed branch_name (null for a branch code the
    client's branches do not list).
-#}
{% macro billing_branch_name(branch_code, branch_name) -%}
    case
        when {{ branch_code }} = 'UNASSIGNED' then 'Unassigned'
        else {{ branch_name }}
    end
{%- endmacro %}
