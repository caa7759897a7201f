"""Event-driven ingestion: the asset watchers that start a provider's run when a delivery lands."""
