"""``tinyzh demo`` over several seeds, scored on the whole dev set and on each half of it.

Half of the demo's dev questions name products that the labelled training set names too ("seen"),
half only products it never names ("new"); the new half is where the teacher's pre-training is worth
something (docs/demo.md). Each seed is an ordinary demo run in ``WORK/seed-N`` (a rerun skips what is
up to date). Usage::

    python benchmarks/demo_seeds.py --seeds 0,1,2 --work /tmp/demo-seeds      # ~3 min a seed on 2 cores
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path

from tinyzh.demo.make_task import words
from tinyzh.demo.run import TASK, run_demo
from tinyzh.evaluate.finetune import load_classifier, predict
from tinyzh.hf import load_hf_tokenizer
from tinyzh.plugins import get_task
from tinyzh.tasks.features import encode_examples

MODELS = ("teacher", "student", "baseline")
HALVES = ("all", "seen", "new")


def model_dirs(run: Path) -> dict[str, Path]:
    """Where a demo run keeps its three scored models."""
    tuned = run / "finetune"
    return {"teacher": tuned / "teacher" / "models" / TASK, "student": run / "student",
            "baseline": tuned / "baseline" / "models" / TASK}  # fmt: skip


def half_scores(run: Path) -> dict[str, dict[str, float]]:
    """model -> {all, seen, new} -> dev accuracy of that demo run (``new``: rows naming a new product)."""
    task = get_task(TASK)
    rows = list(task.read_examples(run / "data" / "demo_task" / "dev.json", "dev"))
    new = words("new")
    pick = {"all": [True] * len(rows), "new": [any(w in row.texts[0] for w in new) for row in rows]}
    pick["seen"] = [not n for n in pick["new"]]
    scores: dict[str, dict[str, float]] = {}
    for name, path in model_dirs(run).items():  # the eval library's own loading, encoding and argmax
        model = load_classifier(str(path), task, trained=True)
        features = encode_examples(load_hf_tokenizer(str(path)), task, rows, task.max_seq_len)
        right = [p == row.label for p, row in zip(predict(model, features, 64).labels, rows, strict=True)]
        scores[name] = {h: sum(r for r, p in zip(right, pick[h], strict=True) if p) / max(1, sum(pick[h]))
                        for h in HALVES}  # fmt: skip
    return scores


def summary_lines(by_seed: dict[int, dict[str, dict[str, float]]]) -> list[str]:
    lines = ["| seed | " + " | ".join(f"{m} {h}" for m in MODELS for h in HALVES) + " |",
             "|---" * (1 + len(MODELS) * len(HALVES)) + "|"]  # fmt: skip
    for seed, scores in by_seed.items():
        lines.append(f"| {seed} | " + " | ".join(f"{scores[m][h]:.1%}" for m in MODELS for h in HALVES) + " |")
    if len(by_seed) > 1:
        cells = []
        for m in MODELS:
            for h in HALVES:
                values = [100 * s[m][h] for s in by_seed.values()]
                cells.append(f"{statistics.mean(values):.1f} ± {statistics.stdev(values):.1f}")
        lines.append("| mean ± sd | " + " | ".join(cells) + " |")
    wins = sum(s["student"]["all"] > s["baseline"]["all"] for s in by_seed.values())
    lines.append(f"\nThe student beat the no-distillation baseline on {wins} of {len(by_seed)} seeds.")
    return lines


def main(argv: list[str] | None = None) -> dict[int, dict[str, dict[str, float]]]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", default="0,1,2", help="comma-separated seeds")
    parser.add_argument("--work", type=Path, required=True, help="one demo folder per seed goes here")
    parser.add_argument("--size", default="default", help="the demo's --size")
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args(argv)
    by_seed: dict[int, dict[str, dict[str, float]]] = {}
    for seed in (int(s) for s in args.seeds.split(",")):
        run = args.work / f"seed-{seed}"
        run_demo(args.size, run, seed=seed, threads=args.threads)
        by_seed[seed] = half_scores(run)
    text = "\n".join(summary_lines(by_seed))
    print(text)
    args.work.mkdir(parents=True, exist_ok=True)
    (args.work / "demo_seeds.json").write_text(json.dumps(by_seed, indent=2) + "\n", encoding="utf-8")
    return by_seed


if __name__ == "__main__":
    main()
