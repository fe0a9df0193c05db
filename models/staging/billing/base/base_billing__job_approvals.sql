{{ config(full_refresh=not billing_incremental_build()) }}
{{ billing_landing_rows(
    'job_approvals',
    parents={
        'job_id': ref('stg_billing__jobs'),
    },
) }}
