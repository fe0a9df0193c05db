{{ config(full_refresh=not billing_incremental_build()) }}
{{ billing_landing_rows(
    'customers',
    parents={
        'client_id': ref('stg_billing__clients'),
    },
) }}
