-- depends_on: {{ ref('delivery_channels') }}
{{ config(full_refresh=not billing_incremental_build()) }}
{{ billing_landing_rows(
    'deliveries',
    parents={
        'document_id': ref('stg_billing__documents'),
    },
) }}
