{#- The mart delta contract (issue #9): every published mart is incremental on the keys whose inputs changed since
    its last build, keeps `changed_at` (moves only when a row's content changes) and `is_removed` tombstones.

    What a mart has seen is kept per mart in small tables beside the marts, updated in the mart's own transaction
    (so a failed build sees the same changes again):
    - mart_delta_batches: (batch_id, finished_at) of every raw.ingest_batches row the last build read. A batch that
      is new, replaced (a re-run keeps its id and gets a new finished_at) or gone since is a changed batch.
    - mart_delta_marks: when the mart was last built (rows of upstream marts with a later changed_at are changed
      keys) and the latest EIDR decision it had seen.
    - mart_delta_coverage_members: the (provider, day) group each asset was counted in by eidr_coverage.
    The pre-hook snapshots both into temporary tables, the model reads only those, the post-hook stores the
    snapshot: a batch committed meanwhile is simply seen by the next build. -#}

{#- The build's run_started_at: the changed_at of every row it writes (the SQL linter renders without it). -#}
{% macro mart_delta_now() -%}
    '{{ run_started_at.isoformat() if run_started_at is defined else "2000-01-01T00:00:00+00:00" }}'::timestamptz
{%- endmacro %}

{% macro mart_delta_temp(name) -%}
    {{ this.identifier }}__delta_{{ name }}
{%- endmacro %}

{#- Before the model, once per database: the state tables and the indexes the changed-key lookups use. Nothing is
    locked when they exist (this runs in the build's transaction, which holds locks until it commits). -#}
{% macro mart_delta_prepare() -%}
    {%- set schema = this.schema -%}
    do $$
    begin
        if to_regclass('{{ schema }}.mart_delta_coverage_members') is null
            or to_regclass('eidr.overrides_superseded_at_idx') is null then
            perform pg_advisory_xact_lock(7240512);
            create table if not exists {{ schema }}.mart_delta_batches (
                mart text not null,
                batch_id text not null,
                finished_at timestamptz not null,
                primary key (mart, batch_id)
            );
            create table if not exists {{ schema }}.mart_delta_marks (
                mart text primary key,
                built_at timestamptz not null,
                decided_at timestamptz
            );
            create table if not exists {{ schema }}.mart_delta_coverage_members (
                asset_key text primary key,
                provider_id text not null,
                day date not null
            );
            create index if not exists match_results_decided_at_idx on eidr.match_results (decided_at);
            create index if not exists overrides_decided_at_idx on eidr.overrides (decided_at);
            create index if not exists overrides_superseded_at_idx on eidr.overrides (superseded_at);
        end if;
    end $$
{%- endmacro %}

{#- Inside the build's transaction, before the model: what changed since the last build. -#}
{% macro mart_delta_begin() -%}
    {%- set state = this.schema ~ '.mart_delta_batches' -%}
    drop table if exists {{ mart_delta_temp('batches') }}, {{ mart_delta_temp('changed_batches') }},
        {{ mart_delta_temp('marks') }};
    create temporary table {{ mart_delta_temp('batches') }} as
    select batch_id, finished_at from {{ source('raw', 'ingest_batches') }} where {{ configured_providers() }};

    create temporary table {{ mart_delta_temp('changed_batches') }} as
    select batch_id from (
        select batch_id, finished_at from {{ mart_delta_temp('batches') }}
        except
        select batch_id, finished_at from {{ state }} where mart = '{{ this.identifier }}'
    ) as new_or_replaced
    union
    select batch_id from (
        select batch_id, finished_at from {{ state }} where mart = '{{ this.identifier }}'
        except
        select batch_id, finished_at from {{ mart_delta_temp('batches') }}
    ) as replaced_or_gone;

    create temporary table {{ mart_delta_temp('marks') }} as
    select
        coalesce(seen.built_at, '-infinity') as built_at,
        coalesce(seen.decided_at, '-infinity') as decided_at,
        greatest(
            (select max(decided_at) from {{ source('eidr', 'match_results') }}),
            (select max(decided_at) from {{ source('eidr', 'overrides') }}),
            (select max(superseded_at) from {{ source('eidr', 'overrides') }})
        ) as decided_now
    from (select 1) as one
    left join {{ this.schema }}.mart_delta_marks as seen on seen.mart = '{{ this.identifier }}';

    analyze {{ mart_delta_temp('changed_batches') }};
{%- endmacro %}

{#- Inside the transaction, after the model: store what this build has seen (writes nothing when nothing changed). -#}
{% macro mart_delta_commit() -%}
    {%- set state = this.schema ~ '.mart_delta_batches' -%}
    delete from {{ state }} as seen
    where seen.mart = '{{ this.identifier }}'
        and seen.batch_id in (select batch_id from {{ mart_delta_temp('changed_batches') }});

    insert into {{ state }} (mart, batch_id, finished_at)
    select '{{ this.identifier }}', batches.batch_id, batches.finished_at
    from {{ mart_delta_temp('batches') }} as batches
    where batches.batch_id in (select batch_id from {{ mart_delta_temp('changed_batches') }});

    insert into {{ this.schema }}.mart_delta_marks (mart, built_at, decided_at)
    select '{{ this.identifier }}', {{ mart_delta_now() }}, decided_now from {{ mart_delta_temp('marks') }}
    on conflict (mart) do update set built_at = excluded.built_at, decided_at = excluded.decided_at;

    -- the contract's columns are not null (set once, when the table was just created)
    do $$
    begin
        if exists (
            select from pg_attribute
            where attrelid = '{{ this.schema }}.{{ this.identifier }}'::regclass
                and attname in ('changed_at', 'is_removed') and not attnotnull
        ) then
            alter table {{ this.schema }}.{{ this.identifier }}
                alter column changed_at set not null, alter column is_removed set not null;
        end if;
    end $$;
{%- endmacro %}

{#- `= {{ mart_delta_changed_batches() }}`: one of the batches new, replaced or gone since this mart's last build.
    An array, not `in (select ...)`: a comparison with a parameter reaches each raw table's batch_id index through
    the staging views and the union, where a semi-join would scan them. -#}
{% macro mart_delta_changed_batches() -%}
    any(array(select batch_id from {{ mart_delta_temp('changed_batches') }}))
{%- endmacro %}

{#- `= {{ mart_delta_any('key', 'changed_assets') }}`: one of the keys of a (small) relation, as a parameter, so
    the comparison is pushed into views, unions and window functions partitioned by that key, down to an index. -#}
{% macro mart_delta_any(column, relation) -%}
    any(array(select {{ column }} from {{ relation }}))
{%- endmacro %}

{#- When this mart was last built: upstream marts' rows with a later changed_at are its changed keys. -#}
{% macro mart_delta_last_built() -%}
    (select built_at from {{ mart_delta_temp('marks') }})
{%- endmacro %}

{#- Assets whose EIDR decision (a match or an override) changed since this mart's last build (a relation). -#}
{% macro mart_delta_decided_assets() -%}
    (
        select asset_key from {{ source('eidr', 'match_results') }}
        where decided_at > (select decided_at from {{ mart_delta_temp('marks') }})
        union
        select asset_key from {{ source('eidr', 'overrides') }}
        where decided_at > (select decided_at from {{ mart_delta_temp('marks') }})
            or superseded_at > (select decided_at from {{ mart_delta_temp('marks') }})
    )
{%- endmacro %}

{#- True when `left` and `right` (relation aliases) hold the same values in every one of `columns`, nulls included. -#}
{% macro mart_delta_same(left, right, columns) -%}
    ({% for column in columns %}
        {{ 'and ' if not loop.first }}{{ left }}.{{ column }} is not distinct from {{ right }}.{{ column }}
    {%- endfor %}
    )
{%- endmacro %}

{#- The rows a build writes, from `fresh` (the recomputed rows of the changed keys, `columns` in order) and
    `previous` (this mart's rows of the same keys): a new or different row with changed_at = this run, a tombstone
    for a previous key that has no fresh row; a key recomputed to the same content is not written at all. -#}
{% macro mart_delta_rows(fresh, previous, key, columns) -%}
    {%- set matches -%}
        {% for column in key %}{{ 'and ' if not loop.first }}previous.{{ column }} = fresh.{{ column }} {% endfor %}
    {%- endset -%}
    {%- if is_incremental() %}
        select
            {%- for column in columns %}
            fresh.{{ column }},
            {%- endfor %}
            false as is_removed,
            {{ mart_delta_now() }} as changed_at
        from {{ fresh }} as fresh
        left join {{ previous }} as previous on {{ matches }}
        where
            previous.{{ key[0] }} is null
            or previous.is_removed
            or not {{ mart_delta_same('fresh', 'previous', columns) }}
        union all
        select
            {%- for column in columns %}
            previous.{{ column }},
            {%- endfor %}
            true as is_removed,
            {{ mart_delta_now() }} as changed_at
        from {{ previous }} as previous
        where not previous.is_removed and not exists (select from {{ fresh }} as fresh where {{ matches }})
    {%- else %}
        select
            {%- for column in columns %}
            fresh.{{ column }},
            {%- endfor %}
            false as is_removed,
            {{ mart_delta_now() }} as changed_at
        from {{ fresh }} as fresh
    {%- endif %}
{%- endmacro %}

{#- An audit mart built before the delta contract (no changed_at) is dropped when the build compiles, so it is built
    from scratch once; `dbt compile` and `dbt docs` leave it alone. -#}
{% macro mart_delta_upgrade() -%}
    {%- if execute and flags.WHICH in ('run', 'build') -%}
        {%- set existing = load_relation(this) -%}
        {%- if existing is not none
            and 'changed_at' not in (adapter.get_columns_in_relation(existing) | map(attribute='name') | list) -%}
            {%- do log('mart_delta: ' ~ this ~ ' predates changed_at; rebuilding it from scratch', info=true) -%}
            {%- do adapter.drop_relation(existing) -%}
        {%- endif -%}
    {%- endif -%}
{%- endmacro %}
