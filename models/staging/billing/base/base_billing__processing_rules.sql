{{ config(full_refresh=not var('billing_incremental', false)) }}
{{ billing_landing_rows(
    'processing_rules',
    parents={
        'client_id': ref('stg_billing__clients'),
    },
) }}
