"""Smooth surrogates of piecewise-linear activations, for attacks that differentiate *through* a
gradient (S2's interpretation attacks).

A ReLU network's input gradient is piecewise constant, so the gradient of a saliency map with
respect to the input is zero almost everywhere and double backprop gives no signal. As in the
per-image interpretation attack the S2 paper builds on (Ghorbani et al., its ref. [6]), the
attacks compute their *search* gradients on a copy whose ReLU is replaced by softplus(β·x)/β
(ReLU6 by its difference of two softplus terms); every *evaluation* uses the original model.
"""
from __future__ import annotations

import copy

import torch
import torch.nn.functional as F
from torch import nn


class SmoothReLU6(nn.Module):
    """softplus_β(x) − softplus_β(x − 6): tends to ReLU6 as β → ∞."""

    def __init__(self, beta: float):
        super().__init__()
        self.beta = float(beta)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.softplus(x, beta=self.beta) - F.softplus(x - 6.0, beta=self.beta)


def smooth_copy(model: nn.Module, beta: float | None) -> nn.Module:
    """A copy of `model` with every nn.ReLU → nn.Softplus(β) and nn.ReLU6 → SmoothReLU6(β).

    beta=None returns the model itself. A model without activation *modules* (e.g. the ResNet,
    which uses the functional relu) is an error: its surrogate would silently be the original."""
    if beta is None:
        return model
    smooth = copy.deepcopy(model)
    swapped = 0
    for parent in smooth.modules():
        for name, child in parent.named_children():
            if isinstance(child, nn.ReLU6):
                setattr(parent, name, SmoothReLU6(beta))
                swapped += 1
            elif isinstance(child, nn.ReLU):
                setattr(parent, name, nn.Softplus(beta=float(beta)))
                swapped += 1
    if swapped == 0:
        raise ValueError(f"{type(model).__name__} has no nn.ReLU/nn.ReLU6 modules to smooth; set "
                         "upi.softplus_beta: null or use a model with activation modules")
    return smooth.eval()
