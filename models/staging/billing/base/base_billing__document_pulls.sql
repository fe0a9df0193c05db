{{ config(full_refresh=not billing_incremental_build()) }}
{{ billing_landing_rows(
    'document_pulls',
    parents={
        'job_id': ref('stg_billing__jobs'),
        'document_id': ref('stg_billing__documents'),
    },
) }}
