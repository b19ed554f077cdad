"""Preemption at random points (issue #32): SIGKILL a real training and a real universal-PGD job at >= 10
random moments, re-running the same command after each kill, and compare the final files with an
uninterrupted run's.

    nice -n 19 .venv/bin/python benchmarks/preemption.py [--kills 10] [--out benchmarks/history/preemption.csv]

The two jobs use the default profile (config.yaml: Fashion-MNIST, precision auto, one thread a job):

- training: the natural model's recipe (ResNet-18 width 16, one-cycle lr 0.2, 3 epochs, batch 128,
  crop padding 2, evaluation on the whole 10,000-image test split after every epoch), BUT on a seeded
  subset of --train-subset (default 4,000) of the 60,000 training images (models.natural.train_subset):
  the whole 60,000 take about 260 s of one core uninterrupted (config.yaml: 197 s with 2 threads), and
  ten kills waste about half an epoch each, so the full recipe would need ~15 minutes of CPU for this
  job alone. Training checkpoints at the end of every epoch (train.py); a kill loses the epoch in flight.
- universal PGD: `python -m uap universal --norm l2` of the default profile (base sets of 512 training
  images per class, 10 classes, 10 epochs, batches of 256) on the model trained above, checkpointing its
  loop every --pgd-every (default 2) seconds (UAP_PGD_CHECKPOINT_S; the default of the commands is 60).

Kill moments: each attempt is killed after a delay drawn uniformly from (0, start-up + a), start-up
being the reference run's time to its first log line; a = 2 epochs (training) or 2/kills of the
reference's work (PGD), capped at 0.8 x the work left according to the checkpoint, so that the job
cannot finish before its last kill. Kills land anywhere: during start-up, mid-step, mid-save. After the
kills the job runs to the end. Identical = the same SHA-256 of the weights / perturbation tensors and of
the universal tables (the JSON sidecars record seconds and are left out).

Measured 2026-12-03 on the 2-core machine (bf16, the default profile's run beside it, this script
under nice 19), benchmarks/history/preemption.csv: 4/4 identical; training 10 kills, 11 attempts, 10 of
them resumed (uninterrupted 70 s); universal PGD 10 kills, 11 attempts, 10 resumed (uninterrupted 82 s); 8.0 min
wall, 203 s user + 56 s system CPU in all. (A whole default-profile natural training, 60,000 images,
would take ~4-5 min uninterrupted here, ~15 min with the kills.)
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from uap.artifacts import file_sha256  # noqa: E402


def env(extra: dict | None = None) -> dict:
    return {**os.environ, "PYTHONPATH": str(ROOT / "src"), "UAP_NO_PROGRESS": "1", **(extra or {})}


def uap(args: list[str], log: Path, extra_env: dict | None = None) -> subprocess.Popen:
    with open(log, "a") as f:
        return subprocess.Popen([sys.executable, "-m", "uap", *args], stdout=f, stderr=subprocess.STDOUT,
                                env=env(extra_env))


def run_to_end(args, log, extra_env=None) -> tuple[float, float]:
    """(wall seconds, seconds to the first log line) of an uninterrupted run."""
    t0 = time.time()
    start = None
    p = uap(args, log, extra_env)
    while p.poll() is None:
        if start is None and log.exists() and log.stat().st_size > 0:
            start = time.time() - t0
        time.sleep(0.05)
    if p.returncode != 0:
        raise SystemExit(f"uap {args[0]} failed ({p.returncode}); see {log}:\n{log.read_text()[-3000:]}")
    return time.time() - t0, start or 0.0


def sidecar(path: Path) -> dict | None:
    try:
        return json.loads(path.with_suffix(".json").read_text())
    except (OSError, ValueError):
        return None


def resumes(log: Path) -> int:
    """How many attempts resumed from a checkpoint (the others started afresh: killed before the first one)."""
    return sum("resuming from" in line for line in log.read_text().splitlines())


def preempt(name: str, args: list[str], log: Path, kills: int, startup: float, slack, work_left,
            rng: random.Random, extra_env=None) -> dict:
    """Kill `kills` times at random moments, re-running after each; then run to the end."""
    done_kills, attempts, events = 0, 0, []
    while True:
        attempts += 1
        p = uap(args, log, extra_env)
        if done_kills < kills:
            bound = startup + min(slack, 0.8 * work_left())
            delay = rng.uniform(0, bound)
            t0 = time.time()
            while p.poll() is None and time.time() - t0 < delay:
                time.sleep(0.01)
            if p.poll() is None:
                os.kill(p.pid, signal.SIGKILL)
                p.wait()
                done_kills += 1
                events.append(round(delay, 2))
                print(f"  {name}: kill {done_kills}/{kills} after {delay:.2f} s of attempt {attempts} "
                      f"(bound {bound:.1f} s)", flush=True)
                continue
        rc = p.wait()
        if rc != 0:
            raise SystemExit(f"{name}: attempt {attempts} ended with {rc}; see {log}")
        return {"kills": done_kills, "attempts": attempts, "kill_delays": events}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--kills", type=int, default=10)
    ap.add_argument("--train-subset", type=int, default=4000)
    ap.add_argument("--pgd-every", type=float, default=2.0, help="UAP_PGD_CHECKPOINT_S of the PGD job")
    ap.add_argument("--seed", type=int, default=0, help="seed of the kill moments")
    ap.add_argument("--work", help="work folder (default: a temporary one, removed at the end)")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "history" / "preemption.csv"))
    a = ap.parse_args()
    import yaml
    rng = random.Random(a.seed)
    work = Path(a.work or tempfile.mkdtemp(prefix="preemption-"))
    work.mkdir(parents=True, exist_ok=True)
    t_all = time.time()
    cfg = yaml.safe_load((ROOT / "config.yaml").read_text())
    cfg["run"] = "preemption"
    cfg["models"]["natural"]["train_subset"] = a.train_subset
    cfgf = work / "cfg.yaml"
    cfgf.write_text(yaml.safe_dump(cfg))
    data = work / "data"
    if not (data / "train.safetensors").exists():
        run_to_end(["prepare-data", "--config", str(cfgf), "--out-dir", str(data)], work / "prepare.log")
    rows = []

    # ---- training
    def train_args(tag):
        return ["train", "--config", str(cfgf), "--model", "natural", "--data-dir", str(data), "--out",
                str(work / tag / "natural.safetensors"), "--checkpoint", str(work / "ckpt" / f"train_{tag}.safetensors"),
                "--threads", "1"]
    t0 = time.time()
    ref_s, startup = run_to_end(train_args("ref"), work / "train_ref.log")
    epochs = cfg["models"]["natural"]["train"]["epochs"]
    t_epoch = (ref_s - startup) / epochs
    print(f"training: uninterrupted {ref_s:.1f} s (start-up {startup:.1f} s, {t_epoch:.1f} s an epoch)", flush=True)
    ck = work / "ckpt" / "train_killed.safetensors"

    def train_left():
        m = sidecar(ck)
        return (epochs - (m["epoch"] + 1 if m else 0)) * t_epoch
    t1 = time.time()
    res = preempt("training", train_args("killed"), work / "train_killed.log", a.kills, startup, 2.0 * t_epoch,
                  train_left, rng)
    same = file_sha256(work / "ref" / "natural.safetensors") == file_sha256(work / "killed" / "natural.safetensors")
    rows.append({"job": "train natural (subset %d, 3 epochs)" % a.train_subset, "file": "natural.safetensors",
                 **{k: res[k] for k in ("kills", "attempts")}, "resumes": resumes(work / "train_killed.log"),
                 "identical": same, "reference_seconds": round(ref_s, 1), "preempted_seconds": round(time.time() - t1, 1),
                 "kill_delays": " ".join(map(str, res["kill_delays"]))})
    print(f"training: {res['kills']} kills, {res['attempts']} attempts, {rows[-1]['resumes']} resumed, identical: {same}",
          flush=True)

    # ---- universal PGD on the reference model
    model = work / "ref" / "natural.safetensors"
    pgd_env = {"UAP_PGD_CHECKPOINT_S": str(a.pgd_every)}

    def uni_args(tag):
        o = work / f"uni_{tag}"
        return ["universal", "--config", str(cfgf), "--model", str(model), "--data-dir", str(data), "--norm", "l2",
                "--out", str(o / "universal_l2.safetensors"), "--table", str(o / "universal_l2.csv"),
                "--curves", str(o / "universal_l2_curves.csv"), "--checkpoint",
                str(work / "ckpt" / f"uni_{tag}.safetensors"), "--threads", "1"]
    ref_u, startup_u = run_to_end(uni_args("ref"), work / "uni_ref.log", pgd_env)
    work_u = ref_u - startup_u
    print(f"universal PGD: uninterrupted {ref_u:.1f} s (start-up {startup_u:.1f} s)", flush=True)
    u = cfg["attacks"]["universal"]
    steps_total = u["epochs"] * -(-u["base_size"] // u["batch_size"])
    cku = work / "ckpt" / "uni_killed.pgd0.safetensors"

    def uni_left():
        m = sidecar(cku)
        if not m or m.get("finished"):
            return work_u
        return work_u * (1 - (m["ep"] * -(-u["base_size"] // u["batch_size"]) + m["s"]) / steps_total)
    t1 = time.time()
    res = preempt("universal PGD", uni_args("killed"), work / "uni_killed.log", a.kills, startup_u,
                  2 * work_u / a.kills, uni_left, rng, pgd_env)
    for f in ("universal_l2.safetensors", "universal_l2.csv", "universal_l2_curves.csv"):
        same = file_sha256(work / "uni_ref" / f) == file_sha256(work / "uni_killed" / f)
        rows.append({"job": "universal PGD l2 (default profile)", "file": f,
                     **{k: res[k] for k in ("kills", "attempts")}, "resumes": resumes(work / "uni_killed.log"),
                     "identical": same,
                     "reference_seconds": round(ref_u, 1), "preempted_seconds": round(time.time() - t1, 1),
                     "kill_delays": " ".join(map(str, res["kill_delays"]))})
    print(f"universal PGD: {res['kills']} kills, {res['attempts']} attempts", flush=True)

    total = round(time.time() - t_all, 1)
    for r in rows:
        r["total_seconds"] = total
    out = Path(a.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    n_same = sum(r["identical"] for r in rows)
    print(f"{n_same}/{len(rows)} identical ({total:.0f} s in all, {time.time() - t0:.0f} s after data preparation); "
          f"CSV: {out}", flush=True)
    if not a.work:
        shutil.rmtree(work, ignore_errors=True)
    return 0 if n_same == len(rows) else 1


if __name__ == "__main__":
    sys.exit(main())
