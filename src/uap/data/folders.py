"""Image-folder datasets read from a user's copy: ImageNet-M10 (S1 Table 6) and Tiny-ImageNet."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from .base import DatasetUnavailable, ImageData

# S1, Appendix B.1, Table 6: super-class -> ImageNet class indices (sorted-WNID order).
IMAGENET_M10 = {
    "dog": list(range(151, 157)),
    "bird": list(range(7, 13)),
    "insect": list(range(300, 306)),
    "monkey": list(range(370, 376)),
    "car": [407, 436, 468, 511, 609, 627],
    "feline": list(range(286, 292)),
    "truck": [555, 569, 675, 717, 734, 864],
    "fruit": [948, 984, 987, 988, 989, 990],
    "fungus": list(range(991, 997)),
    "boat": [472, 554, 576, 625, 814, 914],
}
IMG_EXT = {".jpeg", ".jpg", ".png"}


def _load_image(path: Path, size: int) -> torch.Tensor:
    from PIL import Image
    from torchvision.transforms.functional import center_crop, pil_to_tensor, resize
    with Image.open(path) as im:
        t = pil_to_tensor(im.convert("RGB"))
    return center_crop(resize(t, size, antialias=True), [size, size])


def _stack(paths: list[Path], size: int) -> torch.Tensor:
    from ..utils import progress
    out = torch.empty((len(paths), 3, size, size), dtype=torch.uint8)
    for i, p in enumerate(progress(paths, desc="decoding images", unit="img")):
        out[i] = _load_image(p, size)
    return out


def load_imagenet_m10(split: str, root: str | None = None, download: bool = False,
                      image_size: int = 128) -> tuple[ImageData, dict]:
    """`root` is an ImageNet folder with train/ and val/ of 1,000 WNID sub-folders each.

    `y` holds the 10 super-classes, `extra["y_fine"]` the 60 ImageNet classes (0..59).
    """
    if root is None:
        raise DatasetUnavailable("imagenet_m10 needs data.root: an ImageNet (ILSVRC2012) folder with train/ and "
                                 "val/, each holding 1,000 WNID sub-folders (val re-organised into class folders)")
    base = Path(root)
    split_dir = base / ("train" if split == "train" else "val")
    if not split_dir.is_dir():
        raise DatasetUnavailable(f"{split_dir} does not exist: data.root must be an ImageNet folder with train/ and val/")
    wnids = sorted(p.name for p in split_dir.iterdir() if p.is_dir())
    if len(wnids) != 1000:
        raise DatasetUnavailable(f"{split_dir} has {len(wnids)} class folders, expected the 1,000 ImageNet WNIDs")
    paths, coarse, fine = [], [], []
    for ci, (name, idxs) in enumerate(IMAGENET_M10.items()):
        for fi, idx in enumerate(idxs):
            files = sorted(p for p in (split_dir / wnids[idx]).iterdir() if p.suffix.lower() in IMG_EXT)
            paths += files
            coarse += [ci] * len(files)
            fine += [ci * 6 + fi] * len(files)
    x = _stack(paths, image_size)
    data = ImageData(x, torch.tensor(coarse), list(IMAGENET_M10), {"y_fine": torch.tensor(fine)})
    return data, {"source": str(split_dir), "n_files": len(paths), "image_size": image_size}


def load_tiny_imagenet(split: str, root: str | None = None, download: bool = False) -> tuple[ImageData, dict]:
    """`root` is the extracted tiny-imagenet-200 folder (train/<wnid>/images, val/val_annotations.txt)."""
    if root is None or not (Path(root) / "wnids.txt").is_file():
        raise DatasetUnavailable("tiny_imagenet needs data.root pointing at the extracted tiny-imagenet-200 folder "
                                 "(containing wnids.txt, train/ and val/)")
    base = Path(root)
    wnids = base.joinpath("wnids.txt").read_text().split()
    index = {w: i for i, w in enumerate(wnids)}
    if split == "train":
        items = [(p, index[w]) for w in wnids for p in sorted((base / "train" / w / "images").glob("*.JPEG"))]
    else:
        ann = base / "val" / "val_annotations.txt"
        if not ann.is_file():
            raise DatasetUnavailable(f"{ann} is missing: re-extract tiny-imagenet-200")
        items = []
        for line in ann.read_text().splitlines():
            parts = line.split("\t")
            items.append((base / "val" / "images" / parts[0], index[parts[1]]))
    x = _stack([p for p, _ in items], 64)
    return ImageData(x, torch.tensor(np.array([c for _, c in items]), dtype=torch.long), wnids), {"source": str(base)}
