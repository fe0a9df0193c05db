-- depends_on: {{ ref('delivery_channels') }}
{{ config(full_refresh=not billing_incremental_build()) }}
{{ billing_landing_rows(
    'customer_routing',
    parents={
        'client_id': ref('stg_billing__clients'),
    },
) }}
