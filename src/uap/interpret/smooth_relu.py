"""The smoothed ReLU gradient of JUAP (002_0c35d062ce311dce.txt, eq. 15).

ReLU's second derivative is zero almost everywhere, so an objective that differentiates through a
gradient-based map (double backprop) gets no signal from the ReLU layers. Inside
`smooth_relu_gradient()` every ReLU keeps its forward value but back-propagates

    a(s) = 1(s < 0)·(1 + s/√(s²+τ)) + 1(s ≥ 0)·s/√(s²+τ)

instead of 1(s > 0), written with differentiable operations so that the backward pass itself has
the non-zero derivative τ/(s²+τ)^{3/2}.
"""
from __future__ import annotations

import contextlib

import torch
import torch.nn.functional as F

TAU = 1e-4


def relu_grad_surrogate(s: torch.Tensor, tau: float = TAU) -> torch.Tensor:
    """a(s) of eq. 15."""
    r = s / torch.sqrt(s * s + tau)
    return torch.where(s < 0, 1 + r, r)


class _SmoothGradReLU(torch.autograd.Function):
    @staticmethod
    def forward(ctx, s, tau):
        ctx.save_for_backward(s)
        ctx.tau = tau
        return s.clamp_min(0)

    @staticmethod
    def backward(ctx, grad):
        (s,) = ctx.saved_tensors
        return grad * relu_grad_surrogate(s, ctx.tau), None


def smooth_grad_relu(s: torch.Tensor, tau: float = TAU) -> torch.Tensor:
    return _SmoothGradReLU.apply(s, tau)


@contextlib.contextmanager
def smooth_relu_gradient(tau: float = TAU, enabled: bool = True):
    """Within the block, `F.relu` and `nn.ReLU` (which calls F.relu) use the eq. 15 gradient."""
    if not enabled:
        yield
        return
    original = F.relu

    def relu(input, inplace: bool = False):  # noqa: A002 - torch's signature
        return _SmoothGradReLU.apply(input, tau)

    F.relu = relu
    try:
        yield
    finally:
        F.relu = original
