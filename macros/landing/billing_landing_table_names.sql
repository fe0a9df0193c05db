{#-
    The names of the raw tables of source `billing`, in load order, known while dbt parses (a
    model's ref()s are captured then, before any source is). One `base_billing__<table>` model
    each. Everything else about a table (columns, key, types) is read from the source YAML.
-#}
{% macro billing_landing_table_names() -%}
    {{ return([
        'clients', 'contacts', 'branches', 'customers', 'customer_routing', 'processing_rules',
        'processing_rule_changes', 'file_uploads', 'jobs', 'job_status_events', 'job_approvals',
        'batches', 'documents', 'document_pulls', 'deliveries', 'fees',
    ]) }}
{%- endmacro %}
