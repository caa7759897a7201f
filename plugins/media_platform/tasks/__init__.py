"""What runs inside tasks and their callbacks: extract_load (pod or local), EIDR matching, publish, alerts, dbt docs."""
