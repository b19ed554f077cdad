"""Metrics (accuracy, targeted ASR, predict) and the App. C perturbation visualisation."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from helpers_uap import tiny_resnet
from uap.metrics import accuracy, as_float, attack_success_rate, normalize_maps, predict
from uap.threats import apply_perturbation
from uap import viz


# ------------------------------------------------------------------------------------------ metrics
def test_accuracy():
    assert accuracy(torch.tensor([0, 1, 2, 2]), torch.tensor([0, 1, 1, 2])) == 0.75
    assert accuracy(torch.tensor([1]), torch.tensor([0])) == 0.0
    assert math.isnan(accuracy(torch.tensor([], dtype=torch.long), torch.tensor([], dtype=torch.long)))


def test_attack_success_rate_with_and_without_labels():
    pred = torch.tensor([3, 3, 1, 3, 0, 3])
    labels = torch.tensor([3, 0, 1, 2, 3, 3])
    assert attack_success_rate(pred, 3) == pytest.approx(4 / 6)
    # images already of class 3 (indices 0, 4, 5) are left out: of 1, 2, 3 -> only index 1 and 3 hit
    assert attack_success_rate(pred, 3, labels) == pytest.approx(2 / 3)
    # per-image targets
    target = torch.tensor([3, 1, 1, 3, 0, 0])
    assert attack_success_rate(pred, target) == pytest.approx(4 / 6)           # hits at 0, 2, 3, 4
    # left out: 0 and 2 (label == target); of 1, 3, 4, 5 the hits are 3 and 4
    assert attack_success_rate(pred, target, labels) == pytest.approx(2 / 4)
    assert math.isnan(attack_success_rate(torch.tensor([2, 2]), 2, torch.tensor([2, 2])))


def test_as_float():
    u = torch.tensor([0, 51, 255], dtype=torch.uint8)
    assert torch.allclose(as_float(u), torch.tensor([0.0, 0.2, 1.0]))
    assert as_float(u).dtype == torch.float32 and u.tolist() == [0, 51, 255]
    f = torch.tensor([0.5], dtype=torch.float64)
    assert as_float(f).dtype == torch.float32


def test_predict_matches_the_model_in_batches_and_with_perturbations():
    model = tiny_resnet(num_classes=4, image_size=8, logit_scale=30.0)
    model.train()
    g = torch.Generator().manual_seed(0)
    xu = torch.randint(0, 256, (10, 1, 8, 8), generator=g, dtype=torch.uint8)
    xf = xu.float() / 255
    model.eval()
    with torch.no_grad():
        ref = model(xf).argmax(1)
    model.train()
    assert torch.equal(predict(model, xu, batch_size=3), ref)
    assert model.training                                    # mode restored
    one = (torch.rand(1, 1, 8, 8, generator=g) - 0.5)
    per = (torch.rand(10, 1, 8, 8, generator=g) - 0.5)
    model.eval()
    with torch.no_grad():
        ref_one = model(apply_perturbation(xf, one)).argmax(1)
        ref_per = model(apply_perturbation(xf, per)).argmax(1)
    assert torch.equal(predict(model, xu, batch_size=4, delta=one), ref_one)
    assert torch.equal(predict(model, xu, batch_size=4, delta=one[0]), ref_one)
    assert torch.equal(predict(model, xu, batch_size=4, delta=per), ref_per)
    assert predict(model, xu[:0]).shape == (0,)


# ---------------------------------------------------------------------------------------- visualize
def visualize(d: torch.Tensor) -> torch.Tensor:
    """uap.viz works in numpy (the notebooks' kernels load no torch); these tests hand it tensors."""
    v = viz.visualize(d)
    assert isinstance(v, np.ndarray) and v.dtype == np.float32
    return torch.from_numpy(v)


def test_visualize_range_and_per_channel_extremes():
    torch.manual_seed(0)
    d = torch.randn(4, 3, 8, 8) * 0.1
    v = visualize(d)
    assert v.shape == d.shape
    assert v.min() >= 0 and v.max() <= 1
    assert torch.allclose(v.amin(dim=(-2, -1)), torch.zeros(4, 3), atol=1e-6)
    assert torch.allclose(v.amax(dim=(-2, -1)), torch.ones(4, 3), atol=1e-6)


def test_visualize_is_monotone_and_scale_invariant_per_perturbation():
    torch.manual_seed(1)
    d = torch.randn(2, 1, 6, 6)
    v = visualize(d)
    # monotone within each perturbation (the clip makes ties, never inversions)
    for i in range(2):
        vi = v[i].flatten()[d[i].flatten().argsort()]
        assert (vi[1:] >= vi[:-1] - 1e-7).all()
    assert torch.allclose(visualize(d * 37.0), v, atol=1e-5)


def test_visualize_clips_at_three_sigma_so_an_outlier_does_not_squash_the_rest():
    g = torch.Generator().manual_seed(0)
    d = (torch.rand(1, 1, 16, 16, generator=g) * 2 - 1)          # uniform in [-1, 1]
    d[0, 0, 3, 4] = 100.0                                       # one huge outlier
    v = visualize(d)
    # expectation from the rule, computed independently in numpy
    a = d.numpy().astype(np.float64)
    s = a.std()
    c = np.clip(a, -3 * s, 3 * s)
    expected = (c - c.min()) / (c.max() - c.min())
    assert np.allclose(v.numpy(), expected, atol=1e-5)
    assert float(v[0, 0, 3, 4]) == pytest.approx(1.0)
    rest = np.delete(v.numpy().ravel(), 3 * 16 + 4)
    naive = np.delete(((a - a.min()) / (a.max() - a.min())).ravel(), 3 * 16 + 4)
    # without clipping the other 255 pixels would share ~2 % of the range; clipped they get far more
    assert np.ptp(rest) > 5 * np.ptp(naive)
    assert np.ptp(rest) > 0.1


def test_visualize_sigma_is_shared_across_channels_and_rescaling_is_per_channel():
    # channel 0 has a large amplitude, channel 1 a tiny one: both are stretched to [0, 1]
    g = torch.Generator().manual_seed(2)
    d = torch.stack([torch.randn(8, 8, generator=g), 1e-3 * torch.randn(8, 8, generator=g)])[None]
    v = visualize(d)
    for ch in range(2):
        assert float(v[0, ch].min()) == pytest.approx(0.0, abs=1e-6)
        assert float(v[0, ch].max()) == pytest.approx(1.0, abs=1e-6)
    # σ is over both channels, so channel 0 is clipped at 3σ_all, not at its own 3σ
    sigma = float(d.flatten().std(unbiased=False))
    c0 = d[0, 0].clamp(-3 * sigma, 3 * sigma)
    assert torch.allclose(v[0, 0], (c0 - c0.min()) / (c0.max() - c0.min()), atol=1e-6)


def test_visualize_constant_channel_is_finite():
    d = torch.zeros(1, 2, 4, 4)
    d[0, 1] = torch.linspace(-1, 1, 16).view(4, 4)
    v = visualize(d)
    assert torch.isfinite(v).all()
    assert torch.equal(v[0, 0], torch.zeros(4, 4))


def test_image_and_minmax_helpers():
    g = torch.Generator().manual_seed(3)
    gray, rgb = torch.rand(1, 5, 7, generator=g), torch.rand(3, 5, 7, generator=g)
    assert viz.image(gray).shape == (5, 7) and np.array_equal(viz.image(gray), gray[0].numpy())
    assert viz.image(rgb).shape == (5, 7, 3) and np.array_equal(viz.image(rgb)[..., 1], rgb[1].numpy())
    m = torch.randn(6, 6, generator=g) * 4 + 2
    # the figures' per-map scaling is the one the S3 metrics use
    assert np.allclose(viz.minmax(m), normalize_maps(m[None])[0].numpy(), atol=1e-6)
    assert np.array_equal(viz.minmax(np.full((3, 3), 2.5)), np.zeros((3, 3), dtype=np.float32))
