"""Orchestration side of the media-asset data platform: provider configs, DAG builders, audit and publish."""
