-- One row per uploaded file (R12): when it is expected to be picked up (15 minutes after upload,
-- or after the next client-local timed start at or after the upload) and its state at `as_of`.
with file_uploads as (

    select
        file_id,
        client_id,
        file_name,
        uploaded_at,
        size_bytes,
        picked_up_at,
        job_id
    from {{ ref('stg_billing__file_uploads') }}

),

clients as (

    select
        client_id,
        timezone
    from {{ ref('stg_billing__clients') }}

),

timed_start_rules as (

    select
        rule_id,
        client_id,
        cast(split_part(rule_value, ':', 1) as integer) * 60
        + cast(split_part(rule_value, ':', 2) as integer) as start_minute_of_day,
        valid_from,
        valid_to
    from {{ ref('stg_billing__processing_rules') }}
    where
        rule_type = 'timed_start'
        and {{ billing_matches('rule_value', '([01]?[0-9]|2[0-3]):[0-5][0-9]') }}

),

-- The timed-start rule valid at upload; when several are, the one that started last.
upload_rules as (

    select
        file_uploads.file_id,
        timed_start_rules.rule_id,
        timed_start_rules.start_minute_of_day,
        row_number() over (
            partition by file_uploads.file_id
            order by timed_start_rules.valid_from desc, timed_start_rules.rule_id desc
        ) as rule_rank
    from file_uploads
    inner join timed_start_rules
        on
            file_uploads.client_id = timed_start_rules.client_id
            and file_uploads.uploaded_at >= timed_start_rules.valid_from
            and (timed_start_rules.valid_to is null or file_uploads.uploaded_at < timed_start_rules.valid_to)

),

local_uploads as (

    select
        file_uploads.*,
        clients.timezone,
        upload_rules.rule_id as timed_start_rule_id,
        upload_rules.start_minute_of_day,
        {{ billing_utc_to_local('file_uploads.uploaded_at', 'clients.timezone') }} as uploaded_local
    from file_uploads
    left join clients
        on file_uploads.client_id = clients.client_id
    left join upload_rules
        on
            file_uploads.file_id = upload_rules.file_id
            and upload_rules.rule_rank = 1

),

-- The timed start on the upload's local day, as a wall-clock time.
same_day_starts as (

    select
        *,
        {{ dbt.dateadd('minute', 'start_minute_of_day', 'cast(cast(uploaded_local as date) as timestamp)') }}
            as same_day_start_local
    from local_uploads

),

processing_starts as (

    select
        *,
        case
            when start_minute_of_day is null then uploaded_at
            when same_day_start_local >= uploaded_local
                then {{ billing_local_to_utc('same_day_start_local', 'timezone') }}
            else {{ billing_local_to_utc(dbt.dateadd('day', 1, 'same_day_start_local'), 'timezone') }}
        end as processing_start_at
    from same_day_starts

),

expected_pickups as (

    select
        *,
        {{ dbt.dateadd('minute', 15, 'processing_start_at') }} as expected_pickup_by
    from processing_starts

),

final as (

    select
        client_id,
        file_id,
        file_name,
        uploaded_at,
        expected_pickup_by,
        picked_up_at,
        job_id,
        case
            when picked_up_at is not null then 'picked_up'
            when {{ billing_as_of() }} > expected_pickup_by then 'overdue'
            else 'waiting'
        end as pickup_state,
        processing_start_at,
        timed_start_rule_id,
        size_bytes,
        {{ billing_as_of() }} as as_of
    from expected_pickups

)

select * from final
