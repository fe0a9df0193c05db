-- depends_on: {{ ref('delivery_channels') }} {{ ref('document_types') }}
{{ config(full_refresh=not billing_incremental_build()) }}
{{ billing_landing_rows(
    'documents',
    parents={
        'client_id': ref('stg_billing__clients'),
        'job_id': ref('stg_billing__jobs'),
    },
) }}
