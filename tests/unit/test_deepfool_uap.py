"""DeepFool-based universal perturbation of Moosavi-Dezfooli et al. (the S4 baseline)."""
from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from helpers_uap import tiny_resnet
from uap.attacks.deepfool_uap import deepfool_batch, deepfool_uap, fooling_rate
from uap.metrics import predict
from uap.threats import make_threat


def _linear_classifier(seed: int, num_classes: int = 3):
    """A linear classifier on 1x4x4 images that puts every image of `x` in class 0 (with margin)."""
    torch.manual_seed(seed)
    m = nn.Sequential(nn.Flatten(), nn.Linear(16, num_classes))
    x = torch.rand(100, 1, 4, 4, generator=torch.Generator().manual_seed(seed))
    with torch.no_grad():
        lo = m(x)
        m[1].bias[0] += (lo[:, 1:].max(1).values - lo[:, 0]).max() + 0.05
    return m, x


def test_fooling_rate_against_clean_predictions():
    clean = torch.tensor([0, 1, 2, 3])
    assert fooling_rate(clean, torch.tensor([0, 1, 2, 3])) == 0.0
    assert fooling_rate(clean, torch.tensor([1, 1, 0, 3])) == 0.5
    assert math.isnan(fooling_rate(torch.tensor([]), torch.tensor([])))
    with pytest.raises(ValueError, match="shape"):
        fooling_rate(clean, clean[:3])


def test_deepfool_batch_is_exact_on_a_binary_linear_classifier():
    torch.manual_seed(0)
    m = nn.Sequential(nn.Flatten(), nn.Linear(16, 2)).double()
    x = 0.4 + 0.2 * torch.rand(6, 1, 4, 4, dtype=torch.float64)
    with torch.no_grad():  # the boundary through the mean image: every image is close to it (no clipping)
        m[1].weight.mul_(4)
        m[1].bias.sub_(m(x.mean(0, keepdim=True))[0] - m[1].bias.mean())
    assert (m(x).argmax(1) == 0).any() and (m(x).argmax(1) == 1).any()
    r, crossed = deepfool_batch(m, x, overshoot=0.02)
    assert crossed.all()
    assert r.abs().max() < 0.4 and ((x + r) > 0).all() and ((x + r) < 1).all()
    w = (m[1].weight[1] - m[1].weight[0]).detach()
    f = m(x).detach()
    dist = (f[:, 1] - f[:, 0]).abs() / w.norm()       # the exact ℓ2 distance to the boundary
    # one step reaches the (linear) boundary: r = 1.02·(d + 1e-4)·(±w/||w||)
    torch.testing.assert_close(r.flatten(1).norm(dim=1), 1.02 * (dist + 1e-4))
    cos = (r.flatten(1) @ w).abs() / (r.flatten(1).norm(dim=1) * w.norm())
    torch.testing.assert_close(cos, torch.ones(6, dtype=torch.float64))
    assert torch.equal(m(x + r).argmax(1), 1 - m(x).argmax(1))


@pytest.mark.parametrize("p", ["linf", "l2"])
@pytest.mark.parametrize("seed", [0, 1])
def test_uap_respects_norm_and_beats_random(p, seed):
    m, x = _linear_classifier(seed)
    x0 = x.clone()
    W = m[1].weight.detach()
    with torch.no_grad():
        lo = m(x)
    # ξ: the radius that would move 60% of the images off class 0 (each along its own best direction)
    dn = 1 if p == "linf" else 2
    need = ((lo[:, :1] - lo[:, 1:]) / (W[1:] - W[:1]).norm(p=dn, dim=1)).min(1).values
    xi = need.quantile(0.6).item()
    res = deepfool_uap(m, x, xi, p=p, max_passes=3, delta=0.0, generator=torch.Generator().manual_seed(0))
    threat = make_threat(p, xi)
    assert res.delta.shape == (1, 4, 4)
    assert threat.norm(res.delta[None]).item() <= xi * (1 + 1e-5)
    assert torch.equal(x, x0)                          # the input is not modified
    assert len(res.fooling_history) == res.passes == 3  # δ = 0: never stops early
    clean = predict(m, x)
    fr = fooling_rate(clean, predict(m, x, delta=res.delta))
    assert fr == pytest.approx(res.fooling_history[-1])
    g = torch.Generator().manual_seed(1)
    rand = [fooling_rate(clean, predict(m, x, delta=xi * threat.direction(torch.randn(1, 1, 4, 4, generator=g))[0]))
            for _ in range(30)]
    assert fr >= max(rand) + 0.1


def test_uap_stops_once_fooling_rate_reached_and_restores_mode():
    m = tiny_resnet(num_classes=3, image_size=8, logit_scale=10.0).train()
    x = (torch.rand(24, 1, 8, 8, generator=torch.Generator().manual_seed(0)) * 255).to(torch.uint8)
    x0 = x.clone()
    res = deepfool_uap(m, x, 0.3, p=math.inf, delta=0.9, max_passes=4, batch_size=8,
                       generator=torch.Generator().manual_seed(0))
    assert m.training and torch.equal(x, x0)
    assert res.delta.abs().max().item() <= 0.3 + 1e-6
    assert res.passes == 1 and res.fooling_history[0] >= 0.1  # a 10% target is met in the first pass
    assert res.deepfool_calls >= res.updates >= 1


def test_uap_validates_arguments():
    m, x = _linear_classifier(0)
    for kw, name in [(dict(p=1), "p"), (dict(delta=1.5), "delta"), (dict(max_passes=0), "max_passes"),
                     (dict(batch_size=0), "batch_size"), (dict(num_classes_considered=1), "num_classes"),
                     (dict(overshoot=-0.1), "overshoot"), (dict(max_iter_df=0), "max_iter_df")]:
        with pytest.raises(ValueError, match=name):
            deepfool_uap(m, x, 0.1, **kw)
    with pytest.raises(ValueError, match="xi"):
        deepfool_uap(m, x, 0.0)


def test_uap_folds_in_only_the_part_of_a_step_that_moves_the_image():
    """DeepFool's step on a black pixel may point below 0, where clipping undoes it: the increment folded
    into v is the change of the clipped image, so no budget goes to pixels the image cannot move."""
    m = nn.Sequential(nn.Flatten(), nn.Linear(16, 2))
    x = torch.zeros(1, 1, 4, 4)
    x[..., 2:] = 0.5                                   # left half black, right half grey
    with torch.no_grad():
        m[1].weight.zero_()
        m[1].weight[1, :].view(4, 4)[:, :2] = -1.0     # class 1 grows as the black half darkens (it cannot)
        m[1].weight[1, :].view(4, 4)[:, 2:] = 1.0      # ... or as the grey half brightens
        m[1].bias.copy_(torch.tensor([5.0, 0.0]))      # class 1 logit 4 < class 0 logit 5
    assert m(x).argmax(1).item() == 0
    res = deepfool_uap(m, x, 100.0, p="l2", delta=0.0, max_passes=1, batch_size=1)
    v = res.delta
    assert res.updates == 1
    assert m(torch.clamp(x + v, 0, 1)).argmax(1).item() == 1
    assert torch.equal(v[..., :2], torch.zeros_like(v[..., :2]))   # nothing spent on the black half
    assert ((x[0] + v) >= 0).all() and ((x[0] + v) <= 1).all()
