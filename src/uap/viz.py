"""Figure helpers of the notebooks, in numpy: the notebooks' kernels read artifacts with
safetensors.numpy and never import torch (~1.8 s a notebook on this project's CPU)."""
from __future__ import annotations

import numpy as np


def visualize(delta) -> np.ndarray:
    """S1 App. C's visualisation rule. delta: [..., C, H, W] (a numpy array, or a CPU tensor). Per
    perturbation: σ = std over all channels and pixels; each channel is clipped to [-3σ, 3σ], then
    shifted and rescaled to [0, 1]."""
    d = np.asarray(delta)
    sigma = np.maximum(d.reshape(*d.shape[:-3], -1).std(axis=-1), 1e-12)[..., None, None, None]
    clipped = np.clip(d, -3 * sigma, 3 * sigma)
    lo = clipped.min(axis=(-2, -1), keepdims=True)
    hi = clipped.max(axis=(-2, -1), keepdims=True)
    return (clipped - lo) / np.maximum(hi - lo, 1e-12)


def image(x) -> np.ndarray:
    """[C, H, W] → what imshow takes: [H, W] for one channel, [H, W, C] otherwise."""
    x = np.asarray(x)
    return x[0] if x.shape[0] == 1 else x.transpose(1, 2, 0)


def minmax(m) -> np.ndarray:
    """One attribution map scaled to [0, 1] (a constant map → 0), as uap.metrics.normalize_maps does
    per image before the S3 metrics compare maps."""
    m = np.asarray(m, dtype=np.float32)
    lo, hi = m.min(), m.max()
    return (m - lo) / max(float(hi - lo), 1e-12)
