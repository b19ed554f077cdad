"""Dataset registry: name → loader(split, root, download) returning (ImageData, provenance).

The registry's facts (the names, FLIP_OK, FINE_LABELS) import nothing heavy, because the Snakefile
reads them while it builds the DAG; the loaders and `ImageData` / `DatasetUnavailable`, which import
torch, are loaded on first use."""
from __future__ import annotations

import importlib
from functools import partial
from typing import Callable

# name → (module of this package, loader function, its leading arguments)
_LOADERS: dict[str, tuple[str, str, tuple]] = {
    "fashion_mnist": ("mnist_family", "load_fashion_mnist", ()),
    "mnist": ("mnist_family", "load_mnist", ()),
    "mnist5k": ("mnist_family", "load_mnist5k", ()),
    "cifar10": ("cifar", "load_cifar", ("cifar10",)),
    "cifar100": ("cifar", "load_cifar", ("cifar100",)),
    "imagenet_m10": ("folders", "load_imagenet_m10", ()),
    "tiny_imagenet": ("folders", "load_tiny_imagenet", ()),
}

# Whether horizontal flips are a label-preserving augmentation for the dataset.
FLIP_OK = {"fashion_mnist": True, "mnist": False, "mnist5k": False, "cifar10": True, "cifar100": True,
           "imagenet_m10": True, "tiny_imagenet": True}

# Datasets whose loader returns a real class/sub-class hierarchy (`extra["y_fine"]` beside the coarse `y`).
FINE_LABELS = {"cifar100", "imagenet_m10"}


def _loader(name: str) -> Callable:
    module, fn, args = _LOADERS[name]
    f = getattr(importlib.import_module(f".{module}", __name__), fn)
    return partial(f, *args) if args else f


def load_dataset(name: str, split: str, root: str | None = None, download: bool = True, **kw):
    if name not in _LOADERS:
        raise KeyError(f"unknown dataset {name!r}; known: {sorted(_LOADERS)}")
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    return _loader(name)(split, root=root, download=download, **kw)


def __getattr__(name: str):
    """DATASETS (name → loader), ImageData and DatasetUnavailable, imported when first asked for."""
    if name == "DATASETS":
        return {n: _loader(n) for n in _LOADERS}
    if name in ("DatasetUnavailable", "ImageData"):
        from . import base
        return getattr(base, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["DATASETS", "FINE_LABELS", "FLIP_OK", "DatasetUnavailable", "ImageData", "load_dataset"]
