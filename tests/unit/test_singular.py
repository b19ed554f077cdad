"""(p,q)-singular vectors by the generalised power method (S4): ψ maps, matvecs, power method, attack."""
from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from helpers_uap import tiny_resnet
from uap.attacks.singular import dual, layer_fn, make_matvecs, power_method, psi, sv_uap

INF = math.inf


def _matrix_f(A: torch.Tensor):
    """f(x) = A @ x.flatten() for every image of the batch."""
    return lambda x: x.flatten(1) @ A.T


def _ratio(A, V, p, q):
    """||A v||_q / ||v||_p for every row v of V."""
    return (V @ A.T).norm(p=q, dim=1) / V.norm(p=p, dim=1)


# ------------------------------------------------------------------------------------------ ψ maps

def test_dual_exponents():
    assert dual(2) == 2
    assert dual(INF) == 1
    assert dual(1) == INF
    assert dual(3) == pytest.approx(1.5)
    assert dual(10) == pytest.approx(10 / 9)
    assert dual(dual(7.5)) == pytest.approx(7.5)
    with pytest.raises(ValueError, match="p"):
        dual(0.5)


@pytest.mark.parametrize("p", [3.0, 1.5, 10.0, 10 / 9, 2.0, 1.2])
def test_psi_of_dual_inverts_psi(p):
    x = torch.randn(200, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    y = psi(x, p)
    assert not torch.allclose(y, x) or p == 2.0
    torch.testing.assert_close(psi(y, dual(p)), x, rtol=1e-9, atol=1e-12)


def test_psi_special_cases():
    x = torch.tensor([-2.0, -0.5, 0.0, 0.25, 3.0])
    torch.testing.assert_close(psi(x, 1), torch.sign(x))
    torch.testing.assert_close(psi(x, 2), x)
    torch.testing.assert_close(psi(x, 3), torch.tensor([-4.0, -0.25, 0.0, 0.0625, 9.0]))
    # ψ_∞: the limit direction, the sign on the entries of largest magnitude
    torch.testing.assert_close(psi(x, INF), torch.tensor([0.0, 0.0, 0.0, 0.0, 1.0]))
    with pytest.raises(ValueError, match="r"):
        psi(x, 0.9)


# ------------------------------------------------------------------------------------------ matvecs

def test_linear_layer_matvecs_are_W_v_and_Wt_w():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(12, 5), nn.ReLU()).double()
    W = model[1].weight.detach()
    x = torch.rand(4, 3, 2, 2, dtype=torch.float64)
    f = layer_fn(model, "1")
    matvec, rmatvec, out = make_matvecs(f, x)
    torch.testing.assert_close(out, model[1](x.flatten(1)))
    v = torch.randn(3, 2, 2, dtype=torch.float64)
    jv = matvec(v)
    assert jv.shape == (4, 5)
    for i in range(4):  # every block J_i v is W v (the bias does not enter)
        torch.testing.assert_close(jv[i], W @ v.flatten())
    w = torch.randn(4, 5, dtype=torch.float64)
    torch.testing.assert_close(rmatvec(w), (W.T @ w.sum(0)).view(3, 2, 2))
    with pytest.raises(ValueError, match="v must"):
        matvec(torch.zeros(12, dtype=torch.float64))
    with pytest.raises(ValueError, match="w must"):
        rmatvec(torch.zeros(4, 6, dtype=torch.float64))


def test_layer_fn_returns_the_named_layer_and_restores_mode():
    model = tiny_resnet(image_size=6).double().train()
    x = torch.rand(3, 1, 6, 6, dtype=torch.float64)
    f = layer_fn(model, "net.layer1")
    got = f(x)
    assert model.training  # the training flag is restored
    model.eval()
    net = model.net
    with torch.no_grad():
        h = torch.relu(net.bn1(net.conv1(model.normalize(x))))
        want = net.layer1(h).flatten(1)
    torch.testing.assert_close(got.detach(), want)
    with pytest.raises(ValueError, match="layer_name"):
        layer_fn(model, "net.nope")


# ------------------------------------------------------------------------------------------ power method

def test_p_q_2_gives_top_singular_pair():
    g = torch.Generator().manual_seed(0)
    A = torch.randn(9, 6, generator=g, dtype=torch.float64)
    res = power_method(_matrix_f(A), torch.zeros(1, 6, dtype=torch.float64), p=2, q=2, iters=300,
                       generator=g)
    _, S, Vh = torch.linalg.svd(A)
    assert res.singular_value == pytest.approx(S[0].item(), rel=1e-8)
    assert abs(float(res.v @ Vh[0])) == pytest.approx(1.0, abs=1e-6)  # same vector up to sign
    assert res.v.norm().item() == pytest.approx(1.0)
    assert len(res.history) == res.iters == 300


@pytest.mark.parametrize("p,q", [(2, 4), (1.5, 3), (2, 2), (INF, 10), (INF, 2), (3, 1.5)])
def test_general_pq_is_a_local_maximiser(p, q):
    g = torch.Generator().manual_seed(3)
    A = torch.randn(10, 7, generator=g, dtype=torch.float64)
    res = power_method(_matrix_f(A), torch.zeros(1, 7, dtype=torch.float64), p=p, q=q, iters=100,
                       generator=g)
    v = res.v
    assert torch.linalg.vector_norm(v, ord=p).item() == pytest.approx(1.0, abs=1e-12)
    assert res.singular_value == pytest.approx(torch.linalg.vector_norm(A @ v, ord=q).item(), rel=1e-10)
    # the estimate never decreases along the iterations (Boyd's ascent property)
    h = res.history
    assert all(b >= a * (1 - 1e-10) for a, b in zip(h, h[1:]))
    # better than many random directions …
    V = torch.randn(3000, 7, generator=g, dtype=torch.float64)
    assert res.singular_value >= _ratio(A, V, p, q).max().item()
    # … and than every small perturbation of v (a local maximum on the unit sphere)
    U = v + 1e-3 * torch.randn(3000, 7, generator=g, dtype=torch.float64)
    assert res.singular_value >= _ratio(A, U, p, q).max().item() * (1 - 1e-12)


def test_stochastic_power_method_equals_explicit_stacked_jacobian():
    model = tiny_resnet(image_size=6, seed=1).double().eval()
    x = torch.rand(3, 1, 6, 6, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    f = layer_fn(model, "net.layer1")
    # the explicit stacked Jacobian, formed here only to check the matvec-only implementation
    blocks = [torch.autograd.functional.jacobian(lambda z: f(z[None])[0], x[i]).reshape(-1, 36)
              for i in range(3)]
    J = torch.cat(blocks, 0)                                     # [3·m, 36]
    init = torch.randn(1, 6, 6, generator=torch.Generator().manual_seed(5), dtype=torch.float64)
    for p, q in [(INF, 10), (2, 2), (3, 1.5)]:
        res = power_method(f, x, p=p, q=q, iters=8, init=init)
        # reference: the power method on the explicit matrix, written out directly
        v = init.flatten() / torch.linalg.vector_norm(init, ord=p)
        for _ in range(8):
            s = psi(J.T @ psi(J @ v, q), dual(p))
            v = s / torch.linalg.vector_norm(s, ord=p)
        torch.testing.assert_close(res.v.flatten(), v, rtol=1e-7, atol=1e-9)
        assert res.singular_value == pytest.approx(torch.linalg.vector_norm(J @ v, ord=q).item(), rel=1e-8)
    # the batch matters: the first image alone gives a different singular value
    alone = power_method(f, x[:1], p=2, q=2, iters=8, init=init)
    assert alone.singular_value < power_method(f, x, p=2, q=2, iters=8, init=init).singular_value


def test_power_method_validates_arguments():
    A = torch.randn(4, 3, dtype=torch.float64)
    f, x = _matrix_f(A), torch.zeros(1, 3, dtype=torch.float64)
    for kw, name in [(dict(p=0.5), "p"), (dict(q=0), "q"), (dict(q="ten"), "q"), (dict(iters=0), "iters"),
                     (dict(iters=2.5), "iters"), (dict(init=torch.ones(4)), "init"),
                     (dict(init=torch.zeros(3)), "init"), (dict(tol=-1.0), "tol")]:
        with pytest.raises(ValueError, match=name):
            power_method(f, x, **kw)
    with pytest.raises(ValueError, match="x_batch"):
        power_method(f, torch.zeros(0, 3))


def test_tol_stops_early():
    A = torch.randn(6, 4, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    res = power_method(_matrix_f(A), torch.zeros(1, 4, dtype=torch.float64), p=2, q=2, iters=500, tol=1e-12,
                       generator=torch.Generator().manual_seed(0))
    assert res.iters < 500 and len(res.history) == res.iters


# ------------------------------------------------------------------------------------------ attack

def test_sv_uap_linf_perturbation_is_eps_sign_image():
    model = tiny_resnet(image_size=8, logit_scale=10.0).train()
    x = torch.rand(4, 1, 8, 8, generator=torch.Generator().manual_seed(0))
    x0 = x.clone()
    res = sv_uap(model, x, "net.layer1", eps=0.1, iters=5, generator=torch.Generator().manual_seed(0))
    assert res.delta.shape == (1, 8, 8)
    assert res.delta.abs().max().item() == pytest.approx(0.1)
    assert torch.all((res.delta.abs() - 0.1).abs() < 1e-6)  # p = ∞: every pixel moves by ±eps
    assert res.singular_value > 0 and len(res.history) == 5
    assert torch.equal(x, x0) and model.training
    r2 = sv_uap(model, x, "net.layer1", eps=0.5, p=2, q=2, iters=5)
    assert r2.delta.norm().item() == pytest.approx(0.5, rel=1e-5)
    with pytest.raises(ValueError, match="eps"):
        sv_uap(model, x, "net.layer1", eps=0.0)


def test_norm_does_not_overflow_for_large_q():
    from uap.attacks.singular import _norm
    z = torch.full((1000,), 1e3)                    # |z|^20 = 1e60 overflows float32
    assert torch.isfinite(_norm(z, 20.0))
    assert float(_norm(z, 20.0)) == pytest.approx(1e3 * 1000 ** (1 / 20), rel=1e-4)


# ------------------------------------------------------------------------------------------ S4 sweeps

def test_fool_pm_takes_the_better_sign():
    """A singular vector's sign is arbitrary and clamping breaks the ± symmetry: the fooling rate of
    an SV-UAP is max(FR(+v), FR(−v)), both recorded."""
    from uap.metrics import predict
    from uap.s4 import fool_pm
    model = tiny_resnet(image_size=8, logit_scale=10.0).eval()
    x = torch.rand(64, 1, 8, 8, generator=torch.Generator().manual_seed(0))
    clean = predict(model, x)
    d = 0.4 * torch.sign(torch.randn(1, 8, 8, generator=torch.Generator().manual_seed(1)))
    r = fool_pm(model, x, clean, d, "cpu")
    assert r["fooling_rate"] == max(r["fooling_rate_plus"], r["fooling_rate_minus"]) and r["images"] == 64
    assert r["fooling_rate_plus"] != r["fooling_rate_minus"]          # the clamp makes the two differ here
    flipped = fool_pm(model, x, clean, -d, "cpu")
    assert flipped["fooling_rate_plus"] == r["fooling_rate_minus"] and flipped["fooling_rate"] == r["fooling_rate"]


def test_layer_sweep_rows_per_seed():
    from uap.s4 import best_layer, layer_sweep
    model = tiny_resnet(image_size=8, logit_scale=10.0).eval()
    x = torch.rand(16, 1, 8, 8, generator=torch.Generator().manual_seed(0))
    g = torch.Generator().manual_seed(0)
    t, d = layer_sweep(model, ["net.conv1", "net.layer1"], x[:4], x, norm="linf", eps=0.1, q=10, iters=3, gen=g,
                       device="cpu", seed=2)
    assert list(t.depth) == [0, 1, -1] and (t.seed == 2).all() and d.shape == (2, 1, 8, 8)
    real = t[t.depth >= 0]
    # the sign is chosen on the base batch: its rate is one of the two signs', never picked by the evaluation
    chosen = real.fooling_rate_plus.where(real.sign == 1, real.fooling_rate_minus)
    assert (real.fooling_rate == chosen).all() and set(real.sign) <= {1, -1}
    assert (real.fooling_rate_best_sign == real[["fooling_rate_plus", "fooling_rate_minus"]].max(axis=1)).all()
    assert best_layer(t) in ("net.conv1", "net.layer1")


def test_signed_picks_the_sign_on_the_base_batch_not_the_evaluation_images():
    from uap.s4 import fool_signed, signed
    model = tiny_resnet(image_size=8, logit_scale=10.0).eval()
    x = torch.rand(32, 1, 8, 8, generator=torch.Generator().manual_seed(0))
    d = torch.randn(1, 8, 8, generator=torch.Generator().manual_seed(1)) * 0.6
    base, ev = x[:8], x[8:]
    s = signed(model, base, d, "cpu")
    clean_b = model(base).argmax(1)
    fb = lambda v: float((model((base + v).clamp(0, 1)).argmax(1) != clean_b).float().mean())  # noqa: E731
    assert fb(s) >= fb(-s)
    fr, chosen = fool_signed(model, base, ev, model(ev).argmax(1), d, "cpu")
    assert torch.equal(chosen, s) and fr["sign"] == (1 if torch.equal(s, d) else -1)
