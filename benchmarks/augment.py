"""Examples per second of ``tinyzh augment`` on a real CLUE training file.

Runs, side by side in one process, ``synonym`` and ``synonym,mlm`` (a small random BERT teacher
built on the real bert-base-chinese vocabulary, so the 21,128-way masked-LM head costs what it
costs for real) with the Cilin-extended dictionary, plus jieba POS tagging alone (the floor every
augmenter pays). Needs ../shared/data (see its README)::

    python benchmarks/augment.py                       # OCNLI, first 2,000 lines, 20 copies each
    python benchmarks/augment.py --task tnews --lines 0 --workers 2
"""

from __future__ import annotations

import argparse
import itertools
import tempfile
import time
from pathlib import Path

from tinyzh.hf import quiet_transformers

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
TASK_DIRS = {"ocnli": "ocnli", "tnews": "tnews", "iflytek": "iflytek", "csl": "csl", "cluewsc2020": "cluewsc"}


def small_teacher(directory: Path, layers: int, hidden: int) -> Path:
    """A random BertForMaskedLM with the real vocabulary (no weights can be downloaded here)."""
    import torch
    from transformers import BertConfig, BertForMaskedLM

    from tinyzh.hf import load_hf_tokenizer

    tokenizer = load_hf_tokenizer(str(DATA / "vocab" / "bert-base-chinese"))
    config = BertConfig(vocab_size=len(tokenizer), hidden_size=hidden, num_hidden_layers=layers,
                        num_attention_heads=max(1, hidden // 64), intermediate_size=4 * hidden)
    torch.manual_seed(0)
    with quiet_transformers():  # no tqdm bar in the benchmark's output
        BertForMaskedLM(config).save_pretrained(str(directory))
    tokenizer.save_pretrained(str(directory))
    return directory


def sample_input(task: str, lines: int, directory: Path) -> Path:
    source = DATA / "clue" / TASK_DIRS[task] / "train.json"
    target = directory / "train.json"
    with source.open(encoding="utf-8") as handle:
        chosen = list(itertools.islice(handle, lines or None))
    target.write_text("".join(chosen), encoding="utf-8")
    return target


def time_tagging(task: str, path: Path) -> tuple[float, int]:
    from tinyzh import plugins
    from tinyzh.augment.words import tag

    examples = list(plugins.get_task(task).read_examples(path, "train"))
    tag("预热")  # load jieba's dictionary outside the timing
    start = time.perf_counter()
    for ex in examples:
        for text in ex.texts:
            tag(text)
    return time.perf_counter() - start, len(examples)


def run(label: str, config: object) -> None:
    from tinyzh.augment.runner import run_augment

    start = time.perf_counter()
    summary = run_augment(config)  # type: ignore[arg-type]
    seconds = time.perf_counter() - start
    s = summary.stats
    rates = s.per_example()
    print(f"{label:<28} {s.examples_in / seconds:9.1f} ex/s {s.copies / seconds:9.0f} copies/s "
          f"{seconds:7.1f} s  copies/ex {rates['copies_per_example']:5.2f}  repl/copy "
          f"{rates['replacements_per_copy']:4.2f}  short {rates['short_share']:5.1%}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--task", default="ocnli", choices=sorted(TASK_DIRS))
    parser.add_argument("--lines", type=int, default=2000, help="first N lines of train.json (0: all)")
    parser.add_argument("--num-aug", type=int, default=20)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--teacher-layers", type=int, default=4)
    parser.add_argument("--teacher-hidden", type=int, default=256)
    args = parser.parse_args()
    if not DATA.is_dir():
        raise SystemExit(f"shared data not found at {DATA}")

    from tinyzh.augment.config import AugmentConfig

    with tempfile.TemporaryDirectory() as tmp:
        tmp_dir = Path(tmp)
        source = sample_input(args.task, args.lines, tmp_dir)
        teacher = small_teacher(tmp_dir / "teacher", args.teacher_layers, args.teacher_hidden)
        seconds, n = time_tagging(args.task, source)
        print(f"task {args.task}, {n} examples from {source.name}, num_aug {args.num_aug}, workers {args.workers}, "
              f"teacher {args.teacher_layers}x{args.teacher_hidden} (vocab 21128), dictionary cilin_ex.txt")
        print(f"{'jieba POS tagging alone':<28} {n / seconds:9.1f} ex/s")
        common = dict(task=args.task, input=source, synonyms=DATA / "synonyms" / "cilin_ex.txt",
                      num_aug=args.num_aug, workers=args.workers, overwrite=True)
        for augmenters in (("synonym",), ("synonym", "mlm"), ("homophone",)):
            name = ",".join(augmenters)
            config = AugmentConfig(output=tmp_dir / f"{name}.json", augmenters=augmenters, teacher=str(teacher), **common)
            run(name, config)


if __name__ == "__main__":
    main()
