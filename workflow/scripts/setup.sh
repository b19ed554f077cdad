#!/usr/bin/env bash
# One-time (idempotent) set-up of a fresh machine:
#   - .venv with the pinned packages of requirements.txt and this package (editable)
#   - the embedded dataset: Debian package dataset-fashion-mnist (checked by SHA-256 at load time)
#   - with --with-slurm: the Debian packages of a local one-node SLURM (for the SLURM tests)
# Usage: bash workflow/scripts/setup.sh [--with-slurm]
set -euo pipefail
cd "$(dirname "$0")/../.."

with_slurm=0
for arg in "$@"; do
  case "$arg" in
    --with-slurm) with_slurm=1 ;;
    *) echo "setup.sh: unknown option $arg" >&2; exit 2 ;;
  esac
done

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"
  elif command -v sudo >/dev/null 2>&1; then sudo "$@"
  else
    echo "setup.sh: need root (or sudo) to run: $*" >&2
    return 1
  fi
}

apt_updated=0
apt_install() {
  if [ "$apt_updated" -eq 0 ]; then
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    apt_updated=1
  fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

# ---- Python environment -------------------------------------------------------------------
PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  echo "[setup] creating .venv with $($PYTHON --version)"
  "$PYTHON" -m venv .venv
fi
want=$(cat requirements.txt pyproject.toml | sha256sum | cut -d' ' -f1)
if [ "$(cat .venv/.installed 2>/dev/null)" != "$want" ]; then
  echo "[setup] installing pinned packages (requirements.txt) into .venv"
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -r requirements.txt
  .venv/bin/python -m pip install -q --no-deps -e .
  echo "$want" > .venv/.installed
else
  echo "[setup] .venv is up to date"
fi

# ---- Embedded dataset ---------------------------------------------------------------------
if [ ! -f /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ] && [ -z "${UAP_DATA_DIR:-}" ]; then
  echo "[setup] installing the Debian package dataset-fashion-mnist"
  apt_install dataset-fashion-mnist || {
    echo "setup.sh: could not install dataset-fashion-mnist; put the four Fashion-MNIST IDX files in" \
         "\$UAP_DATA_DIR/fashion-mnist instead" >&2
    exit 1
  }
fi

# ---- Local SLURM (tests only) -------------------------------------------------------------
if [ "$with_slurm" -eq 1 ] && ! { command -v sbatch >/dev/null && command -v slurmctld >/dev/null && command -v munged >/dev/null; }; then
  echo "[setup] installing slurm-wlm and munge"
  apt_install slurm-wlm munge
fi
echo "[setup] done"
