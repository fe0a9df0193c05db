{#- Files per landing scan: a batch is held in memory (spilling beyond the memory limit) before it is numbered. -#}
{% macro billing_landing_batch_files() -%}
    {{ return(var('billing_landing_batch_files', 64) | int) }}
{%- endmacro %}
