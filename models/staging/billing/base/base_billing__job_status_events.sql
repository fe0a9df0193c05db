-- depends_on: {{ ref('job_statuses') }}
{{ config(full_refresh=not billing_incremental_build()) }}
{{ billing_landing_rows(
    'job_status_events',
    parents={
        'job_id': ref('stg_billing__jobs'),
    },
) }}
