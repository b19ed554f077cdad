"""The names of S1's interpolation dataset variants (``random_K16``, ``class_K256``, ``random_K1_half``,
``cyclic_K256``; see `uap.s1.interpolation`) and which ones a config asks for. Imports nothing heavy:
the Snakefile uses it while it builds the DAG."""
from __future__ import annotations

import re

VARIANT = re.compile(r"^(random|class|subclass|cyclic)_K([0-9]+)(_half)?$")
WILDCARD = r"(random|class|subclass|cyclic)_K[0-9]+(_half)?"


def variant_label(kind: str, K: int, half: bool = False) -> str:
    return f"{kind}_K{int(K)}" + ("_half" if half else "")


def parse_variant(label: str) -> dict:
    m = VARIANT.match(label)
    if not m:
        raise ValueError(f"unknown interpolation variant {label!r} (expected e.g. random_K16, class_K256, "
                         "random_K1_half, cyclic_K256)")
    kind, K, half = m.group(1), int(m.group(2)), bool(m.group(3))
    if half and (kind != "random" or K != 1):
        raise ValueError(f"{label!r}: the half-budget variant is K = 1 with random targets (random_K1_half)")
    return {"kind": kind, "K": K, "eps_scale": 0.5 if half else 1.0}


def has_hierarchy(dataset: str) -> bool:
    from ..data import FINE_LABELS
    return dataset in FINE_LABELS


def variants(cfg: dict) -> list[str]:
    """Every dataset variant the config asks for (subclass rows only where the data has sub-classes)."""
    ic = cfg["interpolation"]
    out = [variant_label("random", K) for K in ic["K"]]
    rk = ic["restricted_K"]
    out.append(variant_label("random", rk))            # Table 2's "Random" row
    for kind in ic["restricted"]:
        if kind == "subclass" and not has_hierarchy(cfg["data"]["dataset"]):
            continue
        out.append(variant_label(kind, rk))
    if ic["budget_check"]:
        out += [variant_label("random", 1, half=True), variant_label("random", 2)]
    if cfg["leakage"]["cyclic"]:
        out.append(variant_label("cyclic", rk))
    return list(dict.fromkeys(out))                    # de-duplicated, order kept


def matched_variants(cfg: dict) -> list[str]:
    """The variants of Tables 1, 2 and 5, which are trained at one common (the smallest) size."""
    return [v for v in variants(cfg) if parse_variant(v)["kind"] != "cyclic"]
