"""The compression-quality experiment's pieces: the recipe it runs, its baselines and its speed test.

The student is made by the bundled recipe ``quality-best`` (``tinyzh run``'s runner, the code users
run), with this experiment's data, vocabulary and budgets as ``--set`` overrides
(:func:`recipe_overrides`). With a pretrained teacher (the shared e5) the overrides turn the
recipe's ``pretrain`` stage off and name the teacher, whose tokenizer pregen then uses. The baselines
and the speed test are public library calls too (``run_eval``, ``load_classifier``).
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path
from typing import Any

from quality_reuse import Reused
from quality_setup import LATER_KEYS, LATER_STAGES, TASKS, QualitySize, later_settings_set


def layer_map(teacher_layers: int, student_layers: int) -> str:
    """Uniform ``STUDENT:TEACHER`` map (0 = embeddings), rounding half up: 6 -> 4 gives 0:0,1:2,2:3,3:5,4:6."""
    return ",".join(
        f"{i}:{int(i * teacher_layers / student_layers + 0.5)}" for i in range(student_layers + 1)
    )


RECIPE = "quality-best"


def recipe_overrides(size: QualitySize, task: str, data_dir: Path, vocab: Path, synonyms: Path | None,
                     output: Path, seed: int, shared: Path | None = None, pretrained: Path | None = None,
                     reused: Reused | None = None) -> list[str]:
    """``--set`` values that give the ``quality-best`` recipe this run's data and budgets for ``task``.

    ``shared``: the first task's run, whose teacher and general student the later tasks reuse (only
    the task stages run again). ``pretrained``: the teacher's folder when it is not made here.
    ``reused``: an earlier run whose fine-tuned teacher (and masked-LM teacher) this run takes: no
    ``finetune`` (nor ``pretrain``) stage, the recipe's ``task_teacher`` is that teacher.
    """
    values = _teacher_values(size, task, vocab, pretrained)
    shape = size.student if pretrained is None else size.pretrained_student
    mapping = layer_map(teacher_layers(size, pretrained), shape.layers)
    values |= {
        "output": str(output), "seed": seed, "task": task, "data_dir": str(data_dir),
        "corpus": [str(data_dir / "corpus.txt")], "vocab.enabled": False,
        "pregen.max_seq_len": size.pregen_seq_len, "pregen.epochs": size.pregen_epochs,
        "finetune.batch_size": size.batch_size, "finetune.max_seq_len": size.max_seq_len,
        "distill_general.layer_map": mapping, "distill_general.max_steps": size.general_steps,
        "distill_general.lr": size.general_lr, "distill_general.batch_size": size.batch_size,
        "augment.num_aug": size.num_aug[task], "augment.workers": 1,
        "distill_task.layer_map": mapping, "distill_task.epochs": size.task_epochs[task],
        "distill_task.lr": size.task_lr, "distill_task.batch_size": size.batch_size,
        "distill_task.max_seq_len": size.max_seq_len, "eval.max_seq_len": size.max_seq_len,
        "distill_general.init_from_teacher": size.init_from_teacher,
        "distill_general.attention_loss": size.attention_loss, "distill_task.attention_loss": size.attention_loss,
    }  # fmt: skip
    if size.relation_heads is not None:  # TOML has no null: the option's default is left alone
        values["distill_general.relation_heads"] = values["distill_task.relation_heads"] = size.relation_heads
    for name, value in later_settings_set(size).items():  # unset: older runs' stages keep their fingerprints
        for stage in LATER_STAGES[name]:
            values[f"{stage}.{LATER_KEYS.get(name, name)}"] = value
    if synonyms is not None:
        values["augment.synonyms"] = str(synonyms)
    overrides = [f"{key}={json.dumps(value)}" for key, value in values.items()]
    if shared is None:
        overrides.append(f"student={{ layers = {shape.layers}, hidden = {shape.hidden}, heads = {shape.heads}, "
                         f"intermediate = {shape.intermediate} }}")
    else:
        overrides += ["pregen.enabled=false", "distill_general.enabled=false",
                      f"student={json.dumps(str(shared / 'student-general'))}"]
    mlm = reused.mlm_teacher if reused else shared / "teacher-mlm" if shared else None
    if pretrained is None and mlm is not None:  # the masked-LM teacher made earlier, for general distillation
        overrides += ["pretrain.enabled=false", f"teacher={json.dumps(str(mlm))}"]
    if reused is not None:
        overrides += ["finetune.enabled=false", f"task_teacher={json.dumps(str(reused.task_teacher(task)))}"]
    return overrides


def _teacher_values(size: QualitySize, task: str, vocab: Path, pretrained: Path | None) -> dict[str, Any]:
    """The recipe keys that differ between a teacher made here and a pretrained one."""
    if pretrained is not None:  # its own tokenizer (pregen's default) and positions; no masked-LM stage
        return {"teacher": str(pretrained), "max_seq_len": teacher_config(pretrained)["max_position_embeddings"],
                "pretrain.enabled": False, "finetune.epochs": size.pretrained_finetune_epochs[task],
                "finetune.lr": size.pretrained_teacher_lr}  # fmt: skip
    return {
        "tokenizer": str(vocab), "max_seq_len": size.positions,
        "pretrain.layers": size.teacher.layers, "pretrain.hidden": size.teacher.hidden,
        "pretrain.heads": size.teacher.heads, "pretrain.intermediate": size.teacher.intermediate,
        "pretrain.steps": size.pretrain_steps, "pretrain.lr": size.pretrain_lr, "pretrain.batch_size": size.batch_size,
        "finetune.epochs": size.finetune_epochs[task], "finetune.lr": size.teacher_lr,
    }  # fmt: skip


def teacher_config(pretrained: Path) -> dict[str, Any]:
    return json.loads((pretrained / "config.json").read_text(encoding="utf-8"))


def teacher_layers(size: QualitySize, pretrained: Path | None) -> int:
    return size.teacher.layers if pretrained is None else int(teacher_config(pretrained)["num_hidden_layers"])


def random_student(size: QualitySize, vocab: Path, out: Path, seed: int, first: Path,
                   pretrained: Path | None = None) -> Path:
    """The random-init baseline: the distilled student's architecture with fresh weights.

    For a pretrained teacher it is built from the ``student-config.json`` the recipe wrote (the
    teacher's family, special ids and positions) and carries the teacher's tokenizer files.
    """
    from tinyzh.demo.teacher import save_blank

    if pretrained is None:
        return save_blank(out / "student-random", vocab, size.student, size.positions, seed + 1)
    import torch
    from transformers import AutoConfig, AutoModelForMaskedLM

    from tinyzh.hf import load_hf_tokenizer

    torch.manual_seed(seed + 1)
    model = AutoModelForMaskedLM.from_config(AutoConfig.from_pretrained(str(first / "student-config.json")))
    model.save_pretrained(str(out / "student-random"))
    load_hf_tokenizer(str(pretrained)).save_pretrained(str(out / "student-random"))
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
    one call per task of ``epochs`` (each task has its own); ``{(model, task): PairResult}``."""
    from tinyzh.evaluate.config import EvalConfig, ModelSpec
    from tinyzh.evaluate.runner import run_eval

    specs = [ModelSpec(name, str(path)) for name, path in models.items()]
    results = {}
    for task in epochs:
        summary = run_eval(EvalConfig(
            models=specs, tasks=[task], data_dir=data_dir, output=output, epochs=epochs[task], lr=lr,
            batch_size=size.batch_size, max_seq_len=size.max_seq_len, save_models=save, seed=seed,
        ))  # fmt: skip
        results.update({(r.model, r.task): r for r in summary.results})
    return results


def student_passes(size: QualitySize, tasks: tuple[str, ...] = TASKS) -> dict[str, float]:
    """Passes over the augmented set the distilled student makes (the intermediate step's ``task_epochs``
    and the prediction step's, ``prediction_epochs`` when set): the baselines' budget, so they train on
    the same data for as long."""
    return {task: float(size.task_epochs[task] + (size.prediction_epochs or size.task_epochs[task]))
            for task in tasks}


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


def speed(model_dir: Path, task_name: str, dev: Path, max_len: int, examples: int) -> dict[str, float]:
    """CPU inference examples/s at batch 1 (``examples`` dev rows) and batch 32 (8 batches), no_grad.

    Each batch is padded to its longest row (as ``tinyzh eval`` does); tokenisation is not timed.
    """
    import torch

    from tinyzh import plugins
    from tinyzh.evaluate.finetune import load_classifier
    from tinyzh.hf import load_hf_tokenizer
    from tinyzh.tasks.data import load_split
    from tinyzh.tasks.features import encode_examples, inputs_of

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
