{#-
    The 16 raw tables of the landing folder (contract section 2) with their key columns, in
    load order. The source YAML carries the same keys in its table `meta`; the singular test
    `assert_landing_tables_match_sources` keeps the two in step.
-#}
{% macro billing_landing_tables() -%}
    {{ return({
        'clients': ['client_id'],
        'contacts': ['contact_id'],
        'branches': ['client_id', 'branch_code'],
        'customers': ['client_id', 'customer_account_id'],
        'customer_routing': ['routing_id'],
        'processing_rules': ['rule_id'],
        'processing_rule_changes': ['change_id'],
        'file_uploads': ['file_id'],
        'jobs': ['job_id'],
        'job_status_events': ['event_id'],
        'job_approvals': ['approval_id'],
        'batches': ['batch_id'],
        'documents': ['document_id'],
        'document_pulls': ['pull_id'],
        'deliveries': ['delivery_id'],
        'fees': ['fee_id'],
    }) }}
{%- endmacro %}
