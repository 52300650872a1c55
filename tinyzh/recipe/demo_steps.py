"""The recipe steps that are no command of their own: the demo's data, vocabulary and teacher.

No pretrained Chinese weights ship with tinyzh, so the demo (and the quality benchmark) make a small
teacher: a character vocabulary of the corpus and task, then masked-LM pre-training from scratch on
``tinyzh pregen``'s instances (``tinyzh.demo.teacher``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tinyzh.config import BertShape
from tinyzh.io import write_atomic
from tinyzh.report import Reporter

SPLITS = ("train", "dev", "test")
UNLABELED = "unlabeled"  # FewCLUE's name for a task's rows without a label


def copy_demo_data(target: Path, max_documents: int | None = None, max_train: int | None = None,
                   max_dev: int | None = None, max_unlabeled: int | None = None) -> dict[str, Any]:
    """``target/demo_corpus.txt`` and ``target/demo_task/*.json`` from the bundled data, cut to the limits."""
    from tinyzh.demo.task import demo_corpus, demo_task_dir

    documents = demo_corpus().read_text(encoding="utf-8").strip("\n").split("\n\n")[:max_documents]
    (target / "demo_task").mkdir(parents=True, exist_ok=True)
    write_atomic(target / "demo_corpus.txt", "\n\n".join(documents) + "\n")
    limits = {"train": max_train, "dev": max_dev, "test": max_dev, UNLABELED: max_unlabeled}
    rows = {}
    for split in limits:
        lines = (demo_task_dir() / f"{split}.json").read_text(encoding="utf-8").splitlines(keepends=True)
        write_atomic(target / "demo_task" / f"{split}.json", "".join(lines[: limits[split]]))
        rows[split] = len(lines[: limits[split]])
    return {"documents": len(documents), **rows}


def build_vocab(target: Path, corpus: list[Path], data_dir: Path | None, task: str | None) -> dict[str, Any]:
    """A character ``vocab.txt`` of the corpus and the task's files."""
    from tinyzh.demo.teacher import write_vocab
    from tinyzh.plugins import get_task
    from tinyzh.tasks.data import find_task_dir

    sources = list(corpus)
    if data_dir is not None and task:
        task_dir = find_task_dir(data_dir, get_task(task))
        sources += [task_dir / f"{s}.json" for s in (*SPLITS, UNLABELED) if (task_dir / f"{s}.json").is_file()]
    write_vocab(target, sources)
    return {"tokens": sum(1 for _ in (target / "vocab.txt").open(encoding="utf-8"))}


def pretrain(target: Path, pregen: Path, shape: BertShape, settings: dict[str, Any], reporter: Reporter) -> dict[str, Any]:
    """A blank BERT of ``shape`` with the vocabulary's tokenizer, masked-LM trained on ``pregen``.

    The summary gives the loss at the start and at the end (each the mean of a tenth of the steps,
    so one batch's noise does not decide it): how much the teacher learned.
    """
    from tinyzh.demo.teacher import pretrain_teacher, save_blank

    save_blank(target, Path(settings["tokenizer"]), shape, settings["max_seq_len"], settings["seed"])
    steps = settings["steps"]
    losses: list[float] = []

    def tick(step: int, loss: float) -> None:
        losses.append(loss)
        reporter.progress("pretrain (masked-LM steps)", step, steps, {"loss": loss})
        reporter.metrics("pretrain", step, {"mlm_loss": loss})

    loss = pretrain_teacher(pregen, target, steps, settings["lr"], settings["batch_size"], settings["seed"], tick,
                            settings.get("dropout"))
    tenth = max(1, steps // 10)
    return {"steps": steps, "loss": loss, "loss_start": sum(losses[:tenth]) / tenth,
            "loss_end": sum(losses[-tenth:]) / tenth}


def save_baseline(target: Path, tokenizer: str, shape: BertShape, positions: int, seed: int) -> None:
    """The no-distillation baseline: a blank model of the student's shape with the teacher's tokenizer."""
    from tinyzh.demo.teacher import save_blank

    save_blank(target, Path(tokenizer), shape, positions, seed)


def write_student_config(path: Path, shape: BertShape, teacher: str, positions: int) -> None:
    """``config.json`` for ``distill --student``: the student's shape in the teacher's family (its
    vocabulary, special ids and token types, as a preset student gets), with ``positions`` positions.

    A pretrained SentencePiece teacher (e5, XLM-R) pads with id 1, not BERT's 0; a plain BERT config
    here would give the student a different padding row than its tokenizer uses.
    """
    from transformers import AutoConfig

    from tinyzh.distill.models import inherited_config
    from tinyzh.hf import load_pretrained

    config = inherited_config(load_pretrained(AutoConfig, teacher, "teacher config"), shape, positions)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, config.to_json_string())
