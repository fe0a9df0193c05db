-- depends_on: {{ ref('delivery_channels') }}
{{ config(full_refresh=not var('billing_incremental', false)) }}
{{ billing_landing_rows(
    'customer_routing',
    parents={
        'client_id': ref('stg_billing__clients'),
    },
) }}
