"""Fold eval-mode batch norms into the convolutions that feed them, for frozen models.

In eval mode a BatchNorm2d is a per-channel affine map, y = a·z + b with a = γ/√(var + eps) and
b = β − a·mean; when its input z is the output of a convolution and nothing else reads z, the pair is
one convolution with weights a·W and bias a·bias_W + b. The folded model computes the same function
(up to float rounding: measured max |Δlogit| ≈ 4e-6 on the default natural ResNet-18) and skips the
batch norms' forward and backward passes: per-example PGD on that model ran 1.3–1.4× faster, fp32 and
bf16 alike (1 thread, 512 images, 10 steps).

Which conv feeds which batch norm is declared by the architectures (`CONV_BN_PAIRS`, attribute names
of the module they sit in); inside any `nn.Sequential`, a Conv2d directly followed by a BatchNorm2d is
a pair too. The folded convolution replaces the conv in place and the batch norm becomes an
`nn.Identity`, so module names (and forward hooks on blocks) stay valid; the output of a folded conv is
its batch norm's output, so a conv whose own output is observed (S4 probes the ResNet stem's `conv1`)
is named in `keep` and left as it is.
"""
from __future__ import annotations

import copy
from typing import Iterable

import torch
from torch import nn


def _fold_pair(conv: nn.Conv2d, bn: nn.BatchNorm2d) -> nn.Conv2d:
    """One convolution computing bn(conv(x)); its weights keep the conv's device, dtype and memory layout
    (a layout other than the input's makes oneDNN reorder at every call)."""
    if bn.running_mean is None or bn.running_var is None:
        raise ValueError("a batch norm without running statistics cannot be folded")
    with torch.no_grad():
        scale = bn.weight / torch.sqrt(bn.running_var + bn.eps) if bn.affine else torch.rsqrt(bn.running_var + bn.eps)
        shift = (bn.bias if bn.affine else 0.0) - scale * bn.running_mean
        fused = copy.deepcopy(conv)
        grad = conv.weight.requires_grad
        fused.weight = nn.Parameter(conv.weight * scale.view(-1, 1, 1, 1), requires_grad=grad)
        fused.bias = nn.Parameter(shift if conv.bias is None else conv.bias * scale + shift, requires_grad=grad)
    return fused


def _pairs(module: nn.Module) -> list[tuple[str, str]]:
    """(conv, bn) attribute names of `module` whose batch norm reads only that conv's output."""
    pairs = list(getattr(module, "CONV_BN_PAIRS", ()))
    if isinstance(module, nn.Sequential):
        kids = list(module.named_children())
        pairs += [(a, b) for (a, ma), (b, mb) in zip(kids, kids[1:])
                  if isinstance(ma, nn.Conv2d) and isinstance(mb, nn.BatchNorm2d)]
    return pairs


def fold_batchnorm(model: nn.Module, keep: Iterable[str] = ()) -> list[str]:
    """Fold, in place, every declared conv → batch-norm pair of an eval-mode `model`; convs named in
    `keep` (full module names, as `named_modules` gives them) are left unfolded. Returns the names of
    the folded convs. Training the model afterwards would be wrong (its batch norms are gone), so a
    model in training mode is refused. `model.folded_convs` lists every conv folded so far (S4's probe
    refuses to read one: its output is now its batch norm's)."""
    if model.training:
        raise ValueError("fold_batchnorm needs a model in eval mode (a training batch norm is not affine)")
    keep = set(keep)
    folded = []
    for name, module in list(model.named_modules()):
        for conv_name, bn_name in _pairs(module):
            conv, bn = getattr(module, conv_name), getattr(module, bn_name)
            full = f"{name}.{conv_name}" if name else conv_name
            if full in keep or not isinstance(conv, nn.Conv2d) or not isinstance(bn, nn.BatchNorm2d):
                continue
            if conv.out_channels != bn.num_features:
                raise ValueError(f"{full}: {conv.out_channels} output channels, but its batch norm has "
                                 f"{bn.num_features}")
            setattr(module, conv_name, _fold_pair(conv, bn))
            setattr(module, bn_name, nn.Identity())
            folded.append(full)
    model.folded_convs = (*getattr(model, "folded_convs", ()), *folded)
    return folded
