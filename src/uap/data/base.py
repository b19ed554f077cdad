"""In-memory image datasets: uint8 tensors [N, C, H, W] plus labels, kept whole on the device."""
from __future__ import annotations

import gzip
import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from ..errors import UapError


class DatasetUnavailable(UapError, RuntimeError):
    """A dataset is missing or corrupt; the message says what to install or where to put files."""


@dataclass
class ImageData:
    x: torch.Tensor                 # uint8 [N, C, H, W]
    y: torch.Tensor                 # int64 [N]
    classes: list[str]
    extra: dict[str, torch.Tensor] = field(default_factory=dict)   # e.g. {"y_fine": ...}

    def __post_init__(self):
        if self.x.dtype != torch.uint8 or self.x.dim() != 4:
            raise ValueError(f"images must be uint8 [N,C,H,W], got {self.x.dtype} {tuple(self.x.shape)}")
        if self.y.shape != (self.x.shape[0],):
            raise ValueError("labels must be [N] and match the images")

    def __len__(self) -> int:
        return self.x.shape[0]

    def subset(self, idx: torch.Tensor) -> "ImageData":
        return ImageData(self.x[idx], self.y[idx], self.classes, {k: v[idx] for k, v in self.extra.items()})

    def floats(self, device: torch.device | str = "cpu") -> torch.Tensor:
        """Images as float32 in [0, 1] on `device`."""
        return self.x.to(device).float().div_(255.0)


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def read_maybe_gz(path: Path) -> bytes:
    raw = path.read_bytes()
    return gzip.decompress(raw) if path.suffix == ".gz" else raw


def parse_idx(data: bytes) -> np.ndarray:
    """Parse an IDX file (the MNIST family's format) into a numpy array."""
    if len(data) < 4 or data[0] != 0 or data[1] != 0:
        raise ValueError("not an IDX file (bad magic number)")
    dtype_code, ndim = data[2], data[3]
    dtypes = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
    if dtype_code not in dtypes:
        raise ValueError(f"unknown IDX dtype code {dtype_code:#x}")
    dims = np.frombuffer(data, dtype=">i4", count=ndim, offset=4)
    arr = np.frombuffer(data, dtype=dtypes[dtype_code], offset=4 + 4 * ndim)
    if arr.size != int(np.prod(dims)):
        raise ValueError(f"IDX payload has {arr.size} values, header says {tuple(dims)}")
    return arr.reshape(tuple(int(d) for d in dims))


def find_file(root: Path, stem: str) -> Path | None:
    for name in (stem, stem + ".gz"):
        p = root / name
        if p.is_file():
            return p
    return None
