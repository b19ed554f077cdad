"""S3 (JUAP): interpreters on tiny models, RTS training, generator norm bound, joint loss switch,
map metrics, smoothed ReLU gradient, image-dependent generators."""
from __future__ import annotations

import math
import tempfile
from pathlib import Path

import pandas as pd
import pytest
import torch

from uap.interpret import INTERPRETERS, classify_and_explain, get_interpreter
from uap.interpret.rts import SaliencyMasker, alternative, rts_loss, train_masker
from uap.interpret.smooth_relu import relu_grad_surrogate, smooth_relu_gradient
from uap.juap.generators import build_generator, scale_to_norm
from uap.juap.juap import train_juap
from uap.juap.losses import classifier_loss, interpretation_shift, joint_loss
from uap.juap.jap import train_jap
from uap.metrics import map_iou, map_l1
from uap.models import build_model
from uap.utils import generator

from helpers_uap import tiny_resnet


def _frozen(m):
    m.eval()
    for p in m.parameters():
        p.requires_grad_(False)
    return m


@pytest.fixture(scope="module")
def net():
    return _frozen(tiny_resnet(num_classes=4, image_size=16, logit_scale=20.0))


def test_registry_has_s3_interpreters():
    assert {"cam", "gradcam", "rts"} <= set(INTERPRETERS)


@pytest.mark.parametrize("arch", ["resnet18", "densenet121"])
def test_cam_equals_gradcam_up_to_scale_for_gap_linear_head(arch):
    torch.manual_seed(0)
    m = _frozen(build_model(arch, in_channels=1, num_classes=5, width=2, image_size=16, mean=[0.5], std=[0.25]))
    x = torch.rand(6, 1, 16, 16)
    t = torch.randint(0, 5, (6,))
    cam = get_interpreter("cam")(m, x, t, upsample_to_input=False)
    grad = get_interpreter("gradcam")(m, x, t, upsample_to_input=False, relu=False)
    v = cam.shape[-1] * cam.shape[-2]
    assert cam.abs().max() > 0
    torch.testing.assert_close(grad * v, cam, rtol=1e-4, atol=1e-5)
    # Grad-CAM proper keeps only the positive regions: ReLU(CAM / V), no longer CAM up to scale
    pos = get_interpreter("gradcam")(m, x, t, upsample_to_input=False)
    torch.testing.assert_close(pos, torch.relu(cam / v), rtol=1e-4, atol=1e-6)
    assert (cam < 0).any() and (pos >= 0).all()
    # and the class matters: another class gives another map
    other = get_interpreter("cam")(m, x, (t + 1) % 5, upsample_to_input=False)
    assert not torch.allclose(other, cam)
    # full-size maps
    assert get_interpreter("gradcam")(m, x, t).shape == (6, 16, 16)


def test_cam_differentiable_in_input_only_with_create_graph(net):
    x = torch.rand(3, 1, 16, 16, requires_grad=True)
    t = torch.zeros(3, dtype=torch.long)
    for name in ("cam", "gradcam"):
        m = get_interpreter(name)(net, x, t, create_graph=True)
        (g,) = torch.autograd.grad(m.pow(2).sum(), x)
        assert g.abs().sum() > 0
        assert not get_interpreter(name)(net, x, t).requires_grad


@pytest.mark.parametrize("arch", ["resnet18", "densenet121"])
@pytest.mark.parametrize("name", ["cam", "gradcam"])
def test_one_forward_for_logits_and_maps_equals_two(arch, name):
    """classify_and_explain reuses the classifier's feature maps for CAM / Grad-CAM: same logits,
    same maps and the same gradient of a joint loss as a separate forward for each (JUAP's step)."""
    torch.manual_seed(0)
    m = _frozen(build_model(arch, in_channels=1, num_classes=5, width=2, image_size=16, mean=[0.5], std=[0.25]))
    x0 = torch.rand(6, 1, 16, 16)
    grads, outs = [], []
    for shared in (False, True):
        x = x0.clone().requires_grad_(True)
        with smooth_relu_gradient(enabled=True):
            if shared:
                logits, maps = classify_and_explain(m, x, name)
            else:
                logits = m(x)
                maps = get_interpreter(name)(m, x, logits.argmax(1).detach(), create_graph=True)
            loss = logits.logsumexp(1).sum() + maps.abs().sum()
        (g,) = torch.autograd.grad(loss, x)
        outs.append((logits.detach(), maps.detach()))
        grads.append(g)
    torch.testing.assert_close(outs[1][0], outs[0][0], rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(outs[1][1], outs[0][1], rtol=1e-5, atol=1e-6)
    assert grads[0].abs().sum() > 0
    torch.testing.assert_close(grads[1], grads[0], rtol=1e-4, atol=1e-6)


def test_rts_training_lowers_its_loss(net):
    gen = generator(0)
    x = torch.rand(64, 1, 16, 16)
    torch.manual_seed(0)
    masker = SaliencyMasker(1, 4, width=4)
    c = net(x).argmax(1)
    alt = alternative(x, generator(1))
    kw = dict(tv=0.01, area=1.0, destroy=5.0, destroy_power=0.3)

    def loss():
        masker.eval()
        with torch.no_grad():
            return float(rts_loss(net, masker(x, c), x, c, alt, **kw))

    before = loss()
    train_masker(net, x, masker, steps=40, batch_size=32, lr=3e-3, gen=gen, **kw)
    after = loss()
    assert after < before - 0.05
    maps = get_interpreter("rts")(net, x[:5], c[:5], masker=masker)
    assert maps.shape == (5, 16, 16) and maps.min() >= 0 and maps.max() <= 1


@pytest.mark.parametrize("arch", ["resnet", "unet"])
@pytest.mark.parametrize("norm,zeta", [("l2", 0.7), ("linf", 0.05)])
def test_generator_output_respects_norm_bound(arch, norm, zeta):
    torch.manual_seed(0)
    g = build_generator(arch, 3, width=4, blocks=1)
    n = torch.rand(2, 3, 20, 20)
    out = g(n)
    assert out.shape == n.shape
    d = scale_to_norm(out * 100, norm, zeta)                  # large raw outputs are scaled down …
    p = 2 if norm == "l2" else math.inf
    norms = d.flatten(1).norm(p=p, dim=1)
    assert (norms <= zeta * (1 + 1e-5)).all()
    torch.testing.assert_close(norms, torch.full_like(norms, zeta))
    small = torch.full((1, 3, 4, 4), 1e-4)                      # … and small ones are left alone (min(1, ·))
    torch.testing.assert_close(scale_to_norm(small, norm, zeta), small)


def test_joint_loss_switches_terms_at_delta():
    delta, lam = -0.8, 0.5
    for value, expect_grad in ((-0.5, 1.0), (-1.2, 0.0)):
        l_cls = torch.tensor(value, requires_grad=True)
        l_int = torch.tensor(2.0, requires_grad=True)
        total = joint_loss(l_cls, l_int, delta, lam)
        total.backward()
        assert float(l_cls.grad) == expect_grad
        assert float(l_int.grad) == lam
        assert float(total.detach()) == pytest.approx(max(value, delta) + lam * 2.0)


def test_classifier_losses_follow_eqs_7_to_9():
    logits = torch.tensor([[4.0, 0.0, -4.0]])
    y = torch.tensor([0])
    ce_true = torch.nn.functional.cross_entropy(logits, y)
    assert float(classifier_loss(logits, "ce", y)) == pytest.approx(-math.log(float(ce_true)))
    ce2 = torch.nn.functional.cross_entropy(logits, torch.tensor([2]))
    assert float(classifier_loss(logits, "targeted", torch.tensor([2]))) == pytest.approx(math.log(float(ce2)))
    with pytest.raises(KeyError):
        classifier_loss(logits, "hinge", y)
    a, b = torch.zeros(2, 3, 3), torch.ones(2, 3, 3)
    assert float(interpretation_shift(b, a)) == pytest.approx(3.0)


def test_map_metrics():
    a = torch.zeros(2, 4, 4)
    a[:, :2] = 1.0
    assert torch.allclose(map_l1(a, a * 5 + 1), torch.zeros(2))        # scale/shift invariant
    assert torch.allclose(map_iou(a, a), torch.ones(2))
    b = torch.zeros(2, 4, 4)
    b[:, 2:] = 1.0
    assert torch.allclose(map_l1(a, b), torch.ones(2))
    assert torch.allclose(map_iou(a, b), torch.zeros(2))
    c = torch.zeros(2, 4, 4)
    c[:, 1:3] = 1.0
    assert torch.allclose(map_iou(a, c), torch.full((2,), 1 / 3))


def test_smooth_relu_gives_second_order_signal():
    s = torch.tensor([-0.5, -0.001, 0.001, 0.5])
    a = relu_grad_surrogate(s)
    assert a[0] < 0.01 and a[-1] > 0.99 and (a >= 0).all() and (a <= 1).all()
    x = torch.tensor([0.003, -0.004], requires_grad=True)
    for smooth, nonzero in ((False, False), (True, True)):
        with smooth_relu_gradient(enabled=smooth):
            y = torch.nn.functional.relu(x).sum()
            (g,) = torch.autograd.grad(y, x, create_graph=True)
            (h,) = torch.autograd.grad(g.sum(), x, allow_unused=True) if g.requires_grad else (None,)
        got = h is not None and h.abs().sum() > 0
        assert got == nonzero
    assert torch.nn.functional.relu(torch.tensor([-1.0, 2.0])).tolist() == [0.0, 2.0]   # restored


def test_juap_and_guap_train_and_respect_budget(net):
    gen = generator(0)
    x, y = torch.rand(32, 1, 16, 16), torch.randint(0, 4, (32,))
    for interp, lam in ((None, 0.0), ("gradcam", 0.1)):
        r = train_juap(net, x, y, generator_arch="resnet", norm="linf", zeta=0.1, interpreter=interp, lam=lam,
                       delta=-0.8, steps=3, batch_size=8, lr=1e-3, width=4, blocks=1, gen=gen)
        assert r.delta.shape == (1, 16, 16) and float(r.delta.abs().max()) <= 0.1 + 1e-6
        assert len(r.history) == 3 and (r.history[-1]["l_int"] > 0) == (interp is not None)


def test_jap_gives_one_bounded_perturbation_per_image(net):
    x, y = torch.rand(5, 1, 16, 16), torch.randint(0, 4, (5,))
    d = train_jap(net, x, y, norm="l2", zeta=0.5, interpreter="cam", lam=0.1, delta=-0.8, steps=3, chunk=3,
                  gen=generator(0))
    assert d.shape == x.shape
    assert (d.flatten(1).norm(dim=1) <= 0.5 + 1e-5).all()
    assert not torch.allclose(d[0], d[1])


def test_rts_encoder_term_adds_to_the_interpretation_shift(net):
    torch.manual_seed(0)
    masker = SaliencyMasker(1, 4, width=4).eval()
    for p in masker.parameters():
        p.requires_grad_(False)
    x, y = torch.rand(16, 1, 16, 16), torch.randint(0, 4, (16,))
    kw = dict(generator_arch="unet", norm="l2", zeta=1.0, interpreter="rts", lam=0.1, delta=-0.8, steps=1,
              batch_size=8, lr=1e-3, width=4, blocks=1, masker=masker)
    torch.manual_seed(1)                                   # same generator weights in both runs
    plain = train_juap(net, x, y, encoder_weight=0.0, gen=generator(3), **kw).history[0]["l_int"]
    torch.manual_seed(1)
    extra = train_juap(net, x, y, encoder_weight=1.0, gen=generator(3), **kw).history[0]["l_int"]
    assert extra > plain > 0


def test_default_classifier_loss_is_eq8_least_likely():
    from uap.config import load_config
    from uap.juap.juap import loss_labels
    s3 = load_config("config.yaml")["s3"]
    assert s3["joint"]["loss"] == "least_likely" and s3["joint"]["delta"] == -0.8
    assert s3["joint"]["rts_encoder_weight"] == 1.0                     # the paper adds ‖e(x̂) − e(x)‖₂ for RTS
    logits = torch.tensor([[2.0, -1.0, 0.5], [0.0, 1.0, -3.0]])
    model = lambda x: logits[: len(x)]                                  # noqa: E731
    assert loss_labels(model, torch.zeros(2, 1), torch.tensor([0, 1]), "least_likely", None).tolist() == [1, 2]


def test_lambda_rule_picks_largest_lambda_within_tolerance():
    import pandas as pd
    from uap.juap.experiments import pick_lambda
    rows = [{"interpreter": "-", "lam": 0.0, "seed": s, "fooling_ratio": 0.70} for s in range(3)]
    for lam, fr in ((1e-3, 0.71), (1e-2, 0.66), (1e-1, 0.40)):
        rows += [{"interpreter": "cam", "lam": lam, "seed": s, "fooling_ratio": fr + 0.01 * (s - 1)} for s in range(3)]
    rows += [{"interpreter": "rts", "lam": lam, "seed": 0, "fooling_ratio": 0.1} for lam in (1e-3, 1e-2)]
    picked = pick_lambda(pd.DataFrame(rows), tol=0.05)
    assert picked == {"cam": 1e-2, "rts": 1e-3}                          # rts: none within tol -> the smallest


def test_lambda_sweep_runs_every_seed_and_grid_point(net):
    from uap.juap.experiments import run_lambda_sweep
    s3 = {"generators": ["resnet"], "interpreters": ["cam"], "iou_threshold": 0.5, "norms": {"l2": 1.0},
          "lambda_rule": {"grid": [0.01, 0.1], "seeds": 2, "tol": 0.05},
          "generator": {"width": 4, "blocks": 1, "steps": 2, "batch_size": 8, "lr": 1e-3},
          "joint": {"delta": -0.8, "lam": {"cam": 0.5}, "smooth_relu": True, "rts_encoder_weight": 1.0,
                    "loss": "least_likely"}}
    x, y = torch.rand(16, 1, 16, 16), torch.randint(0, 4, (16,))
    df = run_lambda_sweep(net, x, y, s3, norm="l2", masker=None, gen=generator(0), device="cpu")
    assert len(df) == 2 * 3 and set(df.lam) == {0.0, 0.01, 0.1} and df.fooling_ratio.between(0, 1).all()


def test_universal_runs_repeat_generator_seeds_on_the_main_norm_only(net):
    """run_universal → juap_vs_plain → s3_rows: seeds on the main norm give the claims their intervals."""
    from uap.claims import s3_rows
    from uap.config import load_config
    from uap.juap.experiments import juap_vs_plain, run_universal
    cfg = load_config("config/smoke.yaml")
    s3 = {**cfg["s3"], "interpreters": ["cam", "gradcam"], "generators": ["resnet"], "seeds": 2, "norms": {"l2": 1.0, "linf": 0.1},
          "generator": {"width": 4, "blocks": 1, "steps": 2, "batch_size": 8, "lr": 1e-3},
          "uap": {**cfg["s3"]["uap"], "images": 8, "num_classes": 2, "max_iter": 2, "batch_size": 8}}
    x, y = torch.rand(16, 1, 16, 16), torch.randint(0, 4, (16,))
    tabs = []
    for norm in ("l2", "linf"):
        t, tensors, names = run_universal(net, x, y, x[:8], s3, norm=norm, masker=None, gen=generator(0), device="cpu",
                                          n_panel=2)
        tabs.append(t.assign(model="tiny"))
        assert len(names) == 1 + 3 and tensors["delta"].shape[0] == 4          # seed 0's perturbations only
    u = pd.concat(tabs, ignore_index=True)
    assert u[u.norm == "l2"].seed.nunique() == 2 and u[u.norm == "linf"].seed.nunique() == 1
    vs = juap_vs_plain(u, "l2")
    assert len(vs) == 2 * 2 and set(vs.seed) == {0, 1}
    path = str(Path(tempfile.mkdtemp()) / "vs.csv")
    vs.to_csv(path, index=False)
    rows = s3_rows(cfg, path)
    assert all(r["seeds"] == 2 and r["ci_low"] <= r["ci_high"] for r in rows[:3])


def test_generator_runs_do_not_depend_on_how_many_passes_the_baseline_takes(net):
    """The DeepFool UAP baseline draws from a copy of the random stream: changing its passes leaves every
    generative UAP / JUAP run of run_universal unchanged (and changes the baseline's own row only)."""
    from uap.config import load_config
    from uap.juap.experiments import run_universal
    cfg = load_config("config/smoke.yaml")
    s3 = {**cfg["s3"], "interpreters": ["cam"], "generators": ["resnet"], "seeds": 1, "norms": {"l2": 1.0},
          "generator": {"width": 4, "blocks": 1, "steps": 2, "batch_size": 8, "lr": 1e-3}}
    x, y = torch.rand(16, 1, 16, 16), torch.randint(0, 4, (16,))
    deltas = []
    for passes in (1, 3):
        u = {**cfg["s3"]["uap"], "images": 8, "num_classes": 2, "max_iter": 2, "batch_size": 4, "delta": 0.0,
             "max_passes": passes}
        torch.manual_seed(0)                          # generator weights come from the global stream, as in a job
        _, tensors, names = run_universal(net, x, y, x[:8], {**s3, "uap": u}, norm="l2", masker=None,
                                          gen=generator(0), device="cpu", n_panel=2)
        deltas.append(dict(zip(names, tensors["delta"])))
    assert set(deltas[0]) == set(deltas[1]) and "UAP" in deltas[0]
    for name in deltas[0]:
        if name != "UAP":
            assert torch.equal(deltas[0][name], deltas[1][name]), name
