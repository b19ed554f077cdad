"""Dataset registry: name → loader(split, root, download) returning (ImageData, provenance)."""
from __future__ import annotations

from functools import partial
from typing import Callable

from .base import DatasetUnavailable, ImageData
from .cifar import load_cifar
from .folders import load_imagenet_m10, load_tiny_imagenet
from .mnist_family import load_fashion_mnist, load_mnist, load_mnist5k

DATASETS: dict[str, Callable[..., tuple[ImageData, dict]]] = {
    "fashion_mnist": load_fashion_mnist,
    "mnist": load_mnist,
    "mnist5k": load_mnist5k,
    "cifar10": partial(load_cifar, "cifar10"),
    "cifar100": partial(load_cifar, "cifar100"),
    "imagenet_m10": load_imagenet_m10,
    "tiny_imagenet": load_tiny_imagenet,
}

# Whether horizontal flips are a label-preserving augmentation for the dataset.
FLIP_OK = {"fashion_mnist": True, "mnist": False, "mnist5k": False, "cifar10": True, "cifar100": True,
           "imagenet_m10": True, "tiny_imagenet": True}

# Datasets whose loader returns a real class/sub-class hierarchy (`extra["y_fine"]` beside the coarse `y`).
FINE_LABELS = {"cifar100", "imagenet_m10"}


def load_dataset(name: str, split: str, root: str | None = None, download: bool = True, **kw):
    if name not in DATASETS:
        raise KeyError(f"unknown dataset {name!r}; known: {sorted(DATASETS)}")
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    return DATASETS[name](split, root=root, download=download, **kw)


__all__ = ["DATASETS", "FINE_LABELS", "FLIP_OK", "DatasetUnavailable", "ImageData", "load_dataset"]
