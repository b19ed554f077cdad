"""Write the conda env of the rules from requirements.txt (the one source of truth of the pins).

    python workflow/scripts/make_envs.py           # (re)write workflow/envs/uap.yaml
    python workflow/scripts/make_envs.py --check   # exit 1 if it is out of date

Every rule uses the same env: it holds torch (several GB), so there is exactly one of it. It gets
the `[runtime]` group of requirements.txt; the workflow drivers and dev tools stay outside.
"""
from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ENV = ROOT / "workflow" / "envs" / "uap.yaml"
PYTHON = "3.11"


def requirement_groups(text: str) -> dict[str, list[str]]:
    """{group: [pin, …]} from requirements.txt's `# [group]` section headers."""
    groups: dict[str, list[str]] = {}
    current = None
    for line in text.splitlines():
        line = line.strip()
        if m := re.match(r"#\s*\[(\w+)\]", line):
            current = groups.setdefault(m.group(1), [])
        elif line and not line.startswith("#"):
            if current is None:
                raise ValueError(f"requirements.txt: {line!r} is outside a `# [group]` section")
            current.append(line)
    return groups


def render_env(runtime: list[str]) -> str:
    pins = "".join(f"      - {p}\n" for p in runtime)
    return (
        "# GENERATED from requirements.txt by workflow/scripts/make_envs.py; do not edit by hand.\n"
        "# The env of every rule (snakemake --use-conda). torch/torchvision come as PyPI wheels: on\n"
        "# Linux x86_64 these are CUDA builds that also run on CPUs, so one env serves login and GPU nodes.\n"
        "channels:\n  - conda-forge\n  - nodefaults\ndependencies:\n"
        f"  - python={PYTHON}\n  - pip\n  - pip:\n{pins}"
    )


def expected_env(root: Path = ROOT) -> str:
    return render_env(requirement_groups((root / "requirements.txt").read_text())["runtime"])


def main(argv: list[str]) -> int:
    want = expected_env()
    if "--check" in argv:
        if not ENV.is_file() or ENV.read_text() != want:
            print(f"{ENV.relative_to(ROOT)} is out of date: run python workflow/scripts/make_envs.py", file=sys.stderr)
            return 1
        return 0
    ENV.parent.mkdir(parents=True, exist_ok=True)
    ENV.write_text(want)
    print(f"wrote {ENV.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
