"""Bounding robust-feature leakage with linear probes (S1 App. A.3, Table 4).

A linear classifier is trained on the *frozen* penultimate features (`Normalized.features`) of a
pre-trained model, on D_univ (images x + δ_t labelled t), and tested on the original test set. If
features of natural models fit D_univ's labels better than features of a robust model, the signal
in D_univ is not (only) leaked robust features.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from .. import optim
from ..metrics import accuracy, as_float
from ..utils import generator


@torch.no_grad()
def extract_features(model, x: torch.Tensor, *, batch_size: int = 1024, device="cpu") -> torch.Tensor:
    """Penultimate features of `x` (uint8 or float images), in eval mode, without gradients."""
    device = torch.device(device)
    was = model.training
    model.eval()
    out = [model.features(as_float(x[i:i + batch_size].to(device)).contiguous(memory_format=torch.channels_last))
           .float().cpu() for i in range(0, x.shape[0], batch_size)]
    model.train(was)
    return torch.cat(out) if out else torch.empty(0)


def train_linear_probe(feats: torch.Tensor, y: torch.Tensor, num_classes: int, *, epochs: int, lr: float,
                       batch_size: int, weight_decay: float, seed: int) -> tuple[torch.nn.Linear, dict]:
    """Softmax regression on standardised features (minibatch SGD with momentum 0.9, cosine lr, deterministic).

    Returns the probe (standardisation folded into its weights, so it applies to raw features)."""
    mean, std = feats.mean(0), feats.std(0).clamp_min(1e-6)
    z = (feats - mean) / std
    torch.manual_seed(seed)
    probe = torch.nn.Linear(z.shape[1], num_classes)
    opt = optim.sgd(probe.parameters(), lr=lr, momentum=0.9, weight_decay=weight_decay)
    gen = generator(seed)
    n = len(y)
    for ep in range(epochs):
        opt.param_groups[0]["lr"] = lr * 0.5 * (1 + math.cos(math.pi * ep / max(1, epochs)))   # cosine
        perm = torch.randperm(n, generator=gen)
        for i in range(0, n, batch_size):
            idx = perm[i:i + batch_size]
            loss = F.cross_entropy(probe(z[idx]), y[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
    with torch.no_grad():
        folded = torch.nn.Linear(z.shape[1], num_classes)
        folded.weight.copy_(probe.weight / std)
        folded.bias.copy_(probe.bias - (probe.weight * (mean / std)).sum(1))
        train_acc = accuracy(folded(feats).argmax(1), y)
    return folded, {"train_acc": train_acc}


def probe_accuracy(model, train_x: torch.Tensor, train_y: torch.Tensor, test_x: torch.Tensor, test_y: torch.Tensor,
                   num_classes: int, pcfg: dict, *, seed: int, device="cpu") -> dict:
    """Fit a linear probe on the model's frozen features of (train_x, train_y); accuracy on the test set.
    The model's parameters are never handed to an optimiser and features are computed without grad."""
    ftr = extract_features(model, train_x, device=device)
    fte = extract_features(model, test_x, device=device)
    probe, info = train_linear_probe(ftr, train_y, num_classes, epochs=pcfg["epochs"], lr=pcfg["lr"],
                                     batch_size=pcfg["batch_size"], weight_decay=pcfg["weight_decay"], seed=seed)
    with torch.no_grad():
        test_acc = accuracy(probe(fte).argmax(1), test_y)
    return {"test_acc": test_acc, "train_acc": info["train_acc"], "feature_dim": int(ftr.shape[1])}


def feature_source(name: str, mcfg: dict, source_model: dict) -> str:
    """Table 4's row names: natural / natural, diff init / natural, diff arch / robust (ℓ2 or ℓ∞)."""
    adv = mcfg.get("adversarial")
    if adv:
        return f"robust ({'ℓ∞' if adv['norm'] == 'linf' else 'ℓ2'})"
    if mcfg["arch"] != source_model["arch"]:
        return f"natural, diff arch ({mcfg['arch']})"
    if mcfg.get("seed", 0) != source_model.get("seed", 0) or mcfg.get("width") != source_model.get("width"):
        return "natural, diff init"
    return "natural"
