"""S1 interpolation, leakage probes, diversity and learning dynamics on tiny models and tensors."""
from __future__ import annotations

import pandas as pd
import pytest
import torch

from uap.s1.diversity import (cosine_matrix, diverse_universal, orthogonality_penalty, representation_changes,
                              subclass_targets)
from uap.s1.dynamics import learning_dynamics
from uap.s1.interpolation import build_variant, cyclic_targets, restricted_groups, table_layout
from uap.s1.leakage import extract_features, feature_source, probe_accuracy, train_linear_probe
from uap.s1.variants import parse_variant, variant_label, variants
from uap.threats import make_threat
from uap.utils import generator

from helpers_uap import tiny_resnet


def _cfg(dataset="fashion_mnist", **ic):
    base = {"K": [1, 2, 16], "restricted": ["class", "subclass"], "restricted_K": 16, "budget_check": True}
    return {"data": {"dataset": dataset}, "interpolation": {**base, **ic}, "leakage": {"cyclic": True}}


# ---------------------------------------------------------------------------------------------- variants
def test_variant_labels_round_trip_and_reject_nonsense():
    assert parse_variant(variant_label("random", 4)) == {"kind": "random", "K": 4, "eps_scale": 1.0}
    assert parse_variant("random_K1_half")["eps_scale"] == 0.5
    for bad in ("class_K4_half", "random_K2_half", "random_4", "foo_K2"):
        with pytest.raises(ValueError):
            parse_variant(bad)


def test_subclass_rows_only_where_a_hierarchy_exists():
    flat = variants(_cfg())
    assert "subclass_K16" not in flat and {"class_K16", "random_K1_half", "random_K2", "cyclic_K16"} <= set(flat)
    assert "subclass_K16" in variants(_cfg("cifar100"))
    lay = [r for r in table_layout(_cfg()) if r["row"] == "Single Sub-class"]
    assert lay == [{"table": "Table 2", "row": "Single Sub-class", "variant": None}]     # reported, not faked
    assert len(flat) == len(set(flat))


def test_restricted_groups_share_one_label_and_drop_remainders():
    labels = torch.tensor([0] * 7 + [1] * 9 + [2] * 3)
    order, glabel = restricted_groups(labels, 3, generator(0))
    groups = labels[order].view(-1, 3)
    assert (groups == groups[:, :1]).all() and torch.equal(groups[:, 0], glabel)
    assert sorted(glabel.tolist()) == [0, 0, 1, 1, 1, 2]
    assert len(set(order.tolist())) == len(order)
    with pytest.raises(ValueError):
        restricted_groups(labels, 10, generator(0))


def test_cyclic_targets_never_equal_the_label():
    y = torch.arange(10).repeat(3)
    t = cyclic_targets(y, 10)
    assert (t != y).all() and torch.equal(t, (y + 1) % 10)


@pytest.mark.parametrize("label", ["class_K4", "cyclic_K4", "random_K1_half"])
def test_build_variant_respects_groups_targets_and_budget(label):
    model = tiny_resnet(num_classes=3, logit_scale=20.0)
    gen = generator(1)
    x = torch.rand(48, 1, 8, 8)
    y = torch.arange(48) % 3
    res = build_variant(model, x, y, None, label, num_classes=3, norm="l2", eps=2.0, lr=1.0, epochs=3, batch_size=4,
                        source_size=48, gen=gen, device="cpu", balance="uniform")
    st = res["stats"]
    K = parse_variant(label)["K"]
    assert st["group_size"] == K and st["eps"] == pytest.approx(2.0 * parse_variant(label)["eps_scale"])
    assert (res["deltas"].flatten(1).norm(dim=1) <= st["eps"] * (1 + 1e-5)).all()
    assert torch.equal(y[res["source_index"]], res["y_orig"])                  # indices point at the real images
    if label.startswith("cyclic"):
        assert torch.equal(res["y"], (res["y_orig"] + 1) % 3)
    if label.startswith("class"):
        g = res["group"]
        for grp in torch.unique(g):                                             # one original class per group
            assert len(torch.unique(res["y_orig"][g == grp])) == 1


def test_half_budget_variant_is_built_like_d_adv_and_keeps_every_image():
    model = tiny_resnet(num_classes=3, logit_scale=20.0)
    x, y = torch.rand(30, 1, 8, 8), torch.arange(30) % 3
    res = build_variant(model, x, y, None, "random_K1_half", num_classes=3, norm="l2", eps=2.0, lr=1.0, epochs=3,
                        batch_size=4, source_size=30, adv_source_size=21, gen=generator(2), pgd_steps=4,
                        pgd_step_ratio=1 / 3)
    st = res["stats"]
    assert st["size"] == 21 and len(res["y"]) == 21                         # nothing dropped: size = source images
    assert st["group_size"] == 1 and st["eps"] == pytest.approx(1.0) and st["balance"].startswith("none")
    assert torch.bincount(res["y"], minlength=3).tolist() == [7, 7, 7]      # balanced random targets
    assert (res["deltas"].flatten(1).norm(dim=1) <= 1.0 + 1e-5).all()
    assert 0.0 <= st["construction_asr"] <= 1.0 and torch.equal(y[res["source_index"]], res["y_orig"])


def test_size_matched_keeps_labels_balanced_and_size_exact():
    from uap.s1.interpolation import size_matched
    from uap.s1.variants import matched_variants
    y = torch.tensor([0] * 10 + [1] * 10 + [2] * 4)
    keep = size_matched(y, 15, 3, generator(0))
    assert len(keep) == 15 and len(set(keep.tolist())) == 15
    assert torch.bincount(y[keep], minlength=3).tolist() == [6, 5, 4] or \
        sorted(torch.bincount(y[keep], minlength=3).tolist()) == [4, 5, 6]
    with pytest.raises(ValueError):
        size_matched(y, 25, 3, generator(0))
    m = matched_variants({**_cfg(), "data": {"dataset": "fashion_mnist"}})
    assert "cyclic_K16" not in m and {"random_K1", "random_K1_half", "class_K16"} <= set(m)


def test_subclass_variant_without_fine_labels_is_an_error():
    model = tiny_resnet(num_classes=3)
    with pytest.raises(ValueError, match="not applicable"):
        build_variant(model, torch.rand(12, 1, 8, 8), torch.arange(12) % 3, None, "subclass_K2", num_classes=3,
                      norm="l2", eps=1.0, lr=1.0, epochs=1, batch_size=2, source_size=12, gen=generator(0))


# ---------------------------------------------------------------------------------------------- leakage
def test_linear_probe_leaves_the_backbone_untouched():
    model = tiny_resnet(num_classes=3, logit_scale=5.0)
    for p in model.parameters():
        p.requires_grad_(True)                     # even a trainable backbone must not move
    before = {k: v.clone() for k, v in model.state_dict().items()}
    x, y = torch.rand(60, 1, 8, 8), torch.arange(60) % 3
    r = probe_accuracy(model, x, y, x[:30], y[:30], 3, {"epochs": 5, "lr": 0.1, "batch_size": 16,
                                                        "weight_decay": 0.0}, seed=0)
    after = model.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)             # incl. BatchNorm running stats
    assert all(p.grad is None for p in model.parameters())
    assert 0.0 <= r["test_acc"] <= 1.0 and r["feature_dim"] == model.net.feature_dim


def test_linear_probe_learns_a_linearly_separable_task_and_folds_standardisation():
    g = torch.Generator().manual_seed(0)
    feats = torch.randn(300, 5, generator=g) * 10 + 50
    y = ((feats - 50) @ torch.randn(5, 3, generator=g)).argmax(1)        # linearly separable labels
    probe, info = train_linear_probe(feats, y, 3, epochs=60, lr=0.1, batch_size=64, weight_decay=0.0, seed=0)
    assert info["train_acc"] > 0.9
    assert (probe(feats).argmax(1) == y).float().mean() > 0.9                 # works on raw features


def test_features_are_the_penultimate_representation():
    model = tiny_resnet(num_classes=3).eval()
    x = torch.rand(5, 1, 8, 8)
    f = extract_features(model, x, batch_size=2)
    assert torch.allclose(model.net.linear(f), model(x), atol=1e-5)


def test_feature_source_names_follow_table4():
    src = {"arch": "resnet18", "width": 16, "seed": 0}
    assert feature_source("natural", src, src) == "natural"
    assert feature_source("natural2", {**src, "seed": 10}, src) == "natural, diff init"
    assert feature_source("vgg", {"arch": "vgg16", "width": 16, "seed": 1}, src).startswith("natural, diff arch")
    assert feature_source("r", {**src, "adversarial": {"norm": "linf", "eps": 0.1}}, src) == "robust (ℓ∞)"


# ---------------------------------------------------------------------------------------------- diversity
def test_orthogonality_penalty_is_zero_for_orthogonal_and_one_for_parallel_changes():
    e = torch.eye(3)[:, None, :].expand(3, 4, 3)          # 3 perturbations, 4 images, orthogonal changes
    assert float(orthogonality_penalty(e)) == pytest.approx(0.0, abs=1e-7)
    par = torch.ones(3, 4, 5) * torch.tensor([1.0, 2.0, -3.0])[:, None, None]
    assert float(orthogonality_penalty(par)) == pytest.approx(1.0, abs=1e-6)


def test_cosine_matrix_is_symmetric_with_unit_diagonal():
    m = cosine_matrix(torch.randn(4, 1, 5, 5))
    assert torch.allclose(m, m.T) and torch.allclose(m.diagonal(), torch.ones(4), atol=1e-6)


def test_diverse_universal_stays_in_budget_and_the_penalty_decorrelates_representations():
    model = tiny_resnet(num_classes=3, logit_scale=10.0)
    base = torch.rand(16, 1, 8, 8)
    threat = make_threat("l2", 1.0)
    kw = dict(n=3, lr=0.3, epochs=6, batch_size=8, device="cpu")
    free = diverse_universal(model, base, 1, threat, ortho_weight=0.0, gen=generator(3), **kw)
    orth = diverse_universal(model, base, 1, threat, ortho_weight=50.0, gen=generator(3), **kw)
    for r in (free, orth):
        assert r["delta"].shape == (3, 1, 8, 8)
        assert (r["delta"].flatten(1).norm(dim=1) <= 1.0 + 1e-5).all()
    assert orth["curve"][-1]["penalty"] < orth["curve"][0]["penalty"] or orth["curve"][0]["penalty"] < 1e-3

    def offdiag(d):
        c = cosine_matrix(representation_changes(model, d, base))
        return float(c[~torch.eye(3, dtype=torch.bool)].abs().mean())
    assert offdiag(orth["delta"]) < offdiag(free["delta"])


def test_subclass_targets_are_the_fine_labels_inside_one_class():
    y = torch.tensor([0, 0, 1, 1, 0])
    fine = torch.tensor([3, 1, 4, 5, 3])
    assert subclass_targets(y, fine, 0) == [1, 3]


# ---------------------------------------------------------------------------------------------- dynamics
def test_learning_dynamics_rows_and_full_batch_collapse():
    model = tiny_resnet(num_classes=3, logit_scale=10.0)
    df = learning_dynamics(model, torch.rand(40, 1, 8, 8), make_threat("l2", 2.0), lrs=[0.5, 1.0],
                           batch_sizes=[4, 64], Ks=[4, 16], targets=[0, 2], epochs=3, gen=generator(0))
    assert isinstance(df, pd.DataFrame) and df.base_acc.between(0, 1).all()
    # K=4: batch 4 and 64 are both full-batch -> one setting; K=16: two settings
    assert set(df[df.K == 4].batch_size) == {4} and set(df[df.K == 16].batch_size) == {4, 16}
    assert len(df) == (1 + 2) * 2 * 2 * 3
    assert set(df.epoch) == {1, 2, 3} and set(df.target) == {0, 2}


def test_reached_balancing_keeps_reached_labels_uniform_when_one_is_never_reached():
    from uap.constructed import balance_labels
    orig = torch.tensor([0, 0, 1, 1, 1, 2, 2, 0])
    new = torch.tensor([1, 1, 2, 2, 2, 1, 2, 2])              # new label 0 never reached
    idx, final = balance_labels(orig, new, 3, generator(0), "reached")
    assert final.sum(0).tolist() == [0, 3, 3] and len(idx) == 6
    _, empty = balance_labels(orig, new, 3, generator(0), "uniform")
    assert int(empty.sum()) == 0                                # "uniform" empties the whole dataset


def test_config_errors_name_the_s1_key():
    from uap.config import ConfigError, validate_config
    base = {"run": "x", "models": {"natural": {"arch": "resnet18"}}}
    with pytest.raises(ConfigError, match="leakage.models"):
        validate_config({**base, "leakage": {"models": ["natural", "robust_missing"]}})
    with pytest.raises(ConfigError, match="interpolation.restricted"):
        validate_config({**base, "interpolation": {"restricted": ["species"]}})
    validate_config(base)                        # defaults naming absent models do not break a minimal config


def test_seed_path_keeps_seed_zero_and_names_the_others():
    from uap.s1.interpolation import seed_path
    assert seed_path("r/models/random_K1.safetensors", 0) == "r/models/random_K1.safetensors"
    assert seed_path("r/models/random_K1.safetensors", 2) == "r/models/random_K1.seed2.safetensors"
    assert seed_path("c/interp_cyclic_K256.safetensors", 1) == "c/interp_cyclic_K256.seed1.safetensors"
