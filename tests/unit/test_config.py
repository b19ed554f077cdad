"""Configuration: the shipped profiles validate, unknown keys and bad values are named, defaults fill."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from uap.config import ConfigError, load_config, schema, validate_config

ROOT = Path(__file__).resolve().parents[2]
MIN_MODELS = {"natural": {"arch": "resnet18"}}


@pytest.mark.parametrize("name", ["config.yaml", "config/smoke.yaml", "config/cifar10.yaml", "config/cifar100.yaml"])
def test_shipped_configs_validate(name):
    path = ROOT / name
    if not path.is_file():
        pytest.skip(f"{name} is not in this checkout")
    cfg = load_config(path)
    assert cfg["run"] and cfg["models"]
    assert cfg["constructed"]["source_model"] in cfg["models"]
    assert cfg["constructed"]["norm"] in cfg["attacks"]["norms"]


def test_smoke_config_values_survive_and_defaults_fill():
    path = ROOT / "config" / "smoke.yaml"
    if not path.is_file():
        pytest.skip("config/smoke.yaml is not in this checkout")
    cfg = load_config(path)
    assert cfg["run"] == "smoke" and cfg["device"] == "cpu"
    assert cfg["models"]["natural"]["width"] == 4
    t = cfg["models"]["natural"]["train"]
    assert t["epochs"] == 2 and t["lr_drops"] == [1]
    assert t["momentum"] == 0.9 and t["crop_padding"] == 2          # schema defaults
    assert cfg["constructed"]["train"]["drop_at"] == 0.625
    assert cfg["attacks"]["norms"]["l2"] == {"eps": 3.0, "universal_lr": 1.0}


def test_defaults_are_filled_for_a_minimal_config():
    cfg = validate_config({"run": "x"})
    assert cfg["seed"] == 0 and cfg["device"] == "auto" and cfg["precision"] == "fp32"
    assert cfg["max_batch_images"] == 4096
    assert cfg["data"]["dataset"] == "fashion_mnist" and cfg["data"]["download"] is True
    assert cfg["data"]["root"] is None
    # a default that itself holds objects gets its nested defaults too
    assert cfg["attacks"]["norms"] == {"l2": {"eps": 1.0, "universal_lr": 0.5}}
    assert cfg["attacks"]["pgd"] == {"steps": 10, "step_ratio": pytest.approx(1 / 3)}
    assert cfg["attacks"]["universal"]["base_size"] == 2048
    assert cfg["constructed"]["train"]["grid"]["lr"] == [0.01, 0.05, 0.1]
    assert cfg["constructed"]["train"]["grid"]["lr_drop"] == [True, False]
    assert cfg["models"] == {}


def test_model_defaults_including_the_train_section():
    cfg = validate_config({"run": "x", "models": MIN_MODELS})
    m = cfg["models"]["natural"]
    assert m["width"] == 16 and m["seed"] == 0
    assert m["train"] == {"epochs": 4, "lr": 0.1, "batch_size": 128, "lr_drops": [], "momentum": 0.9,
                          "weight_decay": 5e-4, "augment": True, "crop_padding": 2, "eval_batch_size": 1024, "eval_every": 1}
    assert "adversarial" not in m
    cfg = validate_config({"run": "x", "models": {"natural": {"arch": "resnet18", "train": {"epochs": 7},
                                                              "adversarial": {"norm": "l2", "eps": 0.5}}}})
    m = cfg["models"]["natural"]
    assert m["train"]["epochs"] == 7 and m["train"]["lr"] == 0.1
    assert m["adversarial"]["steps"] == 3 and m["adversarial"]["step_ratio"] == pytest.approx(2 / 3)


def test_validate_does_not_mutate_its_input():
    raw = {"run": "x", "models": {"natural": {"arch": "resnet18"}}}
    before = json.dumps(raw, sort_keys=True)
    validate_config(raw)
    assert json.dumps(raw, sort_keys=True) == before


def test_unknown_top_level_key_is_named():
    with pytest.raises(ConfigError, match="seeed"):
        validate_config({"run": "x", "seeed": 1})


@pytest.mark.parametrize("cfg,key,where", [
    ({"run": "x", "data": {"datset": "mnist"}}, "datset", "config.data"),
    ({"run": "x", "models": {"natural": {"arch": "resnet18", "train": {"epoch": 3}}}}, "epoch",
     "config.models.natural.train"),
    ({"run": "x", "attacks": {"norms": {"l2": {"eps": 1.0, "lr": 0.1}}}}, "lr", "config.attacks.norms.l2"),
    ({"run": "x", "attacks": {"norms": {"l3": {"eps": 1.0}}}}, "l3", "config.attacks.norms"),
    ({"run": "x", "constructed": {"train": {"grid": {"momentum": [0.9]}}}}, "momentum",
     "config.constructed.train.grid"),
])
def test_unknown_nested_key_is_named_with_its_path(cfg, key, where):
    with pytest.raises(ConfigError) as e:
        validate_config(cfg)
    msg = str(e.value)
    assert f"'{key}'" in msg and where in msg


@pytest.mark.parametrize("cfg,where", [
    ({"run": "x", "models": {"natural": {"arch": "resnet18", "train": {"epochs": 0}}}},
     "config.models.natural.train.epochs"),
    ({"run": "x", "data": {"dataset": "foo"}}, "config.data.dataset"),
    ({"run": "x", "device": "gpu"}, "config.device"),
    ({"run": "x", "models": {"natural": {"arch": "resnet50"}}}, "config.models.natural.arch"),
    ({"run": "x", "attacks": {"norms": {"l2": {"eps": 0}}}}, "config.attacks.norms.l2.eps"),
    ({"run": "bad name/"}, "config.run"),
    ({"run": "x", "constructed": {"train": {"drop_at": 1.0}}}, "config.constructed.train.drop_at"),
])
def test_bad_values_are_named_with_their_path(cfg, where):
    with pytest.raises(ConfigError) as e:
        validate_config(cfg)
    assert where in str(e.value)


def test_missing_run_is_an_error():
    with pytest.raises(ConfigError, match="run"):
        validate_config({"seed": 1})


@pytest.mark.parametrize("run", [".", "..", ".hidden", "../x", "a/b", "/abs", "", "a\\b", "~"])
def test_a_run_name_that_is_not_one_folder_under_results_is_refused(run):
    """results/<run> must stay a single folder under results/ (`run: ..` would write into the repository
    root, and a figure rule's output notebook would be its source notebook)."""
    with pytest.raises(ConfigError, match=r"config\.run") as e:
        validate_config({"run": run})
    assert "results/" in str(e.value)
    with pytest.raises(ConfigError, match=r"config\.run"):        # the slices rules pass are checked too
        validate_config({"run": run}, partial=True)


@pytest.mark.parametrize("run", ["smoke", "default-2026-12-03", "a.b", "_x", "R1", "x.."])
def test_ordinary_run_names_pass(run):
    assert validate_config({"run": run})["run"] == run


def test_data_root_must_not_be_empty():
    with pytest.raises(ConfigError, match=r"config\.data\.root"):
        validate_config({"run": "x", "data": {"root": ""}})


def test_all_errors_are_reported_at_once():
    with pytest.raises(ConfigError) as e:
        validate_config({"run": "x", "data": {"dataset": "foo"}, "seed": -1})
    assert "config.data.dataset" in str(e.value) and "config.seed" in str(e.value)


def test_semantic_cross_checks():
    with pytest.raises(ConfigError, match="source_model"):
        validate_config({"run": "x", "models": {"robust": {"arch": "resnet18"}}})
    with pytest.raises(ConfigError, match="constructed.norm"):
        validate_config({"run": "x", "models": MIN_MODELS, "constructed": {"norm": "linf"}})
    with pytest.raises(ConfigError, match="group_size"):
        validate_config({"run": "x", "models": MIN_MODELS, "constructed": {"group_size": 100, "source_size": 50}})
    # consistent settings pass
    cfg = validate_config({"run": "x", "models": MIN_MODELS, "attacks": {"norms": {"linf": {"eps": 0.1}}},
                           "constructed": {"norm": "linf", "group_size": 10, "source_size": 50}})
    assert cfg["attacks"]["norms"]["linf"]["universal_lr"] == 0.5


def test_load_config_inline_json_and_file_errors(tmp_path):
    cfg = load_config(json.dumps({"run": "inline", "seed": 3}))
    assert cfg["run"] == "inline" and cfg["seed"] == 3
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "nope.yaml")
    p = tmp_path / "list.yaml"
    p.write_text("- a\n- b\n")
    with pytest.raises(ConfigError, match="mapping"):
        load_config(p)
    p = tmp_path / "ok.yaml"
    p.write_text("run: fromfile\ndata: {dataset: mnist5k}\n")
    assert load_config(p)["data"]["dataset"] == "mnist5k"


def test_schema_forbids_unknown_keys_everywhere():
    """Every object in the schema (except the free-named model table) sets additionalProperties."""
    s = schema()
    missing = []

    def walk(node, path):
        if isinstance(node, dict):
            if node.get("type") == "object" and "additionalProperties" not in node:
                missing.append(path)
            for k, v in node.items():
                walk(v, f"{path}.{k}")
        elif isinstance(node, list):
            for i, v in enumerate(node):
                walk(v, f"{path}[{i}]")

    walk(s, "schema")
    assert not missing, missing
