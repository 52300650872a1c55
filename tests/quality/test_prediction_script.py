"""``benchmarks/quality_prediction.sh``: the prediction step rerun from a quality run's intermediate student."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "quality_prediction.sh"


def test_it_reruns_the_prediction_step_and_scores_it(tiny_run: Path, tmp_path: Path) -> None:
    run = tiny_run.parent / "work"
    out = tmp_path / "p"
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    done = subprocess.run(["bash", str(SCRIPT), str(run), "tnews", str(out), "2", str(run / "tnews" / "augment" / "train.json"),
                           "--lr", "1e-3", "--hard-label-weight", "1.0", "--batch-size", "8"],
                          capture_output=True, text=True, env=env, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    line = done.stdout.strip().splitlines()[-1]
    score = json.loads((tmp_path / "p-eval" / "student" / "pairs" / "tnews.json").read_text(encoding="utf-8"))
    assert line.startswith(f"tnews {out} dev {score['dev_score']:.4f}")
    stored = json.loads((out / "distill_config.json").read_text(encoding="utf-8"))
    assert (stored["step"], stored["epochs"], stored["lr"], stored["hard_label_weight"]) == ("prediction", 2, 1e-3, 1.0)
    assert stored["student"].endswith("tnews/student/intermediate")


def test_it_says_how_to_call_it() -> None:
    done = subprocess.run(["bash", str(SCRIPT)], capture_output=True, text=True, check=False)
    assert done.returncode == 2 and "RUN TASK OUT EPOCHS DATA" in done.stderr
