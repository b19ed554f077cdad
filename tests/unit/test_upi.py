"""S2: interpretations (against captum), the UPI attacks, their metrics and models."""
from __future__ import annotations

import pytest
import torch
from torch import nn

from uap.attacks import classification_uap, interpretation_fgm, interpretation_pgd, upi_grad, upi_pca
from uap.attacks.interp_common import MapDistance
from uap.attacks.upi_pca import gradient_rows
from uap.interpret import get_interpreter
from uap.interpret.integrated_gradients import integrated_gradients_attr
from uap.metrics import cross_correlation, interpretation_dissimilarity
from uap.models import build_model
from uap.models.smooth import smooth_copy


def _model(arch="cnn2", seed=0, channels=1, size=8, width=4):
    torch.manual_seed(seed)
    m = build_model(arch, in_channels=channels, num_classes=3, width=width, image_size=size,
                    mean=[0.5] * channels, std=[0.25] * channels).eval()
    for p in m.parameters():
        p.requires_grad_(False)
    return m


def _images(n=5, channels=1, size=8, seed=1):
    return torch.rand(n, channels, size, size, generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("arch", ["cnn2", "fcn2", "mobilenet"])
def test_new_models_shapes_and_normalized(arch):
    m = _model(arch, channels=3, size=12)
    assert m(_images(2, 3, 12)).shape == (2, 3)
    assert type(m).__name__ == "Normalized"


def test_simple_gradient_matches_captum_saliency():
    from captum.attr import Saliency
    m = _model(channels=3)
    x, t = _images(channels=3), torch.tensor([0, 1, 2, 0, 1])
    ref = Saliency(m).attribute(x.clone().requires_grad_(True), target=t, abs=False)
    ours = get_interpreter("sg")(m, x, t, normalize=False)
    torch.testing.assert_close(ours, ref.sum(1), rtol=1e-5, atol=1e-7)
    normed = get_interpreter("sg")(m, x, t)          # eq. 1: ℓ1 over the whole input, then channel sum
    torch.testing.assert_close(normed, (ref / ref.flatten(1).abs().sum(1).view(-1, 1, 1, 1)).sum(1),
                               rtol=1e-5, atol=1e-8)


@pytest.mark.parametrize("reference", ["zeros", 0.3])
def test_integrated_gradients_matches_captum_riemann_right(reference):
    from captum.attr import IntegratedGradients
    m = _model(channels=3)
    x, t = _images(channels=3), torch.tensor([2, 1, 0, 0, 1])
    base = 0.0 if reference == "zeros" else reference
    ref = IntegratedGradients(m).attribute(x, baselines=base, target=t, n_steps=7, method="riemann_right")
    ours = integrated_gradients_attr(m, x, t, steps=7, reference=reference)
    torch.testing.assert_close(ours, ref.float(), rtol=1e-4, atol=1e-6)
    normed = get_interpreter("ig")(m, x, t, steps=7, reference=reference)
    assert torch.allclose(normed.flatten(1).abs().sum(1) <= 1 + 1e-5, torch.tensor(True))


def test_integrated_gradients_completeness():
    m = smooth_copy(_model("fcn2"), beta=5.0)
    x, t = _images(), torch.tensor([0, 1, 2, 1, 0])
    attr = integrated_gradients_attr(m, x, t, steps=400)
    with torch.no_grad():
        gap = m(x).gather(1, t[:, None])[:, 0] - m(torch.zeros_like(x)).gather(1, t[:, None])[:, 0]
    torch.testing.assert_close(attr.flatten(1).sum(1), gap, rtol=2e-2, atol=1e-3)


@pytest.mark.parametrize("name", ["sg", "ig"])
def test_maps_are_differentiable_in_the_input(name):
    m = smooth_copy(_model(), beta=5.0)
    x = _images().requires_grad_(True)
    maps = get_interpreter(name)(m, x, torch.zeros(5, dtype=torch.long), create_graph=True, **(
        {"steps": 4} if name == "ig" else {}))
    (g,) = torch.autograd.grad(maps.pow(2).sum(), x)
    assert g.abs().sum() > 0
    # without the smooth surrogate the ReLU net's simple-gradient map is locally constant
    if name == "sg":
        xr = _images().requires_grad_(True)
        mr = get_interpreter("sg")(_model(), xr, torch.zeros(5, dtype=torch.long), create_graph=True)
        (gr,) = torch.autograd.grad(mr.pow(2).sum(), xr, allow_unused=True)
        assert gr is None or gr.abs().max() < 1e-6


def test_smooth_copy_rejects_functional_relu_and_keeps_original():
    m = _model("mobilenet")
    s = smooth_copy(m, 10.0)
    assert any(isinstance(x, nn.ReLU6) for x in m.modules()) and not any(isinstance(x, nn.ReLU6) for x in s.modules())
    with pytest.raises(ValueError, match="softplus_beta"):
        smooth_copy(_model("resnet18"), 10.0)


def _fgm_setup(n: int, rows: str = "raw"):
    """A width-2 FCN, n images, its SG map distance, one fixed Gaussian point z and the FGM rows G there."""
    m, x = _model("fcn2", width=2), _images(n=n)
    t = m(x).argmax(1)
    dist = MapDistance(m, "sg", softplus_beta=5.0)
    z = 0.05 * torch.randn(1, 1, 8, 8, generator=torch.Generator().manual_seed(3))
    G = gradient_rows(dist, x, t, z, variant="fgm", eps=1.0, pgd_steps=0, pgd_step_ratio=0.5, rows=rows)
    return m, x, t, dist, z, G


def test_power_method_converges_to_top_right_singular_vector():
    m, x, t, dist, z, G = _fgm_setup(6)
    _, s, vh = torch.linalg.svd(G.double())
    assert s[0] > 1.05 * s[1]                                      # a spectral gap to converge to
    for alpha in (None, 6 / float(s[0] ** 2)):        # Oja's α on the scale of M = GᵀG/n (raw rows)
        r = upi_pca(m, x, t, interpreter="sg", eps=0.7, epochs=150, batch_size=6, noise_ratio=0.1, alpha=alpha,
                    softplus_beta=5.0, fixed_noise=z[0], generator=torch.Generator().manual_seed(0))
        cos = float(r.delta.flatten().double() @ vh[0]) / 0.7
        assert abs(cos) > 0.999, (alpha, cos)
        assert abs(r.delta.norm() - 0.7) < 1e-5
        assert r.curve[-1] == pytest.approx(float(s[0] ** 2) / 6, rel=1e-3)   # Rayleigh quotient → σ₁²/n


def test_power_iteration_keeps_its_length_for_tiny_raw_gradients():
    """Raw gradient rows of a barely trained model can be ~1e-7, so C = ΣGᵀG ~1e-14: the power method
    must still return a direction of length ε (a norm floor once shrank it to 0 every step)."""
    from uap.attacks.upi_pca import power_iterate
    g = torch.Generator().manual_seed(0)
    a = torch.randn(8, 5, generator=g)
    cov = a.T @ a
    start = torch.randn(5, generator=g)
    ref, _ = power_iterate(cov, start, 0.5, iters=200, tol=1e-12)
    tiny, _ = power_iterate(cov * 1e-16, start, 0.5, iters=200, tol=1e-12)
    assert float(tiny.norm()) == pytest.approx(0.5, rel=1e-5)
    assert abs(float(tiny @ ref)) / 0.25 > 0.9999
    zero, _ = power_iterate(torch.zeros(5, 5), start, 0.5, iters=3)   # no signal: keeps the start direction
    assert float(zero.norm()) == pytest.approx(0.5, rel=1e-5)


def test_accumulated_power_method_uses_every_minibatch():
    """With minibatches of 2 of the 6 rows and a single epoch, the accumulated method still returns
    the top singular vector of the whole G: a power method on the last minibatch alone would not."""
    m, x, t, dist, z, G = _fgm_setup(6)
    G = G.double()
    _, s, vh = torch.linalg.svd(G)
    r = upi_pca(m, x, t, interpreter="sg", eps=0.7, epochs=1, batch_size=2, noise_ratio=0.1, alpha=None,
                softplus_beta=5.0, fixed_noise=z[0], generator=torch.Generator().manual_seed(0))
    assert abs(float(r.delta.flatten().double() @ vh[0]) / 0.7) > 0.999
    assert r.curve[-1] == pytest.approx(float(s[0] ** 2) / 6, rel=1e-3)
    worst = min(abs(float(torch.linalg.svd(G[i:i + 2])[2][0] @ vh[0])) for i in (0, 2, 4))
    assert worst < 0.99                                            # minibatch directions differ from G's


def test_upi_attacks_respect_budget_beat_noise_and_do_not_mutate():
    m, x = _model(), _images(n=16)
    x0 = x.clone()
    t = m(x).argmax(1)
    kw = dict(interpreter="sg", eps=1.0, noise_ratio=0.1, softplus_beta=5.0)
    g = torch.Generator().manual_seed(0)
    res = {"grad": upi_grad(m, x, t, epochs=3, batch_size=8, step="normalised", step_ratio=0.3, sign_flip=True,
                            generator=g, **kw),
           "fgm": upi_pca(m, x, t, epochs=2, batch_size=8, variant="fgm", generator=g, **kw),
           "pgd": upi_pca(m, x, t, epochs=1, batch_size=8, variant="pgd", pgd_steps=2, generator=g, **kw)}
    assert torch.equal(x, x0)
    interp = get_interpreter("sg")
    with torch.enable_grad():
        ref = interp(m, x, t)
    noise = torch.randn(x.shape[1:], generator=g)
    noise = noise / noise.norm()
    base = float(interpretation_dissimilarity(ref, interp(m, (x + noise).clamp(0, 1), t)).mean())
    for name, r in res.items():
        assert r.delta.shape == x.shape[1:] and float(r.delta.norm()) <= 1.0 + 1e-5, name
        assert r.info["sign"] in (1.0, -1.0) and r.info["d_plus" if r.info["sign"] > 0 else "d_minus"] >= max(
            r.info["d_plus"], r.info["d_minus"])
        d = float(interpretation_dissimilarity(ref, interp(m, (x + r.delta).clamp(0, 1), t)).mean())
        assert d > base, (name, d, base)


def test_upi_grad_step_is_algorithm_1():
    """The raw step is δ + α·(mean gradient), then the ε-ball; the normalised variant moves step_ratio·ε."""
    from uap.attacks.upi_grad import grad_step
    d, g = torch.zeros(1, 1, 2, 2), torch.tensor([[[[0.1, 0.0], [0.0, 0.0]]]])
    assert torch.allclose(grad_step(d, g, step="raw", alpha=2.0, step_ratio=0.3, eps=1.0), 2.0 * g)
    assert torch.allclose(grad_step(d, 100 * g, step="raw", alpha=1.0, step_ratio=0.3, eps=1.0), 10 * g)  # projected
    assert float(grad_step(d, g, step="normalised", alpha=2.0, step_ratio=0.3, eps=1.0).norm()) == pytest.approx(0.3)
    with pytest.raises(ValueError, match="step"):
        grad_step(d, g, step="adam", alpha=1.0, step_ratio=0.3, eps=1.0)


def test_upi_grad_default_has_no_sign_flip():
    """Algorithm 1 returns δ as it is: same seed, same δ, whichever sign changes the maps more."""
    m, x = _model("fcn2", width=2), _images(n=8)
    t = m(x).argmax(1)
    kw = dict(interpreter="sg", eps=1.0, noise_ratio=0.1, softplus_beta=5.0, epochs=2, batch_size=4)
    plain = upi_grad(m, x, t, generator=torch.Generator().manual_seed(0), **kw)
    flip = upi_grad(m, x, t, sign_flip=True, generator=torch.Generator().manual_seed(0), **kw)
    assert "sign" not in plain.info and plain.info["step"] == "raw"
    assert torch.allclose(flip.delta, flip.info["sign"] * plain.delta)
    # alpha None: calibrated once so that the first step moves step_ratio·ε, then constant (raw steps)
    one = upi_grad(m, x, t, generator=torch.Generator().manual_seed(0), **{**kw, "epochs": 1, "batch_size": 8})
    start = 0.1 * 1.0 / 64 ** 0.5 * torch.randn((1, 1, 8, 8), generator=torch.Generator().manual_seed(0))
    assert float((one.delta - start[0]).norm()) == pytest.approx(0.2, rel=1e-4)
    assert one.info["alpha"] > 0


def test_pca_rows_raw_are_prop_2_gradients():
    """Raw rows are the per-image gradients themselves (Prop. 2's G); the unit variant rescales each."""
    m, x, t, dist, z, raw = _fgm_setup(4)
    unit = _fgm_setup(4, rows="unit")[-1]
    g, _ = dist.per_image_grad(x, t, dist.reference(x, t), z)
    assert torch.allclose(raw, g.flatten(1))
    assert torch.allclose(unit, raw / raw.norm(dim=1, keepdim=True), atol=1e-6)
    assert raw.norm(dim=1).std() > 0                                    # so the two weight images differently


def test_per_image_attacks_and_classification_uap():
    m, x = _model(), _images(n=6)
    t = m(x).argmax(1)
    kw = dict(interpreter="ig", eps=0.5, noise_ratio=0.1, softplus_beta=5.0, interp_options={"steps": 3},
              generator=torch.Generator().manual_seed(0))
    p = interpretation_pgd(m, x, t, steps=3, step_ratio=0.5, batch_size=4, **kw)
    f = interpretation_fgm(m, x, t, **kw)
    for d in (p, f):
        assert d.shape == x.shape and (d.flatten(1).norm(dim=1) <= 0.5 + 1e-5).all()
        assert ((x + d) >= -1e-6).all() and ((x + d) <= 1 + 1e-6).all()
    u = classification_uap(m, x, t, eps=2.0, epochs=3, batch_size=3, step_ratio=0.5,
                           generator=torch.Generator().manual_seed(0))
    loss = nn.functional.cross_entropy
    assert u.norm() <= 2.0 + 1e-5 and loss(m((x + u).clamp(0, 1)), t) > loss(m(x), t)


def test_dissimilarity_and_cross_correlation():
    a = torch.randn(4, 5, 5)
    assert torch.allclose(interpretation_dissimilarity(a, a), torch.zeros(4))
    assert torch.allclose(interpretation_dissimilarity(a, 3 * a), torch.full((4,), 2.0))
    v = torch.randn(3, 1, 4, 4)
    v[2] = -2 * v[0]
    c = cross_correlation(v)
    assert torch.allclose(c.diagonal(), torch.ones(3)) and c[0, 2] == pytest.approx(1.0) and c[0, 1] < 1


def _upi_cfg():
    from uap.config import load_config
    u = load_config("config/smoke.yaml")["upi"]
    return {**u, "train_images": 8, "eval_images": 8, "batch_size": 4, "random_seeds": 2, "examples": 2}


@pytest.mark.parametrize("interp", ["sg", "ig"])
def test_experiment_rows_tables_and_claims(interp, tmp_path):
    import pandas as pd
    from uap.claims import s2_rows
    from uap.upi.experiment import METHODS, run_experiment
    from uap.upi.tables import correlation_table, paper_tables
    m = _model("fcn2", size=28, width=2)
    u = _upi_cfg()
    df, tensors, _ = run_experiment(m, interp, _images(8, size=28), _images(8, size=28, seed=2), u,
                                    gen=torch.Generator().manual_seed(0), device="cpu")
    assert list(df.method) == [name for name, _, _ in METHODS]
    assert df.dissimilarity.ge(0).all() and df.fooling_rate.between(0, 1).all()
    assert (df.delta_norm <= u["eps"] * (1 + 1e-4)).all()
    assert df.set_index("method").loc["upi_grad", "delta_norm"] == pytest.approx(u["eps"], rel=1e-4)
    assert tensors["maps_clean"].shape == (2, 28, 28) and tensors["examples"].shape == (2, 1, 28, 28)
    df.insert(0, "model", "fcn2")
    df.insert(1, "arch", "fcn2")
    for dataset, has_paper in (("fashion_mnist", False), ("mnist5k", True)):
        t1, t2 = paper_tables(df, dataset)
        assert (t1.paper != "n/a").any() == has_paper
    t1, _ = paper_tables(df, "mnist")
    row = t1.set_index("method").loc["upi_pca_fgm"]
    assert float(row.paper) == (0.358 if interp == "sg" else 0.166)     # Table 1, MNIST 2-layer FCN column
    # claims need both interpretations: feed this one twice under both names
    both = pd.concat([t1, t1.assign(interpreter="ig" if interp == "sg" else "sg")])
    both.to_csv(tmp_path / "t1.csv", index=False)
    keys = {("fcn2", i, k): tensors[f"delta_{k}"] for i in ("sg", "ig") for k in ("upi_pca_pgd", "upi_pca_fgm")}
    correlation_table(keys).to_csv(tmp_path / "cc.csv", index=False)
    from uap.config import load_config
    per_image = pd.concat([pd.DataFrame({"model": "fcn2", "interpreter": i, "method": m, "image": range(len(d)),
                                         "dissimilarity": d.numpy()})
                           for i in ("sg", "ig") for m, _, _ in METHODS for d in [tensors[f"dissimilarity_{m}"]]])
    assert len(tensors["dissimilarity_per_image_pgd"]) == 8 and (df.images == 8).all()
    rows = s2_rows(load_config("config/smoke.yaml"), str(tmp_path / "t1.csv"), str(tmp_path / "cc.csv"), per_image)
    assert len(rows) == 4 and all(r["system"] == "S2" for r in rows)
    assert [r["kind"] for r in rows] == ["finding", "finding", "sanity", "finding"]
    for r in rows[:2]:
        assert r["ci_low"] <= r["ci_high"] and r["n"] == 8
    assert "1.00" in rows[3]["ours"]                                # identical directions: |corr| = 1
    assert rows[3]["verdict"] == ("reproduced" if rows[2]["verdict"] == "reproduced" else "not judged")
