"""Threat models: one small object per norm (project, steepest-descent step, random start).

All perturbations live in [0,1] pixel space; the first dimension of a tensor is the batch (or the
set of perturbations), the norm is taken over the remaining dimensions.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch


def _flat_norm(x: torch.Tensor, p: float) -> torch.Tensor:
    return x.flatten(1).norm(p=p, dim=1).view(-1, *([1] * (x.dim() - 1)))


@dataclass(frozen=True)
class Threat:
    eps: float

    def __post_init__(self):
        if not (self.eps > 0):
            raise ValueError(f"{type(self).__name__}: eps must be > 0, got {self.eps!r}")

    name = "base"

    def norm(self, delta: torch.Tensor) -> torch.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def project(self, delta: torch.Tensor, eps: float | None = None) -> torch.Tensor:  # pragma: no cover
        raise NotImplementedError

    def direction(self, grad: torch.Tensor) -> torch.Tensor:  # pragma: no cover
        """Unit steepest-ascent direction of the norm for `grad`."""
        raise NotImplementedError

    def random(self, shape, generator: torch.Generator | None = None, device=None) -> torch.Tensor:  # pragma: no cover
        raise NotImplementedError


@dataclass(frozen=True)
class L2(Threat):
    name = "l2"

    def norm(self, delta):
        return delta.flatten(1).norm(p=2, dim=1)

    def project(self, delta, eps=None):
        eps = self.eps if eps is None else eps
        n = _flat_norm(delta, 2).clamp_min(1e-12)
        return delta * torch.clamp(eps / n, max=1.0)

    def direction(self, grad):
        return grad / _flat_norm(grad, 2).clamp_min(1e-12)

    def random(self, shape, generator=None, device=None):
        g = torch.randn(shape, generator=generator, device=device)
        r = torch.rand(shape[0], generator=generator, device=device).view(-1, *([1] * (len(shape) - 1)))
        return self.direction(g) * r * self.eps


@dataclass(frozen=True)
class Linf(Threat):
    name = "linf"

    def norm(self, delta):
        return delta.flatten(1).abs().amax(dim=1)

    def project(self, delta, eps=None):
        eps = self.eps if eps is None else eps
        return delta.clamp(-eps, eps)

    def direction(self, grad):
        return grad.sign()

    def random(self, shape, generator=None, device=None):
        return (torch.rand(shape, generator=generator, device=device) * 2 - 1) * self.eps


THREATS = {"l2": L2, "linf": Linf}


def make_threat(norm: str, eps: float) -> Threat:
    if norm not in THREATS:
        raise KeyError(f"unknown norm {norm!r}; known: {sorted(THREATS)}")
    return THREATS[norm](float(eps))


def apply_perturbation(x: torch.Tensor, delta: torch.Tensor) -> torch.Tensor:
    """The one way a perturbation is applied: add, then clip to the valid pixel range."""
    return (x + delta).clamp(0.0, 1.0)
