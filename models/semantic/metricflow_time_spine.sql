-- One row per calendar day from the first to the last plausible year (vars min_plausible_year,
-- max_plausible_year): the time spine MetricFlow joins metrics to (dbt time spine spec).
with days as (

    {{ dbt.date_spine(
        'day',
        "cast('" ~ var('min_plausible_year') ~ "-01-01' as date)",
        "cast('" ~ (var('max_plausible_year') + 1) ~ "-01-01' as date)"
    ) }}

),

final as (

    select cast(date_day as date) as date_day
    from days

)

select * from final
