"""What ``--cache-teacher-logits`` saves in the prediction step: the teacher once, then the student alone.

Two teachers with random weights, TNEWS-shaped rows (15 labels, sentences of the bundled demo
corpus, at most 64 tokens), the ``tinybert-4`` student shape (4 layers, 312 wide, 12 heads), batch
32, ``tinyzh distill --stage task --step prediction`` through ``run_distill`` with the cache on and
off. Reported: the training loop's seconds per epoch, the one teacher pass before it, and the
whole run's speed-up over ``--epochs`` epochs (the one pass included). Usage::

    python benchmarks/teacher_cache.py                     # tiny and bert-base-shaped teachers, 3 epochs
    python benchmarks/teacher_cache.py --epochs 5 --steps 16 --teachers base

The vocabulary is the demo's (~2k tokens), so the embedding tables are smaller than bert-base's
21,128 rows; the forward cost of a classifier barely depends on it.
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
from pathlib import Path
from typing import Any

import torch

from tinyzh.config import BertShape

TEACHERS = {"tiny": BertShape(4, 64, 4, 128), "base": BertShape(12, 768, 12, 3072)}
STUDENT = BertShape(4, 312, 12, 1200)


def write_task(root: Path, rows: int, seed: int) -> tuple[Path, Path]:
    """(train file, vocab dir): TNEWS rows cut from the demo corpus, labels drawn at random."""
    from tinyzh.demo.teacher import write_vocab
    from tinyzh.plugins import get_task

    corpus = Path(__file__).resolve().parents[1] / "tinyzh" / "data" / "demo_corpus.txt"
    lines = [line.strip() for line in corpus.read_text(encoding="utf-8").splitlines() if line.strip()]
    labels, draw = get_task("tnews").labels, random.Random(seed)
    train = root / "tnews" / "train.json"
    train.parent.mkdir(parents=True, exist_ok=True)
    records = [{"sentence": lines[i % len(lines)][:60], "label": draw.choice(labels)} for i in range(rows)]
    train.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    return train, write_vocab(root / "vocab", [corpus])


def save_teacher(directory: Path, vocab: Path, shape: BertShape) -> Path:
    """A random ``BertForSequenceClassification`` with TNEWS's labels and the vocab's tokenizer."""
    from transformers import BertForSequenceClassification

    from tinyzh.demo.teacher import bert_config
    from tinyzh.plugins import get_task
    from tinyzh.tokenizers.bert_chinese import load_hf_tokenizer

    labels = get_task("tnews").labels
    tokenizer = load_hf_tokenizer(str(vocab))
    config = bert_config(shape, len(tokenizer), 128)
    config.id2label, config.label2id = dict(enumerate(labels)), {label: i for i, label in enumerate(labels)}
    torch.manual_seed(0)
    BertForSequenceClassification(config).save_pretrained(str(directory))
    tokenizer.save_pretrained(directory)
    return directory


def run(teacher: Path, student: Path, train: Path, output: Path, cache: bool, args: argparse.Namespace) -> dict[str, Any]:
    from tinyzh.distill import DistillConfig, run_distill

    start = time.perf_counter()
    result = run_distill(DistillConfig(
        stage="task", task="tnews", step="prediction", data=str(train), output=str(output), teacher=str(teacher),
        student=str(student), epochs=args.epochs, batch_size=args.batch_size, max_seq_len=64, workers=0,
        save_steps=10_000, cache_teacher_logits=cache,
    ))[0]  # fmt: skip; no dev.json beside the data: no dev evaluation in the loop
    cached = result.teacher_logits_cache or {}
    return {"total_s": round(time.perf_counter() - start, 2), "loop_s": round(result.seconds, 2),
            "per_epoch_s": round(result.seconds / args.epochs, 3), "teacher_pass_s": cached.get("seconds", 0.0),
            "final_loss": result.final_loss}


def measure(name: str, shape: BertShape, root: Path, args: argparse.Namespace) -> dict[str, Any]:
    from tinyzh.demo.teacher import write_student_config
    from tinyzh.tokenizers.bert_chinese import load_hf_tokenizer

    train, vocab = write_task(root, args.steps * args.batch_size, args.seed)
    teacher = save_teacher(root / f"teacher-{name}", vocab, shape)
    student = write_student_config(root / "student.json", STUDENT, len(load_hf_tokenizer(str(vocab))), 128)
    live = run(teacher, student, train, root / f"live-{name}", False, args)
    cached = run(teacher, student, train, root / f"cached-{name}", True, args)
    return {"teacher": name, "shape": shape.config_kwargs(), "live": live, "cached": cached,
            "epoch_speedup": round(live["per_epoch_s"] / max(cached["per_epoch_s"], 1e-9), 2),
            "run_speedup": round(live["loop_s"] / max(cached["loop_s"] + cached["teacher_pass_s"], 1e-9), 2)}


def main(argv: list[str] | None = None) -> list[dict[str, Any]]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--teachers", nargs="+", default=list(TEACHERS), choices=list(TEACHERS))
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--steps", type=int, default=8, help="optimizer steps per epoch")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    from tinyzh.hf import quiet_transformers

    rows = []
    with tempfile.TemporaryDirectory() as tmp, quiet_transformers():
        for name in args.teachers:
            rows.append(measure(name, TEACHERS[name], Path(tmp) / name, args))
    print(f"| teacher | epoch live (s) | epoch cached (s) | teacher pass (s) | per-epoch speed-up | "
          f"{args.epochs}-epoch speed-up | loss live / cached |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['teacher']} | {r['live']['per_epoch_s']} | {r['cached']['per_epoch_s']} | "
              f"{r['cached']['teacher_pass_s']} | {r['epoch_speedup']}x | {r['run_speedup']}x | "
              f"{r['live']['final_loss']:.5f} / {r['cached']['final_loss']:.5f} |")
    return rows


if __name__ == "__main__":
    main()
