{{ billing_landing_rows(
    'contacts',
    parents={
        'client_id': ref('stg_billing__clients'),
    },
) }}
