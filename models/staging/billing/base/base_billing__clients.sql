{{ config(full_refresh=not billing_incremental_build()) }}
{{ billing_landing_rows('clients') }}
