"""dlcore.data: in-memory datasets (curriculum §9a), lazy streamed splits (ImageNet, DS-4),
loaders, prefetching and on-device preprocessing. A leaf layer: depends only on
numpy/jax/libraries, dlcore.errors, dlcore.registry.

Importing this package registers the built-in datasets in `DATASETS`.
"""

from dlcore.data import (imagenet, mnist, sklearn_sets, sst2, synthetic,  # noqa: F401
                         tfds_source)
from dlcore.data.base import (DATASETS, Dataset, DatasetInfo, carve_validation, load_dataset,
                              resolve_data_dir)
from dlcore.data.idx import read_idx
from dlcore.data.lazy import LazyColumn, LazySplit
from dlcore.data.loader import TrainLoader, eval_batches, num_eval_batches
from dlcore.data.prefetch import Prefetcher
from dlcore.data.preprocess import make_preprocess

__all__ = [
    "DATASETS", "Dataset", "DatasetInfo", "LazyColumn", "LazySplit", "Prefetcher", "TrainLoader",
    "carve_validation", "eval_batches", "load_dataset", "make_preprocess", "num_eval_batches",
    "read_idx", "resolve_data_dir",
]
