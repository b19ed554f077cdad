"""CIFAR-10 and CIFAR-100 from the official *binary* archives (no pickles are read).

CIFAR-100 carries both label levels: `y` holds the 20 coarse super-classes and `extra["y_fine"]`
the 100 fine classes, a real class/sub-class hierarchy for the class-restricted experiments.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch

from .base import DatasetUnavailable, ImageData

ARCHIVES = {
    "cifar10": ("https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz", "c32a1d4ab5d03f1284b67883e8d87530",
                "cifar-10-batches-bin"),
    "cifar100": ("https://www.cs.toronto.edu/~kriz/cifar-100-binary.tar.gz", "03b5dce01913d631647c71ecec9e9cb8",
                 "cifar-100-binary"),
}
CIFAR10_CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
CIFAR100_COARSE = ["aquatic_mammals", "fish", "flowers", "food_containers", "fruit_and_vegetables",
                   "household_electrical_devices", "household_furniture", "insects", "large_carnivores",
                   "large_man-made_outdoor_things", "large_natural_outdoor_scenes",
                   "large_omnivores_and_herbivores", "medium_mammals", "non-insect_invertebrates", "people",
                   "reptiles", "small_mammals", "trees", "vehicles_1", "vehicles_2"]


def _files(name: str, split: str) -> list[str]:
    if name == "cifar10":
        return [f"data_batch_{i}.bin" for i in range(1, 6)] if split == "train" else ["test_batch.bin"]
    return ["train.bin"] if split == "train" else ["test.bin"]


def _ensure(name: str, root: str | None, download: bool) -> Path:
    url, md5, folder = ARCHIVES[name]
    base = Path(root or os.environ.get("UAP_DATA_DIR", "data"))
    d = base / folder
    if all((d / f).is_file() for f in _files(name, "train") + _files(name, "test")):
        return d
    if not download:
        raise DatasetUnavailable(f"{name} not found in {d}; extract {url.rsplit('/', 1)[1]} into {base} "
                                 "or set data.download: true")
    try:
        from torchvision.datasets.utils import download_and_extract_archive
        download_and_extract_archive(url, str(base), md5=md5)
    except Exception as exc:
        raise DatasetUnavailable(
            f"{name} could not be downloaded ({exc}). Download {url} (md5 {md5}) elsewhere and extract it "
            f"into {base} (so that {d} exists), or point data.root at the folder holding {folder}/.") from exc
    return d


def load_cifar(name: str, split: str, root: str | None = None, download: bool = True) -> tuple[ImageData, dict]:
    d = _ensure(name, root, download)
    label_bytes = 1 if name == "cifar10" else 2
    rec = label_bytes + 3072
    chunks = []
    for f in _files(name, split):
        raw = np.frombuffer((d / f).read_bytes(), dtype=np.uint8)
        if raw.size % rec:
            raise DatasetUnavailable(f"{d / f} has a truncated record: delete {d} and extract the archive again")
        chunks.append(raw.reshape(-1, rec))
    arr = np.concatenate(chunks)
    x = torch.from_numpy(arr[:, label_bytes:].reshape(-1, 3, 32, 32).copy())
    if name == "cifar10":
        return ImageData(x, torch.from_numpy(arr[:, 0].astype(np.int64)), CIFAR10_CLASSES), {"source": str(d)}
    coarse = torch.from_numpy(arr[:, 0].astype(np.int64))
    fine = torch.from_numpy(arr[:, 1].astype(np.int64))
    return ImageData(x, coarse, CIFAR100_COARSE, {"y_fine": fine}), {"source": str(d)}
