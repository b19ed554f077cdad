"""benchmarks/peers.py (uap vs torchattacks and ART): adapters respect ε, one shared metric scores every tool.

Needs the optional `bench` extra; skipped where torchattacks / ART are not installed (as in CI)."""
from __future__ import annotations

import importlib.util
import math
from pathlib import Path

import pytest
import torch

from helpers_uap import tiny_resnet

pytest.importorskip("torchattacks", reason="the optional 'bench' extra (torchattacks) is not installed")
pytest.importorskip("art", reason="the optional 'bench' extra (adversarial-robustness-toolbox) is not installed")

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "peers.py"
EPS = 0.5


@pytest.fixture(scope="module")
def peers():
    spec = importlib.util.spec_from_file_location("peers", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def model():
    m = tiny_resnet(num_classes=10, image_size=8, logit_scale=20.0).eval()
    for p in m.parameters():
        p.requires_grad_(False)
    return m


def _x(n, seed=0):
    return torch.rand(n, 1, 8, 8, generator=torch.Generator().manual_seed(seed))


def test_per_example_adapters_stay_in_the_eps_ball_and_the_pixel_box(peers, model):
    x, tgt = _x(6), torch.arange(6) % 10
    for fn in (peers.ours_pgd, peers.torchattacks_pgd):
        d = fn(model, x, tgt, eps=EPS, steps=3, step_size=EPS / 3)
        assert d.shape == x.shape, fn.__name__
        assert (d.flatten(1).norm(dim=1) <= EPS * (1 + 1e-5)).all(), fn.__name__
        assert d.abs().sum() > 0, f"{fn.__name__} returned no perturbation"
        assert ((x + d) >= -1e-6).all() and ((x + d) <= 1 + 1e-6).all(), fn.__name__


def test_universal_adapters_stay_in_the_eps_ball(peers, model):
    x = _x(6, 1)
    outs = {fn.__name__: peers.flat_delta(fn(model, x, 1, eps=EPS, passes=2, step_size=EPS / 2, batch_size=3))
            for fn in (peers.ours_universal, peers.art_universal)}
    outs.update({fn.__name__: peers.flat_delta(fn(model, x, eps=EPS, passes=1, max_iter=10, overshoot=0.02,
                                                  classes=10))
                 for fn in (peers.ours_deepfool_uap, peers.art_deepfool_uap)})
    for name, d in outs.items():
        assert d.shape == x.shape[1:], name
        assert float(d.norm()) <= EPS * (1 + 1e-5), name
    # ART's targeted variant returns a zero perturbation unless the attacker is told it is targeted
    assert float(outs["art_universal"].norm()) > 0


def test_score_is_the_package_metric(peers, model):
    x, y = _x(8, 2), torch.tensor([0, 1, 2, 3, 0, 1, 2, 3])
    zero = torch.zeros(1, 8, 8)
    assert peers.score(model, x, zero, labels=y) == 0.0                       # untargeted: vs clean predictions
    clean = peers.predict(model, x)
    # targeted: images whose label is the target are left out (none left: nan)
    assert math.isnan(peers.score(model, x[y == 0], zero, labels=y[y == 0], target=0))
    want = float((clean[y != 0] == 0).float().mean())
    assert peers.score(model, x, zero, labels=y, target=0) == pytest.approx(want)


def test_compare_scores_every_row_with_the_shared_metric(peers, model, monkeypatch):
    calls = []
    real = peers.score

    def spy(*a, **k):
        calls.append(k.get("target") is not None)
        return real(*a, **k)

    monkeypatch.setattr(peers, "score", spy)
    monkeypatch.setattr(peers, "SINGLE_RUN_AFTER_S", 0.0)            # one timed run each: keep the test cheap
    cfg = {"eps": EPS, "pgd_images": 4, "pgd_steps": 2, "univ_images": 4, "univ_passes": 1, "univ_batch": 2,
           "univ_target": 1, "eval_images": 4, "df_images": 4, "df_passes": 1, "df_max_iter": 5,
           "df_overshoot": 0.02, "df_classes": 10, "models": ["trained"]}
    x = _x(16, 3)
    rows = peers.compare(model, x, torch.arange(16) % 10, cfg)
    assert len(calls) == len(rows) == 12
    assert sum(calls) == 6                                            # 2 PGD rows + 4 universal PGD rows targeted
    tools = {r["tool"] for r in rows}
    assert {"uap", "torchattacks PGDL2", "ART TargetedUniversalPerturbation", "uap (batch 1)",
            "ART UniversalPerturbation(deepfool)"} == tools
    assert all(r["time_ratio"] == 1.0 for r in rows if r["tool"] == "uap")
    assert all(r["runs"] == 1 and r["seconds"] > 0 for r in rows)
    assert {r["precision"] for r in rows} == {"fp32"}


def test_peers_precision_fp32_keeps_the_peers_as_shipped_and_deepfool_fp32(peers, model, monkeypatch):
    monkeypatch.setattr(peers, "SINGLE_RUN_AFTER_S", 0.0)
    cfg = {"eps": EPS, "pgd_images": 4, "pgd_steps": 1, "univ_images": 4, "univ_passes": 1, "univ_batch": 2,
           "univ_target": 1, "eval_images": 4, "df_images": 4, "df_passes": 1, "df_max_iter": 2,
           "df_overshoot": 0.02, "df_classes": 3, "precision": "bf16", "peers_precision": "fp32",
           "models": ["folded"]}
    rows = peers.compare(model, _x(16, 3), torch.arange(16) % 10, cfg)
    prec = {(r["comparison"].split()[0], r["tool"]): r["precision"] for r in rows}
    assert prec[("per-example", "uap")] == prec[("targeted", "uap")] == "bf16"
    assert prec[("per-example", "torchattacks PGDL2")] == prec[("targeted", "ART TargetedUniversalPerturbation")] == "fp32"
    assert {p for (c, _), p in prec.items() if c == "DeepFool"} == {"fp32"}


def test_every_tool_attacks_the_same_model_trained_and_folded_side_by_side(peers, model, monkeypatch, tmp_path):
    folded = peers.frozen_copy(model)
    x = _x(5, 4)
    with torch.no_grad():
        assert torch.allclose(folded(x), model(x), atol=1e-5)
    assert any(isinstance(m, torch.nn.BatchNorm2d) for m in model.modules())       # the original is untouched
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in folded.modules())
    monkeypatch.setattr(peers, "SINGLE_RUN_AFTER_S", 0.0)
    seen = []                                            # (adapter, has batch norms, model object) per call
    for name in ("ours_pgd", "torchattacks_pgd", "ours_universal", "art_universal", "ours_deepfool_uap",
                 "ours_deepfool_uap_sequential", "art_deepfool_uap"):
        real = getattr(peers, name)

        def spy(m, *a, _real=real, _name=name, **k):
            seen.append((_name, any(isinstance(mod, torch.nn.BatchNorm2d) for mod in m.modules()), id(m)))
            return _real(m, *a, **k)
        monkeypatch.setattr(peers, name, spy)
    cfg = {"eps": EPS, "pgd_images": 4, "pgd_steps": 1, "univ_images": 4, "univ_passes": 1, "univ_batch": 2,
           "univ_target": 1, "eval_images": 4, "df_images": 4, "df_passes": 1, "df_max_iter": 2,
           "df_overshoot": 0.02, "df_classes": 3}
    rows = peers.compare(model, _x(16, 3), torch.arange(16) % 10, cfg)          # default: both variants
    assert len(rows) == 24 and [r["model"] for r in rows] == ["trained"] * 12 + ["folded"] * 12
    # within a variant every adapter (ours and theirs, warm-up and timed calls) got the one same object
    half = len(seen) // 2
    for part, has_bn in ((seen[:half], True), (seen[half:], False)):
        assert {b for _, b, _ in part} == {has_bn}
        assert len({i for _, _, i in part}) == 1
        assert {n for n, _, _ in part} == {"ours_pgd", "torchattacks_pgd", "ours_universal", "art_universal",
                                           "ours_deepfool_uap", "ours_deepfool_uap_sequential", "art_deepfool_uap"}
    # ratios per variant: ours is 1.0 under each; the side-by-side table has both ratios per tool
    assert all(r["time_ratio"] == 1.0 for r in rows if r["tool"] == "uap")
    sbs = {(o["comparison"], o["tool"]): o for o in peers.side_by_side(rows)}
    assert len(sbs) == 7
    o = sbs[("per-example targeted PGD l2", "torchattacks PGDL2")]
    by = {r["model"]: r for r in rows if r["tool"] == "torchattacks PGDL2"}
    assert (o["ratio_trained"], o["ratio_folded"]) == (by["trained"]["time_ratio"], by["folded"]["time_ratio"])
    assert o["folded_over_trained"] == pytest.approx(by["folded"]["seconds"] / by["trained"]["seconds"], abs=0.01)
    md = peers.ratio_table(rows)
    assert "their time / ours (trained) | their time / ours (folded)" in md and md.count("\n") == 8
    # one variant only: no folded column
    one = peers.compare(model, _x(16, 3), torch.arange(16) % 10, {**cfg, "models": ["folded"]})
    assert {r["model"] for r in one} == {"folded"} and "(trained)" not in peers.ratio_table(one)
    with pytest.raises(ValueError, match="models"):
        peers.compare(model, _x(16, 3), torch.arange(16) % 10, {**cfg, "models": ["fused"]})


def test_cli_help_names_the_model_variants(peers, capsys):
    with pytest.raises(SystemExit):
        peers.main(["--help"])
    out = capsys.readouterr().out
    assert "--models {both,trained,folded}" in out and "--peers-model" not in out
