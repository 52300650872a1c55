"""Benchmark ``tinyzh eval``: wall time, examples/s and dev scores of one small model on the CLUE tasks present.

The model is a randomly initialised TinyBERT-4 shape (4 layers, hidden 312, 12 heads) with the
bert-base-chinese vocabulary from ``../shared/data/vocab`` -- no pretrained Chinese weights exist on
these machines, so its dev scores sit near chance; the majority-class rate of each dev set is printed
beside them so the reader can see how near. Usage::

    python benchmarks/eval.py                       # 1 epoch; <= 500 train, 1000 dev, 500 test rows a task
    python benchmarks/eval.py --epochs 3 --max-train-examples 0 --max-dev-examples 0   # full splits (slow)
"""

from __future__ import annotations

import argparse
import collections
import tempfile
import time
from pathlib import Path

from tinyzh.hf import quiet_transformers

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"


def build_model(directory: Path, vocab_dir: Path, layers: int, hidden: int) -> Path:
    import torch
    from transformers import BertConfig, BertModel

    from tinyzh.config import get_preset
    from tinyzh.hf import load_hf_tokenizer

    tokenizer = load_hf_tokenizer(str(vocab_dir))
    preset = get_preset("tinybert-4")  # 4 layers, hidden 312, intermediate 1200, 12 heads
    intermediate = preset.intermediate_size if (layers, hidden) == (4, 312) else 4 * hidden
    config = BertConfig(vocab_size=len(tokenizer), hidden_size=hidden, num_hidden_layers=layers,
                        num_attention_heads=12, intermediate_size=intermediate, max_position_embeddings=512)
    torch.manual_seed(0)
    with quiet_transformers():  # no tqdm bar in the benchmark's output
        BertModel(config).save_pretrained(str(directory))
    tokenizer.save_pretrained(str(directory))
    return directory


def majority_rate(task_name: str, path: Path, limit: int | None) -> float:
    from tinyzh import plugins
    from tinyzh.tasks.data import load_split

    labels = [ex.label for ex in load_split(path, plugins.get_task(task_name), "dev", limit)]
    return max(collections.Counter(labels).values()) / len(labels)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=SHARED / "clue")
    parser.add_argument("--vocab", type=Path, default=SHARED / "vocab" / "bert-base-chinese")
    parser.add_argument("--tasks", default="all")
    parser.add_argument("--epochs", type=float, default=1.0)
    parser.add_argument("--lr", type=float, default=2e-5)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--max-train-examples", type=int, default=500, help="0: all")
    parser.add_argument("--max-dev-examples", type=int, default=1000, help="0: all")
    parser.add_argument("--max-test-examples", type=int, default=500, help="0: all")
    parser.add_argument("--max-seq-len", type=int, default=0, help="0: the task's own (128; CSL 256)")
    parser.add_argument("--layers", type=int, default=4)
    parser.add_argument("--hidden", type=int, default=312)
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    args = parser.parse_args()
    if not args.data_dir.is_dir() or not args.vocab.is_dir():
        raise SystemExit(f"shared data not found ({args.data_dir}, {args.vocab}); nothing to benchmark")

    import torch
    from rich.console import Console
    from rich.table import Table

    from tinyzh import plugins
    from tinyzh.evaluate.config import EvalConfig, ModelSpec
    from tinyzh.evaluate.runner import run_eval
    from tinyzh.tasks.data import expand_tasks, find_task_dir

    none_if_zero = lambda value: value or None  # noqa: E731
    with tempfile.TemporaryDirectory() as tmp:
        model = build_model(Path(tmp) / "tinybert4-random", args.vocab, args.layers, args.hidden)
        config = EvalConfig(
            models=[ModelSpec("tinybert4-random", str(model))], tasks=expand_tasks(args.tasks, args.data_dir)[0],
            data_dir=args.data_dir, output=Path(tmp) / "out", epochs=args.epochs, lr=args.lr,
            batch_size=args.batch_size, max_seq_len=none_if_zero(args.max_seq_len),
            max_train_examples=none_if_zero(args.max_train_examples),
            max_dev_examples=none_if_zero(args.max_dev_examples),
            max_test_examples=none_if_zero(args.max_test_examples), threads=none_if_zero(args.threads),
        )
        start = time.perf_counter()
        summary = run_eval(config)
        wall = time.perf_counter() - start

    table = Table(title=f"tinyzh eval benchmark: {args.layers}-layer hidden-{args.hidden} random BERT, "
                        f"{torch.get_num_threads()} threads, epochs {args.epochs}, lr {args.lr}")
    for column in ("task", "max len", "train rows", "train s", "train ex/s", "dev rows", "dev ex/s",
                   "dev acc", "majority", "test rows"):
        table.add_column(column, justify="right")
    for pair in summary.results:
        task = plugins.get_task(pair.task)
        dev_path = find_task_dir(args.data_dir, task) / config.dev_file
        majority = majority_rate(pair.task, dev_path, config.max_dev_examples)
        table.add_row(pair.task, str(pair.settings["max_seq_len"]), str(pair.n_train), f"{pair.train_seconds:.1f}",
                      f"{pair.train_examples_per_s:.1f}", str(pair.n_dev), f"{pair.examples_per_s:.1f}",
                      f"{100 * pair.dev_score:.2f}", f"{100 * majority:.2f}", str(pair.n_test))
    console = Console(width=140)
    console.print(table)
    row = summary.rows()[0]
    console.print(f"parameters {row['parameters'] / 1e6:.1f} M; dev average {row['average']:.2f}; "
                  f"dev inference {row['examples_per_s']:.1f} examples/s overall; wall time {wall:.1f} s "
                  "(model loading, tokenising, training, dev and test prediction, submissions, chart)")


if __name__ == "__main__":
    main()
