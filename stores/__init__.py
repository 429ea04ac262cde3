"""Zarr v3 feature store (imported as ``latentanon.stores``): schema, crash-safe writer, reader and merge.

See docs/store.md for the schema and guarantees.
"""

from latentanon.stores.merge import merge_stores
from latentanon.stores.reader import ChunkShuffledSampler, FeatureStore, VideoFeatures, open_store
from latentanon.stores.schema import recipe_differences, recipe_hash
from latentanon.stores.writer import StoreLockedError, StoreWriter, VideoRows

__all__ = [
    "ChunkShuffledSampler",
    "FeatureStore",
    "StoreLockedError",
    "StoreWriter",
    "VideoFeatures",
    "VideoRows",
    "merge_stores",
    "open_store",
    "recipe_differences",
    "recipe_hash",
]
