"""Airflow assets that connect provider DAGs to the publish DAG; stable names, independent of warehouse host."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property

from airflow.sdk import Asset
from airflow.sdk.definitions.asset import AssetAny, BaseAsset


def staging_asset(provider_id: str) -> Asset:
    """Updated when a provider's raw batch and staging models are ready."""
    return Asset(name=f"staging_{provider_id}", uri=f"media-platform://staging/{provider_id}", group="staging")


def reporting_asset(table: str) -> Asset:
    """Updated when a reporting table is published."""
    return Asset(name=f"reporting_{table}", uri=f"media-platform://reporting/{table}", group="reporting")


def any_asset(assets: Sequence[Asset]) -> BaseAsset | None:
    """A schedule on any of `assets` being updated: what `a | b | c` gives (None for none, the asset for one), with
    its hash worked out once. Airflow hashes a DAG's schedule at each `>>` inside the DAG, and an asset's hash
    serialises it to JSON, so a plain condition over every provider's asset costs each dependency a pass over them."""
    if len(assets) < 2:
        return assets[0] if assets else None
    return _AnyAsset(*assets)


class _AnyAsset(AssetAny):
    """AssetAny whose hash is computed once (its assets never change after the DAG is built)."""

    @cached_property
    def _hash(self) -> int:
        return super().__hash__()

    def __hash__(self) -> int:
        return self._hash
