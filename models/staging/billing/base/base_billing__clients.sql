{{ config(full_refresh=not var('billing_incremental', false)) }}
{{ billing_landing_rows('clients') }}
