"""The local stack for laptops and CI: embedded PostgreSQL, the project environment, Airflow's connections and pools."""
