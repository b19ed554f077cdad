"""Small helpers shared by the unit tests (a uniquely named module, not conftest, so that a
conftest.py elsewhere cannot shadow it)."""
from __future__ import annotations

import torch


def tiny_resnet(num_classes: int = 3, in_channels: int = 1, image_size: int = 8, seed: int = 0,
                logit_scale: float = 1.0):
    """ResNet-18 of width 2. A freshly initialised one is almost constant on random inputs;
    `logit_scale` multiplies its linear head so that its outputs respond to the input."""
    from uap.models import build_model
    torch.manual_seed(seed)
    m = build_model("resnet18", in_channels=in_channels, num_classes=num_classes, width=2,
                    image_size=image_size, mean=[0.5] * in_channels, std=[0.25] * in_channels)
    if logit_scale != 1.0:
        with torch.no_grad():
            m.net.linear.weight.mul_(logit_scale)
    return m


def write_tiny_splits(folder, sizes: dict[str, int], seed: int = 0) -> None:
    """Prepared train/test splits as `prepare-data` writes them: random uint8 8x8 images, 4 classes."""
    from pathlib import Path

    from uap.artifacts import save_tensors
    g = torch.Generator().manual_seed(seed)
    for split, n in sizes.items():
        save_tensors(Path(folder) / f"{split}.safetensors",
                     {"x": torch.randint(0, 256, (n, 1, 8, 8), generator=g, dtype=torch.uint8),
                      "y": torch.randint(0, 4, (n,), generator=g)},
                     {"dataset": "mnist", "split": split, "classes": list("abcd"), "num_classes": 4, "channels": 1,
                      "image_size": 8, "size": n, "flip_ok": False, "mean": [0.5], "std": [0.25]})


def wait_for(cond, proc, timeout: float = 600, what: str = "killed") -> None:
    """Poll `cond` until it holds, failing if the subprocess `proc` ends first or `timeout` s pass."""
    import time
    t0 = time.time()
    while not cond():
        assert proc.poll() is None, f"the run ended before it could be {what}"
        assert time.time() - t0 < timeout
        time.sleep(0.01)
