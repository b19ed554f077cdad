"""Load and validate a configuration against the JSON-Schema; fill defaults; name bad keys."""
from __future__ import annotations

import copy
import json
import math
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft202012Validator, validators

from .errors import UapError

SCHEMA_PATH = Path(__file__).parent / "schema" / "config.schema.yaml"


class ConfigError(UapError, ValueError):
    """A config file or key is invalid; the message names it."""


def _with_defaults(cls):
    validate_props = cls.VALIDATORS["properties"]

    def set_defaults(validator, properties, instance, schema):
        if isinstance(instance, dict):
            for prop, sub in properties.items():
                if "$ref" in sub and "default" not in sub:
                    continue
                if "default" in sub and prop not in instance:
                    instance[prop] = copy.deepcopy(sub["default"])
        yield from validate_props(validator, properties, instance, schema)

    return validators.extend(cls, {"properties": set_defaults})


# libyaml's parser when PyYAML has it (the wheels do): the schema parses in 25 ms instead of 250 ms, paid
# by every command and every snakemake start; same constructor and resolver, so the same values
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _yaml(text: str):
    return yaml.load(text, Loader=_Loader)


def schema() -> dict:
    return _yaml(SCHEMA_PATH.read_text())


def validate_config(cfg: dict[str, Any], partial: bool = False) -> dict[str, Any]:
    """Return a validated deep copy with defaults filled in; raise ConfigError naming the bad key.

    `partial`: the config is a slice that a rule passes to its command (only the sections that
    command uses); cross-section checks were done on the whole config and are skipped."""
    cfg = copy.deepcopy(dict(cfg))
    given = set(cfg)
    bad = list(_non_finite(cfg))
    if bad:   # a NaN passes every range check of the schema (a NaN comparison is never true)
        raise ConfigError("invalid configuration: " + "; ".join(f"config.{w}: {v!r} is not a finite number"
                                                                   for w, v in bad))
    s = schema()
    # two passes: defaults are filled in the first, so nested defaults inside defaults get filled too
    Filler = _with_defaults(Draft202012Validator)
    for _ in range(3):
        list(Filler(s).iter_errors(cfg))
    errors = sorted(Draft202012Validator(s).iter_errors(cfg), key=lambda e: list(e.absolute_path))
    if errors:
        lines = []
        for e in errors:
            where = ".".join(str(p) for p in e.absolute_path) or "<top level>"
            msg = e.message
            if list(e.absolute_path) == ["run"] and e.validator == "pattern":
                msg = (f"{e.instance!r} is not a single folder name under results/ (letters, digits, _ . -; "
                       "not starting with a dot)")
            lines.append(f"  config.{where}: {msg}" if where != "<top level>" else f"  {msg}")
        raise ConfigError("invalid configuration:\n" + "\n".join(lines))
    _check_schedules(cfg)
    if not partial:
        _check_semantics(cfg, given)
    return cfg


def _non_finite(obj, where: str = ""):
    """(dotted path, value) of every NaN/±inf number anywhere in the config."""
    if isinstance(obj, float) and not math.isfinite(obj):
        yield where or "<top level>", obj
    elif isinstance(obj, dict):
        for k, v in obj.items():
            yield from _non_finite(v, f"{where}.{k}" if where else str(k))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from _non_finite(v, f"{where}.{i}")


def _check_schedules(obj, where: str = "") -> None:
    """Every training section with `lr_drops`: a drop at or past the last epoch would never happen."""
    if isinstance(obj, dict):
        if isinstance(obj.get("lr_drops"), list) and isinstance(obj.get("epochs"), int):
            for d in obj["lr_drops"]:
                if d >= obj["epochs"]:
                    raise ConfigError(f"config.{where}.lr_drops: drop at epoch {d} never happens in "
                                      f"{obj['epochs']} epoch(s); use drops below {where}.epochs")
        if "drop_at" in obj and isinstance(obj.get("epochs"), int) and obj["epochs"] < 2 \
                and True in obj.get("grid", {}).get("lr_drop", []):
            raise ConfigError(f"config.{where}.grid.lr_drop: a drop needs at least 2 epochs, "
                              f"{where}.epochs is {obj['epochs']}; use lr_drop: [false] or more epochs")
        for k, v in obj.items():
            _check_schedules(v, f"{where}.{k}" if where else str(k))


def _check_semantics(cfg: dict, given: set | None = None) -> None:
    """Cross-section checks of a whole config (references to config.models need models)."""
    if not cfg.get("models"):
        return
    c = cfg.get("constructed", {})
    if c and c.get("source_model") not in cfg.get("models", {}):
        raise ConfigError(f"config.constructed.source_model: {c.get('source_model')!r} is not a key of config.models")
    chains = [c.get("source_model")] + list(c.get("replicate_sources", []))
    for name in chains[1:]:
        if name not in cfg["models"]:
            raise ConfigError(f"config.constructed.replicate_sources: {name!r} is not a key of config.models")
    if len(set(chains)) < len(chains):
        raise ConfigError("config.constructed.replicate_sources: each chain needs its own source model "
                          f"(got {chains}, source_model first)")
    if c and c.get("norm") not in cfg.get("attacks", {}).get("norms", {}):
        raise ConfigError(f"config.constructed.norm: {c.get('norm')!r} has no entry in config.attacks.norms")
    for name in cfg.get("s4", {}).get("models", []):
        if name not in cfg["models"]:
            raise ConfigError(f"config.s4.models: {name!r} is not a key of config.models")
    # the S1 analysis sections reference models by name; checked where a profile sets them (their
    # defaults name models that a minimal config need not define)
    given = set(cfg) if given is None else given
    for sec in ("interpolation", "diversity", "dynamics"):
        sc = cfg.get(sec, {}) if sec in given else {}
        if sc and sc.get("source_model") not in cfg["models"]:
            raise ConfigError(f"config.{sec}.source_model: {sc.get('source_model')!r} is not a key of config.models")
        if sc and sc.get("norm") not in cfg.get("attacks", {}).get("norms", {}):
            raise ConfigError(f"config.{sec}.norm: {sc.get('norm')!r} has no entry in config.attacks.norms")
    for name in (cfg.get("leakage", {}).get("models", []) if "leakage" in given else []):
        if name not in cfg["models"]:
            raise ConfigError(f"config.leakage.models: {name!r} is not a key of config.models")
    fine = cfg.get("diversity", {}).get("fine_model") if "diversity" in given else None
    if fine and fine not in cfg["models"]:
        raise ConfigError(f"config.diversity.fine_model: {fine!r} is not a key of config.models")
    if fine and cfg["models"][fine].get("labels") != "fine":
        raise ConfigError(f"config.diversity.fine_model: model {fine!r} is not trained on sub-class labels "
                          f"(set config.models.{fine}.labels: fine)")
    from .data import FINE_LABELS
    for name, m in cfg["models"].items():
        if m.get("labels") == "fine" and cfg.get("data", {}).get("dataset") not in FINE_LABELS:
            raise ConfigError(f"config.models.{name}.labels: 'fine' needs a dataset with sub-class labels "
                              f"({', '.join(sorted(FINE_LABELS))}), not {cfg.get('data', {}).get('dataset')!r}")
    if c and c.get("group_size", 1) > c.get("source_size", 1):
        raise ConfigError("config.constructed.group_size: larger than constructed.source_size")


def load_config(spec: str | Path) -> dict[str, Any]:
    """`spec` is a YAML/JSON file path, or an inline JSON object (as Snakemake rules pass it)."""
    text = str(spec)
    partial = text.lstrip().startswith("{")
    if partial:
        try:
            cfg = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"--config: the inline JSON is malformed at line {exc.lineno}, column {exc.colno}: "
                              f"{exc.msg}") from exc
    else:
        path = Path(text)
        if not path.is_file():
            raise ConfigError(f"config file {path} does not exist" if not path.exists()
                              else f"config file {path} is not a file")
        try:
            cfg = _yaml(path.read_text()) or {}
        except UnicodeDecodeError as exc:
            raise ConfigError(f"config file {path} is not UTF-8 text ({exc.reason} at byte {exc.start})") from exc
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f", line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
            what = getattr(exc, "problem", None) or str(exc).splitlines()[0]
            raise ConfigError(f"config file {path}{where}: YAML syntax error: {what}") from exc
    if not isinstance(cfg, dict):
        raise ConfigError(f"{'--config' if partial else f'config file {text}'}: a configuration must be a mapping "
                          f"of keys to values, not a {type(cfg).__name__}")
    return validate_config(cfg, partial=partial)
