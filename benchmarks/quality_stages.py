"""The stages of the compression-quality experiment, each a call into tinyzh's libraries.

The teacher helpers come from the demo (``tinyzh.demo.teacher``: ``save_blank``, ``pretrain_teacher``,
``write_student_config``); the rest are ``run_pregen``, ``run_eval``, ``run_distill`` and
``run_augment`` with this experiment's settings. Every function writes one folder under ``out``.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Any

from quality_setup import TASKS, QualitySize


def layer_map(teacher_layers: int, student_layers: int) -> str:
    """Uniform ``STUDENT:TEACHER`` map (0 = embeddings), rounding half up: 6 -> 4 gives 0:0,1:2,2:3,3:5,4:6."""
    return ",".join(
        f"{i}:{int(i * teacher_layers / student_layers + 0.5)}" for i in range(student_layers + 1)
    )


def pregen(size: QualitySize, corpus: Path, vocab: Path, output: Path, seed: int) -> None:
    from tinyzh.pregen import PregenConfig, run_pregen

    run_pregen(PregenConfig(corpus=[corpus], output=output, tokenizer=str(vocab), max_seq_len=size.pregen_seq_len,
                            epochs=size.pregen_epochs, seed=seed, workers=1))  # fmt: skip


def pretrain(size: QualitySize, vocab: Path, out: Path, seed: int) -> tuple[Path, float]:
    """A blank teacher trained by whole-word masked LM on ``out/pregen``; returns (folder, last loss)."""
    from tinyzh.demo.teacher import pretrain_teacher, save_blank

    teacher = save_blank(out / "teacher-mlm", vocab, size.teacher, size.positions, seed)
    loss = pretrain_teacher(
        out / "pregen", teacher, size.pretrain_steps, size.pretrain_lr, size.batch_size, seed
    )
    return teacher, loss


def student_config(size: QualitySize, vocab: Path, out: Path, pretrained: Path | None) -> Path:
    """The student's ``config.json``: ``size.student`` on the trimmed vocabulary for a scratch teacher;
    ``size.pretrained_student`` inheriting a pretrained teacher's config (vocabulary, special ids,
    positions), as ``tinyzh distill``'s presets do."""
    import json

    from tinyzh.demo.teacher import write_student_config
    from tinyzh.tokenizers.bert_chinese import load_hf_tokenizer

    path = out / "student-config.json"
    if pretrained is None:
        return write_student_config(path, size.student, len(load_hf_tokenizer(str(vocab))), size.positions)
    config = json.loads((pretrained / "config.json").read_text(encoding="utf-8"))
    for key in ("architectures", "_source", "id2label", "label2id", "transformers_version", "dtype", "torch_dtype"):
        config.pop(key, None)
    config.update(size.pretrained_student.config_kwargs())
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
    return path


def distill_general(size: QualitySize, student: Path, teacher: Path, out: Path, seed: int, pairs: str) -> Path:
    from tinyzh.distill import DistillConfig, run_distill

    run_distill(DistillConfig(
        stage="general", data=str(out / "pregen"), output=str(out / "student-general"), teacher=str(teacher),
        student=str(student), layer_map=pairs, max_steps=size.general_steps, batch_size=size.batch_size,
        lr=size.general_lr, seed=seed, workers=0, progress=False, init_from_teacher=size.init_from_teacher,
        attention_loss=size.attention_loss, relation_heads=size.relation_heads,
    ))  # fmt: skip
    return out / "student-general"


def random_student(student: Path, tokenizer: Path, out: Path, seed: int) -> Path:
    """A randomly initialised masked-LM student of ``student``'s config, with ``tokenizer``'s files."""
    import torch
    from transformers import AutoConfig, AutoModelForMaskedLM

    from tinyzh.tokenizers.bert_chinese import load_hf_tokenizer

    torch.manual_seed(seed + 1)
    model = AutoModelForMaskedLM.from_config(AutoConfig.from_pretrained(str(student)))
    model.save_pretrained(str(out / "student-random"))
    load_hf_tokenizer(str(tokenizer)).save_pretrained(out / "student-random")
    return out / "student-random"


def finetune(
    size: QualitySize,
    models: dict[str, Path],
    data_dir: Path,
    output: Path,
    lr: float,
    epochs: dict[str, float],
    seed: int,
    save: bool,
) -> dict[tuple[str, str], Any]:
    """``tinyzh eval`` (``--save-models`` when ``save``) of ``models`` on ``data_dir/<task>/train.json``,
    one call per task (each task has its own epochs); ``{(model, task): PairResult}``."""
    from tinyzh.evaluate.config import EvalConfig, ModelSpec
    from tinyzh.evaluate.runner import run_eval

    specs = [ModelSpec(name, str(path)) for name, path in models.items()]
    results = {}
    for task in TASKS:
        summary = run_eval(EvalConfig(
            models=specs, tasks=[task], data_dir=data_dir, output=output, epochs=epochs[task], lr=lr,
            batch_size=size.batch_size, max_seq_len=size.max_seq_len, save_models=save, seed=seed,
        ))  # fmt: skip
        results.update({(r.model, r.task): r for r in summary.results})
    return results


def student_passes(size: QualitySize) -> dict[str, float]:
    """Passes over the augmented set the distilled student makes (two steps of ``task_epochs``): the
    baselines' budget, so they train on the same data for as long."""
    return {task: 2.0 * size.task_epochs[task] for task in TASKS}


def augmented_task_dir(data_dir: Path, augmented: dict[str, Path], output: Path) -> Path:
    """A task folder where each task's train.json is its augmented set and dev.json the usual dev set.

    Kept apart from the augment outputs on purpose: ``distill --stage task`` picks a checkpoint on a
    dev.json lying beside its data, and the reported dev set must not choose any model.
    """
    for task, path in augmented.items():
        (output / task).mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, output / task / "train.json")
        shutil.copyfile(data_dir / task / "dev.json", output / task / "dev.json")
    return output


def augment(
    size: QualitySize,
    task: str,
    teacher: Path,
    data_dir: Path,
    synonyms: Path | None,
    output: Path,
    seed: int,
) -> Any:
    """Synonym replacement (HIT Cilin when ``synonyms`` is given) of the task's training set."""
    from tinyzh.augment.config import AugmentConfig
    from tinyzh.augment.runner import run_augment

    output.parent.mkdir(parents=True, exist_ok=True)
    return run_augment(AugmentConfig(
        task=task, input=data_dir / task / "train.json", output=output, augmenters=("synonym",),
        num_aug=size.num_aug[task], synonyms=synonyms, teacher=str(teacher), seed=seed, workers=1, overwrite=True,
    ))  # fmt: skip


def distill_task(
    size: QualitySize,
    task: str,
    teacher_ft: Path,
    general: Path,
    data: Path,
    output: Path,
    seed: int,
    pairs: str,
) -> Any:
    """``distill --stage task --step both``: intermediate layers, then predictions, on ``data``.

    No ``--dev``: the student is the model at the end of training, like the baselines, so the dev set
    the table reports never picks a checkpoint (``data``'s folder holds no dev.json either).
    """
    from tinyzh.distill import DistillConfig, run_distill

    return run_distill(DistillConfig(
        stage="task", task=task, data=str(data), output=str(output), teacher=str(teacher_ft),
        student=str(general), layer_map=pairs, epochs=size.task_epochs[task], batch_size=size.batch_size,
        max_seq_len=size.max_seq_len, lr=size.task_lr, seed=seed, workers=0, progress=False,
        attention_loss=size.attention_loss, relation_heads=size.relation_heads,
    ))  # fmt: skip


def score(
    models: dict[str, Path], data_dir: Path, output: Path, size: QualitySize, seed: int
) -> dict[tuple[str, str], Any]:
    """``tinyzh eval --no-train`` of already fine-tuned models (``PATH/<task>/``) on both dev sets."""
    from tinyzh.evaluate.config import EvalConfig, ModelSpec
    from tinyzh.evaluate.runner import run_eval

    specs = [ModelSpec(name, str(path)) for name, path in models.items()]
    summary = run_eval(EvalConfig(models=specs, tasks=list(TASKS), data_dir=data_dir, output=output, no_train=True,
                                  max_seq_len=size.max_seq_len, seed=seed))  # fmt: skip
    return {(r.model, r.task): r for r in summary.results}


def speed(model_dir: Path, task_name: str, dev: Path, max_len: int, examples: int) -> dict[str, float]:
    """CPU inference examples/s at batch 1 (``examples`` dev rows) and batch 32 (8 batches), no_grad.

    Each batch is padded to its longest row (as ``tinyzh eval`` does); tokenisation is not timed.
    """
    import torch

    from tinyzh import plugins
    from tinyzh.evaluate.finetune import load_classifier
    from tinyzh.tasks.data import load_split
    from tinyzh.tasks.features import encode_examples, inputs_of
    from tinyzh.tokenizers.bert_chinese import load_hf_tokenizer

    task = plugins.get_task(task_name)
    model = load_classifier(str(model_dir), task, trained=True).eval()
    tokenizer = load_hf_tokenizer(str(model_dir))
    rows = load_split(dev, task, "dev", max(examples, 8 * 32))
    result = {}
    for batch_size, count in ((1, examples), (32, 8 * 32)):
        batches = [encode_examples(tokenizer, task, rows[i : i + batch_size], max_len)
                   for i in range(0, min(count, len(rows)), batch_size)]  # fmt: skip
        with torch.inference_mode():
            model(**inputs_of(batches[0]))  # warm-up
            start = time.perf_counter()
            for batch in batches:
                model(**inputs_of(batch))
            seconds = time.perf_counter() - start
        result[f"batch_{batch_size}"] = round(sum(len(b["labels"]) for b in batches) / seconds, 1)
    return result


def disk_bytes(model_dir: Path) -> int:
    """Weight files of a checkpoint (safetensors or .bin)."""
    return sum(p.stat().st_size for pattern in ("*.safetensors", "*.bin") for p in model_dir.glob(pattern))
