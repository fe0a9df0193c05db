-- depends_on: {{ ref('fee_types') }}
{{ config(full_refresh=not billing_incremental_build()) }}
{{ billing_landing_rows(
    'fees',
    parents={
        'client_id': ref('stg_billing__clients'),
        'job_id': ref('stg_billing__jobs'),
        'batch_id': ref('stg_billing__batches'),
        'document_id': ref('stg_billing__documents'),
    },
) }}
