-- The raw tables the ops models loop over (billing_landing_tables(): names known at parse time,
-- keys read from the source) must be exactly the tables of source `billing`, each with a key.
{%- set declared = billing_landing_tables() %}
{%- set mismatches = [] %}
{%- if execute %}
    {%- set sources = graph.sources.values() | selectattr('source_name', 'equalto', 'billing') | list %}
    {%- for node in sources %}
        {%- if node.name not in declared or not node.meta.key %}
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
