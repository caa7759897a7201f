-- Every title staging model (one per delivery format, each holding all its providers) in one relation, one row
-- per delivered version. The staging models share their columns in the same order.
select * from {{ ref('stg_adi__titles') }}
union all
select * from {{ ref('stg_mec__titles') }}
union all
select * from {{ ref('stg_csv__titles') }}
union all
select * from {{ ref('stg_json__titles') }}
