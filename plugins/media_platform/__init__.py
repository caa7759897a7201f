"""Orchestration side of the media-asset data platform: config, DAG builders, task code and the audit contract."""
