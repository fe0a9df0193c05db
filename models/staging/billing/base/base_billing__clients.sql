{{ billing_landing_rows('clients') }}
