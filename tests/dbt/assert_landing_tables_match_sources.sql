-- The table list and keys of macros/landing/billing_landing_tables.sql must match source
-- `billing` (its table meta `key`): the ops models and the staging checks read one each.
{%- set declared = billing_landing_tables() %}
{%- set mismatches = [] %}
{%- if execute %}
    {%- set sources = graph.sources.values() | selectattr('source_name', 'equalto', 'billing') | list %}
    {%- for node in sources %}
        {%- if node.name not in declared or declared[node.name] != node.meta.key %}
            {%- do mismatches.append(node.name) %}
        {%- endif %}
    {%- endfor %}
    {%- for table in declared %}
        {%- if table not in sources | map(attribute='name') | list %}
            {%- do mismatches.append(table) %}
        {%- endif %}
    {%- endfor %}
{%- endif %}

select '{{ mismatches | join(", ") }}' as mismatched_tables
where {{ 'true' if mismatches else 'false' }}
