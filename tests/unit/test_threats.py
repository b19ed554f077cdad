"""Threat models: projections, steepest-descent directions, random starts, applying a perturbation."""
from __future__ import annotations

import dataclasses
import math

import pytest
import torch

from uap.threats import L2, THREATS, Linf, Threat, apply_perturbation, make_threat


def _l2(x):
    return x.flatten(1).norm(p=2, dim=1)


# --------------------------------------------------------------------------------------------- L2
def test_l2_projection_of_outside_points_lands_on_the_sphere_in_the_same_direction():
    torch.manual_seed(0)
    d = torch.randn(6, 3, 4, 4) * 10          # norms ~ 70 >> eps
    t = L2(0.5)
    p = t.project(d)
    assert p.shape == d.shape
    assert torch.allclose(_l2(p), torch.full((6,), 0.5), rtol=0, atol=1e-6)
    cos = (p.flatten(1) * d.flatten(1)).sum(1) / (_l2(p) * _l2(d))
    assert torch.allclose(cos, torch.ones(6), atol=1e-6)


def test_l2_projection_leaves_interior_points_unchanged_and_is_per_row():
    torch.manual_seed(1)
    d = torch.randn(4, 1, 5, 5)
    d = d / _l2(d).view(-1, 1, 1, 1) * torch.tensor([0.2, 3.0, 0.99, 7.0]).view(-1, 1, 1, 1)
    p = L2(1.0).project(d)
    # rows 0 and 2 are inside the unit ball: untouched, bit for bit
    assert torch.equal(p[0], d[0]) and torch.equal(p[2], d[2])
    # rows 1 and 3 are outside: scaled onto the sphere
    assert torch.allclose(_l2(p[[1, 3]]), torch.ones(2), atol=1e-6)
    assert torch.allclose(p[1], d[1] / 3.0, atol=1e-6)
    assert torch.allclose(p[3], d[3] / 7.0, atol=1e-6)


def test_l2_projection_eps_override_and_zero_vector():
    torch.manual_seed(2)
    d = torch.randn(3, 2, 3, 3) * 5
    t = L2(1.0)
    assert torch.allclose(_l2(t.project(d, eps=0.25)), torch.full((3,), 0.25), atol=1e-6)
    z = t.project(torch.zeros(2, 1, 3, 3))
    assert torch.equal(z, torch.zeros(2, 1, 3, 3))


def test_l2_direction_is_unit_and_parallel_to_the_gradient():
    torch.manual_seed(3)
    g = torch.randn(5, 3, 4, 4) * torch.tensor([1e-3, 1.0, 10.0, 100.0, 0.5]).view(-1, 1, 1, 1)
    u = L2(1.0).direction(g)
    assert torch.allclose(_l2(u), torch.ones(5), atol=1e-6)
    assert torch.allclose(u * _l2(g).view(-1, 1, 1, 1), g, rtol=1e-5, atol=1e-6)
    # a zero gradient gives a finite (zero) step, not NaNs
    assert torch.equal(L2(1.0).direction(torch.zeros(1, 1, 2, 2)), torch.zeros(1, 1, 2, 2))


def test_l2_norm():
    torch.manual_seed(4)
    d = torch.randn(3, 2, 3, 3)
    expected = torch.tensor([math.sqrt(float((d[i] ** 2).sum())) for i in range(3)])
    assert torch.allclose(L2(1.0).norm(d), expected, atol=1e-5)


def test_l2_random_start_is_inside_the_ball_and_seeded():
    t = L2(0.7)
    g1 = torch.Generator().manual_seed(0)
    g2 = torch.Generator().manual_seed(0)
    r1 = t.random((200, 1, 6, 6), generator=g1)
    r2 = t.random((200, 1, 6, 6), generator=g2)
    assert r1.shape == (200, 1, 6, 6)
    assert torch.equal(r1, r2)
    n = t.norm(r1)
    assert (n <= 0.7 + 1e-6).all()
    assert n.min() < 0.35 < n.max()          # radii actually vary
    assert not torch.equal(t.random((2, 1, 6, 6), generator=torch.Generator().manual_seed(1)), r1[:2])


# -------------------------------------------------------------------------------------------- Linf
def test_linf_projection_clamps_each_coordinate():
    d = torch.tensor([[-1.0, -0.1, 0.0, 0.05, 0.3, 2.0]]).view(1, 1, 2, 3)
    p = Linf(0.1).project(d)
    expected = torch.tensor([[-0.1, -0.1, 0.0, 0.05, 0.1, 0.1]]).view(1, 1, 2, 3)
    assert torch.allclose(p, expected)
    assert torch.equal(p.view(-1)[1:4], d.view(-1)[1:4])    # interior coordinates untouched
    assert torch.allclose(Linf(0.1).project(d, eps=0.5).view(-1), torch.tensor([-0.5, -0.1, 0.0, 0.05, 0.3, 0.5]))


def test_linf_direction_is_the_sign_and_norm_is_max_abs():
    g = torch.tensor([[-3.0, 0.0, 2e-8, 5.0]]).view(1, 1, 2, 2)
    assert torch.equal(Linf(1.0).direction(g), torch.tensor([[-1.0, 0.0, 1.0, 1.0]]).view(1, 1, 2, 2))
    d = torch.tensor([[0.1, -0.4, 0.2, 0.0], [0.0, 0.0, 0.0, -0.05]]).view(2, 1, 2, 2)
    assert torch.allclose(Linf(1.0).norm(d), torch.tensor([0.4, 0.05]))


def test_linf_random_start_is_inside_the_box():
    t = Linf(0.2)
    r = t.random((50, 3, 4, 4), generator=torch.Generator().manual_seed(0))
    assert r.shape == (50, 3, 4, 4)
    assert (r.abs() <= 0.2).all()
    assert r.min() < -0.15 and r.max() > 0.15      # fills the box, not a constant


# ------------------------------------------------------------------------------------ construction
def test_make_threat_builds_the_right_class_with_float_eps():
    t = make_threat("l2", 2)
    assert isinstance(t, L2) and t.eps == 2.0 and isinstance(t.eps, float) and t.name == "l2"
    t = make_threat("linf", 0.03)
    assert isinstance(t, Linf) and t.eps == 0.03 and t.name == "linf"
    assert set(THREATS) == {"l2", "linf"}


def test_make_threat_unknown_norm_raises_naming_it():
    with pytest.raises(KeyError, match="l1"):
        make_threat("l1", 1.0)


@pytest.mark.parametrize("cls", [L2, Linf])
@pytest.mark.parametrize("eps", [0.0, -1.0, float("nan")])
def test_non_positive_eps_raises(cls, eps):
    with pytest.raises(ValueError, match="eps"):
        cls(eps)


def test_make_threat_with_zero_eps_raises():
    with pytest.raises(ValueError):
        make_threat("l2", 0)


def test_threats_are_frozen():
    t = L2(1.0)
    with pytest.raises(dataclasses.FrozenInstanceError):
        t.eps = 2.0  # type: ignore[misc]
    assert isinstance(t, Threat)


# ------------------------------------------------------------------------------------------- apply
def test_apply_perturbation_adds_then_clips_to_unit_interval_without_mutating():
    x = torch.tensor([0.0, 0.5, 0.9, 1.0, 0.2]).view(1, 1, 1, 5)
    d = torch.tensor([-0.3, 0.2, 0.3, -0.5, 0.0]).view(1, 1, 1, 5)
    x0, d0 = x.clone(), d.clone()
    out = apply_perturbation(x, d)
    assert torch.allclose(out.view(-1), torch.tensor([0.0, 0.7, 1.0, 0.5, 0.2]))
    assert out.min() >= 0 and out.max() <= 1
    assert torch.equal(x, x0) and torch.equal(d, d0)


def test_apply_perturbation_broadcasts_one_delta_over_a_batch():
    torch.manual_seed(5)
    x = torch.rand(7, 3, 4, 4)
    d = (torch.rand(1, 3, 4, 4) - 0.5) * 0.4
    out = apply_perturbation(x, d)
    assert out.shape == x.shape
    for i in range(7):
        assert torch.equal(out[i], (x[i] + d[0]).clamp(0, 1))
