"""The stages of a recipe, each built into a :class:`StagePlan`: its command's config, outputs and run.

Stages are wired in ``STAGES`` order through a :class:`Wiring` that each stage updates (``pregen``
sets where the instances are, ``pretrain`` replaces the teacher, ``finetune`` gives the task teacher…).
Every config is built here, before anything runs, so a bad value in any stage stops the run at once.
The work itself goes through the commands' library calls (``run_pregen``, ``run_distill``,
``run_augment``, ``run_eval``); ``data``, ``vocab`` and ``pretrain`` are the demo's own steps (copy the
bundled data, a character vocabulary, masked-LM pre-training of a small teacher from scratch).
"""

from __future__ import annotations

import dataclasses
import glob
import shlex
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from tinyzh.augment.config import AugmentConfig
from tinyzh.config import STUDENT_PRESETS, BertShape, CommandConfig
from tinyzh.distill.config import DistillConfig
from tinyzh.errors import ConfigError, TinyzhError
from tinyzh.evaluate.config import EvalConfig, ModelSpec
from tinyzh.pregen.config import PregenConfig
from tinyzh.recipe.commands import config_command
from tinyzh.recipe.schema import Recipe
from tinyzh.report import Reporter, parse_report_to

_EVAL_WIRED = {"models": "the models of the earlier stages", "tasks": "the top-level task",
               "data_dir": "the top-level data_dir", "output": "OUTPUT/<stage>", "no_train": "the stage",
               "save_models": "the stage", "force": "the stage", "extra": "nothing"}
_DISTILL_WIRED = {"stage": "the stage", "data": "the earlier stages", "output": "OUTPUT/<stage>",
                  "teacher": "the top-level teacher or task_teacher, or an earlier stage", "task": "the top-level task",
                  "dev": "the task's dev file", "resume": "the runner (it resumes)", "student": "the earlier stages"}
WIRED: dict[str, dict[str, str]] = {
    "pregen": {"corpus": "the top-level corpus or [data]", "output": "OUTPUT/pregen", "overwrite": "the runner",
               "extra": "nothing"},
    "finetune": _EVAL_WIRED,
    "distill_general": {k: v for k, v in _DISTILL_WIRED.items() if k != "step"},
    "augment": {"task": "the top-level task", "input": "the task's train file", "output": "OUTPUT/augment",
                "teacher": "the top-level teacher or [pretrain]", "overwrite": "the runner", "extra": "nothing"},
    "distill_task": _DISTILL_WIRED,
    "eval": _EVAL_WIRED,
}
_TEACHER_KEYS = {"layers", "hidden", "heads", "intermediate", "steps", "lr", "batch_size", "dropout"}
STAGE_KEYS: dict[str, set[str]] = {
    "data": {"source", "max_documents", "max_train", "max_dev", "max_unlabeled"},
    "vocab": set(),
    "pregen": {f.name for f in fields(PregenConfig)} - set(WIRED["pregen"]),
    "pretrain": _TEACHER_KEYS,
    "finetune": ({f.name for f in fields(EvalConfig)} - set(_EVAL_WIRED)) | {"baseline"},
    "distill_general": {f.name for f in fields(DistillConfig)} - set(WIRED["distill_general"]) - {"step"},
    "augment": ({f.name for f in fields(AugmentConfig)} - set(WIRED["augment"])) | {"unlabeled"},
    "distill_task": ({f.name for f in fields(DistillConfig)} - set(_DISTILL_WIRED)) | {"select_on_dev", "unlabeled"},
    "eval": {f.name for f in fields(EvalConfig)} - set(_EVAL_WIRED),
}
WHAT = {
    "data": "copy the bundled demo corpus and task",
    "vocab": "a character vocabulary of the corpus and task",
    "pregen": "whole-word-masked pre-training instances (tinyzh pregen)",
    "pretrain": "masked-LM pre-training of a small teacher from scratch",
    "finetune": "fine-tune the teacher on the task (tinyzh eval --save-models)",
    "distill_general": "general distillation (tinyzh distill --stage general)",
    "augment": "augment the task's training set (tinyzh augment)",
    "distill_task": "task distillation (tinyzh distill --stage task)",
    "eval": "score the models on the dev set (tinyzh eval --no-train)",
}


@dataclass
class StagePlan:
    """One stage, ready to run: what it is, where it writes, the settings that decide its output."""

    name: str
    what: str
    outputs: list[Path]
    settings: dict[str, Any]
    run: Callable[[Reporter], dict[str, Any]]
    config: CommandConfig | None = None  # the command's config, for the equivalent command line
    inputs: list[Path] = field(default_factory=list)  # user files whose size and time go into the fingerprint
    shell_before: str = ""  # a shell step the stage does before its command (the dry run prints it)
    shell_after: str = ""  # ... and one after it


@dataclass
class Wiring:
    """What the stages so far have made, for the next ones to use."""

    out: Path
    seed: int
    teacher: str
    tokenizer: str | None
    student: str | BertShape
    corpus: list[Path]
    task: str | None
    data_dir: Path | None
    max_seq_len: int | None
    threads: int | None
    pregen: Path | None = None
    pregen_len: int = 0  # tokens per pre-training instance
    task_teacher: str | None = None
    baseline: Path | None = None
    general: Path | None = None
    task_data: Path | None = None
    task_unlabeled: Path | None = None  # [augment] unlabeled = true: the unlabelled rows and their copies
    student_task: Path | None = None


def build_plans(recipe: Recipe) -> list[StagePlan]:
    """Every enabled stage's plan, in order; a bad key value is a ``ConfigError`` naming it."""
    wiring = _wiring(recipe)
    plans = []
    for name in recipe.stages:
        try:
            plans.append(BUILDERS[name](recipe, recipe.stage(name), wiring))
        except ConfigError as exc:
            if str(exc).startswith(str(recipe.path)):
                raise
            raise recipe.error(str(exc), name, _key_of(str(exc), recipe.stage(name))) from None
    return plans


def _key_of(message: str, table: dict[str, Any]) -> str | None:
    """The stage key a config's message is about (``--max-steps`` -> ``max_steps``), when it names one."""
    for key in table:
        if f"--{key.replace('_', '-')}" in message or key in message.split():
            return key
    return None


def _wiring(recipe: Recipe) -> Wiring:
    out = recipe.get("output")
    if not out:
        raise recipe.error("required: the run's folder (give it in the recipe or with --output)", None, "output")
    try:
        parse_report_to(recipe.get("report_to"))
    except ConfigError as exc:
        raise recipe.error(str(exc), None, "report_to") from None
    corpus = recipe.get("corpus", [])
    corpus = [corpus] if isinstance(corpus, str) else list(corpus)
    paths = []
    for pattern in corpus:
        matched = sorted(glob.glob(str(pattern)))
        paths += [Path(p) for p in matched] or [Path(pattern)]
    student = recipe.shape() or recipe.get("student", "tinybert-4")
    teacher = str(recipe.get("teacher", "bert-base-chinese"))
    data_dir = recipe.get("data_dir")
    return Wiring(Path(out), int(recipe.get("seed", 0)), teacher, recipe.get("tokenizer"), student, paths,
                  recipe.get("task"), Path(data_dir) if data_dir else None, recipe.get("max_seq_len"),
                  recipe.get("threads"), task_teacher=recipe.get("task_teacher"))


def _need(recipe: Recipe, stage: str, value: Any, key: str, why: str) -> Any:
    if value in (None, "", []):
        raise recipe.error(f"[{stage}] needs the top-level key {key}: {why}", None, key)
    return value


def _build(cls: type, table: dict[str, Any], **wired: Any) -> Any:
    try:
        return cls(**{**wired, **table})
    except TypeError as exc:  # a value of the wrong type that the config's checks compare
        raise ConfigError(f"a value has the wrong type ({exc})") from None


# --------------------------------------------------------------------------- data, vocab, pretrain
def _data(recipe: Recipe, table: dict[str, Any], w: Wiring) -> StagePlan:
    from tinyzh.recipe.demo_steps import copy_demo_data

    if table.get("source", "demo") != "demo":
        raise recipe.error(f"unknown source {table['source']!r}; the only bundled data is 'demo'", "data", "source")
    target = w.out / "data"
    limits = {k: table.get(k) for k in ("max_documents", "max_train", "max_dev", "max_unlabeled")}
    w.corpus, w.data_dir, w.task = [target / "demo_corpus.txt"], target, w.task or "demo-products"
    settings = {"source": "demo", **{k: v for k, v in limits.items() if k != "max_unlabeled" or v is not None}}
    return StagePlan("data", WHAT["data"], [target], settings,  # a key added later only when set: old runs match
                     lambda reporter: copy_demo_data(target, **limits))


def _vocab(recipe: Recipe, table: dict[str, Any], w: Wiring) -> StagePlan:
    from tinyzh.recipe.demo_steps import build_vocab

    target, corpus, data_dir, task = w.out / "vocab", list(w.corpus), w.data_dir, w.task
    _need(recipe, "vocab", corpus, "corpus", "the text the vocabulary is built from")
    w.tokenizer = str(target)
    return StagePlan("vocab", WHAT["vocab"], [target], {"corpus": [str(p) for p in corpus], "task": task},
                     lambda reporter: build_vocab(target, corpus, data_dir, task),
                     inputs=[p for p in corpus if p.is_file() and w.out not in p.parents])


def _pregen(recipe: Recipe, table: dict[str, Any], w: Wiring) -> StagePlan:
    from tinyzh.pregen import run_pregen

    _need(recipe, "pregen", w.corpus, "corpus", "the text files to pre-generate from")
    config = _build(PregenConfig, table, corpus=list(w.corpus), output=w.out / "pregen",
                    tokenizer=w.tokenizer or w.teacher, seed=w.seed)
    w.pregen, w.pregen_len = config.output, config.max_seq_len

    def run(reporter: Reporter) -> dict[str, Any]:
        manifest = run_pregen(config, reporter)
        return {"instances": manifest["num_instances"], "documents": manifest["corpus"]["documents"]}

    return StagePlan("pregen", WHAT["pregen"], [config.output], config.identity(), run, config,
                     inputs=[p for p in config.corpus if p.is_file() and w.out not in p.parents])


def _pretrain(recipe: Recipe, table: dict[str, Any], w: Wiring) -> StagePlan:
    from tinyzh.recipe.demo_steps import pretrain

    if w.pregen is None:
        raise recipe.error("needs [pregen]: the teacher is pre-trained on its instances", "pretrain", None)
    shape = BertShape(*(table.get(k, d) for k, d in zip(("layers", "hidden", "heads", "intermediate"),
                                                           (4, 128, 4, 512), strict=True)))
    settings = {"shape": dataclasses.asdict(shape), "steps": table.get("steps", 300), "lr": table.get("lr", 5e-4),
                "batch_size": table.get("batch_size", 32), "max_seq_len": w.max_seq_len or 128, "seed": w.seed,
                "tokenizer": w.tokenizer or w.teacher, "dropout": table.get("dropout")}
    if settings["dropout"] is None:
        del settings["dropout"]  # unset: the settings (and fingerprint) of runs made before the key
    elif isinstance(settings["dropout"], bool) or not (isinstance(settings["dropout"], (int, float))
                                                      and 0 <= settings["dropout"] < 1):
        raise recipe.error(f"expected a dropout probability in [0, 1), got {settings['dropout']!r}", "pretrain",
                           "dropout")
    if w.pregen_len > settings["max_seq_len"]:
        raise recipe.error(f"the teacher's {settings['max_seq_len']} positions are fewer than [pregen] max_seq_len "
                           f"{w.pregen_len}; raise max_seq_len or lower [pregen] max_seq_len", None, "max_seq_len")
    target, pregen = w.out / "teacher-mlm", w.pregen
    w.teacher = str(target)
    return StagePlan("pretrain", WHAT["pretrain"], [target], settings,
                     lambda reporter: pretrain(target, pregen, shape, settings, reporter))


# --------------------------------------------------------------------------- the commands
def _task_dir(w: Wiring) -> Path:
    """The task's folder: found now when the data exists, else where ``[data]`` will write it."""
    from tinyzh.plugins import get_task
    from tinyzh.tasks.data import find_task_dir

    task = get_task(w.task or "")
    assert w.data_dir is not None
    if w.data_dir.is_dir():
        return find_task_dir(w.data_dir, task)
    return w.data_dir / task.dir_names[0]


def _finetune(recipe: Recipe, table: dict[str, Any], w: Wiring) -> StagePlan:
    from tinyzh.evaluate.runner import run_eval
    from tinyzh.recipe.demo_steps import save_baseline

    _need(recipe, "finetune", w.task, "task", "the task to fine-tune on")
    _need(recipe, "finetune", w.data_dir, "data_dir", "the folder holding the task's files")
    options = {k: v for k, v in table.items() if k != "baseline"}
    models = [ModelSpec("teacher", w.teacher)]
    blank = w.out / "baseline-init"
    if table.get("baseline"):
        models.append(ModelSpec("baseline", str(blank)))
    config = _build(EvalConfig, options, models=models, tasks=[w.task], data_dir=w.data_dir,
                    output=w.out / "finetune", save_models=True, seed=w.seed, threads=w.threads,
                    max_seq_len=w.max_seq_len)
    w.task_teacher = str(config.output / "teacher" / "models" / w.task)
    w.baseline = config.output / "baseline" / "models" / w.task if table.get("baseline") else None
    shape = _student_shape(recipe, w) if table.get("baseline") else None
    tokenizer, positions, seed = w.tokenizer or w.teacher, w.max_seq_len, w.seed

    def run(reporter: Reporter) -> dict[str, Any]:
        if shape is not None:
            save_baseline(blank, tokenizer, shape, positions or 128, seed + 1)
        summary = run_eval(config, reporter)
        return {"dev": {m.name: summary.get(m.name, w.task).dev_score for m in config.models}}

    outputs = [config.output, blank] if table.get("baseline") else [config.output]  # no blank: nothing to find
    return StagePlan("finetune", WHAT["finetune"], outputs,
                     {**config.identity(), "baseline": bool(table.get("baseline"))}, run, config)


def _student_shape(recipe: Recipe, w: Wiring) -> BertShape:
    if isinstance(w.student, BertShape):
        return w.student
    if w.student in STUDENT_PRESETS:
        return STUDENT_PRESETS[w.student]
    raise recipe.error("needs a student shape (a preset name or a [student] table) to build the baseline from",
                       "finetune", "baseline")


def _distill_general(recipe: Recipe, table: dict[str, Any], w: Wiring) -> StagePlan:
    from tinyzh.recipe.demo_steps import write_student_config

    if w.pregen is None:
        raise recipe.error("needs [pregen]: general distillation reads its instances", "distill_general", None)
    shape = w.student if isinstance(w.student, BertShape) else None
    student = str(w.out / "student-config.json") if shape else str(w.student)
    config = _build(DistillConfig, table, stage="general", data=str(w.pregen), output=str(w.out / "student-general"),
                    teacher=w.teacher, student=student, seed=w.seed)
    w.general = Path(config.output)
    teacher, positions = w.teacher, w.max_seq_len or 128

    def run(reporter: Reporter) -> dict[str, Any]:
        if shape is not None:
            write_student_config(Path(student), shape, teacher, positions)
        return _distill(config, reporter)

    settings = {**config.identity(), "student_shape": dataclasses.asdict(shape) if shape else None}
    return StagePlan("distill_general", WHAT["distill_general"], [Path(config.output), Path(student)] if shape
                     else [Path(config.output)], settings, run, config)


def _distill(config: DistillConfig, reporter: Reporter) -> dict[str, Any]:
    from tinyzh.distill import run_distill

    results = run_distill(config, reporter)
    if not all(r.finished for r in results):
        raise TinyzhError(f"distillation into {config.output} stopped before the end; rerun to continue")
    last = results[-1]
    return {"steps": last.steps, "loss": last.final_loss, "dev_accuracy": last.best_dev_accuracy}


def _augment(recipe: Recipe, table: dict[str, Any], w: Wiring) -> StagePlan:
    from tinyzh.augment.runner import run_augment

    _need(recipe, "augment", w.task, "task", "the task whose training set is augmented")
    _need(recipe, "augment", w.data_dir, "data_dir", "the folder holding the task's files")
    _check_switches(recipe, "augment", table, ("unlabeled",))
    source = _task_dir(w) / "train.json"
    options = {k: v for k, v in table.items() if k != "unlabeled"}
    config = _build(AugmentConfig, options, task=w.task, input=source, output=w.out / "augment" / "train.json",
                    teacher=w.teacher, seed=w.seed, vocab=table.get("vocab", w.teacher))
    w.task_data = config.output
    rows = _unlabeled_copies(recipe, config, w) if table.get("unlabeled") else None

    def run(reporter: Reporter) -> dict[str, Any]:
        if rows is not None:  # before the train set's augmentation, which may take long
            _check_unlabeled(rows.input, recipe, "augment")
        config.output.parent.mkdir(parents=True, exist_ok=True)
        summary = run_augment(config, reporter)
        done = {"examples": summary.stats.examples_in, "records": summary.stats.records_out}
        if rows is not None:
            extra = run_augment(rows, reporter)
            done |= {"unlabeled_examples": extra.stats.examples_in, "unlabeled_records": extra.stats.records_out}
        return done

    sources = [source] + ([rows.input] if rows is not None else [])
    return StagePlan("augment", WHAT["augment"], [config.output.parent],
                     {**config.identity(), **({"unlabeled": str(rows.input)} if rows else {})}, run, config,
                     inputs=[p for p in sources if w.out not in p.parents],
                     shell_after=config_command(rows) if rows else "")


def _unlabeled_copies(recipe: Recipe, config: AugmentConfig, w: Wiring) -> AugmentConfig:
    """[augment] unlabeled = true: the task's unlabelled rows get copies too (augment --allow-unlabeled),
    and distill_task's unlabelled rows are then these. Not balanced: balancing keeps label proportions."""
    if not (recipe.has("distill_task") and recipe.stage("distill_task").get("unlabeled")):
        raise recipe.error("copies of the unlabelled rows are for task distillation; it needs an enabled "
                           "[distill_task] with unlabeled = true, or drop this", "augment", "unlabeled")
    rows = config.replace(input=_task_dir(w) / UNLABELED_FILE, output=config.output.parent / UNLABELED_FILE,
                          split="test", balance=False)
    if w.data_dir is not None and w.data_dir.is_dir():  # else an earlier stage ([data]) writes it
        _check_unlabeled(rows.input, recipe, "augment")
    w.task_unlabeled = rows.output
    return rows


def _distill_task(recipe: Recipe, table: dict[str, Any], w: Wiring) -> StagePlan:
    _need(recipe, "distill_task", w.task, "task", "the task to distil")
    _need(recipe, "distill_task", w.data_dir, "data_dir", "the folder holding the task's files")
    _check_switches(recipe, "distill_task", table, ("select_on_dev", "unlabeled"))
    task_dir = _task_dir(w)
    student = str(w.general) if w.general else str(w.student)
    options = {k: v for k, v in table.items() if k not in ("select_on_dev", "unlabeled")}
    dev = str(task_dir / "dev.json") if table.get("select_on_dev", True) else None  # keep the best on dev
    labelled = w.task_data or task_dir / "train.json"
    unlabeled = (w.task_unlabeled or task_dir / UNLABELED_FILE) if table.get("unlabeled") else None
    if unlabeled is not None and w.task_unlabeled is None and task_dir.is_dir():  # else an earlier stage writes it
        _check_unlabeled(unlabeled, recipe)
    data = w.out / "distill-data" / "train.json" if unlabeled else labelled
    config = _build(DistillConfig, options, stage="task", task=w.task, data=str(data), dev=dev,
                    output=str(w.out / "student"), teacher=w.task_teacher or w.teacher,
                    student=student, seed=w.seed, max_seq_len=w.max_seq_len)
    w.student_task = Path(config.output)

    def run(reporter: Reporter) -> dict[str, Any]:
        if unlabeled is not None:
            _check_unlabeled(unlabeled, recipe)
            _join_lines(data, [labelled, unlabeled])
        return _distill(config, reporter)

    outputs = [Path(config.output)] + ([data.parent] if unlabeled else [])
    # As _join_lines: ``awk 1`` ends each file's last line with a newline where ``cat`` would glue two rows
    join = f"mkdir -p {shlex.quote(str(data.parent))} && awk 1 {shlex.quote(str(labelled))} " \
           f"{shlex.quote(str(unlabeled))} > {shlex.quote(str(data))}" if unlabeled else ""
    return StagePlan("distill_task", WHAT["distill_task"], outputs,
                     {**config.identity(), **({"unlabeled": str(unlabeled)} if unlabeled else {})}, run, config,
                     inputs=[unlabeled] if unlabeled and w.out not in unlabeled.parents else [], shell_before=join)


def _check_switches(recipe: Recipe, stage: str, table: dict[str, Any], keys: tuple[str, ...]) -> None:
    for key in keys:  # read as switches: "no" would count as true
        if not isinstance(table.get(key, False), bool):
            raise recipe.error(f"{key} must be true or false, got {table[key]!r}", stage, key)


UNLABELED_FILE = "unlabeled.json"  # FewCLUE's name for a task's rows without a label


def _check_unlabeled(path: Path, recipe: Recipe, stage: str = "distill_task") -> None:
    if not path.is_file():
        raise recipe.error(f"no such file: {path}; the task folder needs an unlabeled.json (FewCLUE's name for rows "
                           "without a label, one JSON object a line), or set unlabeled = false", stage, "unlabeled")


def _join_lines(target: Path, sources: list[Path]) -> None:
    """``target``: the JSON lines of ``sources`` one after the other (the task rows, then the unlabelled)."""
    from tinyzh.io import write_atomic

    text = "".join(p.read_text(encoding="utf-8").rstrip("\n") + "\n" for p in sources)
    target.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(target, text)


def _eval(recipe: Recipe, table: dict[str, Any], w: Wiring) -> StagePlan:
    from tinyzh.evaluate.runner import run_eval

    _need(recipe, "eval", w.task, "task", "the task to score on")
    _need(recipe, "eval", w.data_dir, "data_dir", "the folder holding the task's files")
    models = []
    if w.task_teacher or not w.student_task:
        models.append(ModelSpec("teacher", w.task_teacher or w.teacher))
    if w.student_task:
        models.insert(0, ModelSpec("student", str(w.student_task)))
    if w.baseline:
        models.append(ModelSpec("baseline", str(w.baseline)))
    config = _build(EvalConfig, table, models=models, tasks=[w.task], data_dir=w.data_dir, output=w.out / "eval",
                    no_train=True, seed=w.seed, threads=w.threads, max_seq_len=w.max_seq_len)

    def run(reporter: Reporter) -> dict[str, Any]:
        summary = run_eval(config, reporter)
        return {"models": [_model_row(m, summary.get(m.name, w.task or "")) for m in config.models]}

    return StagePlan("eval", WHAT["eval"], [config.output], config.identity(), run, config)


def _model_row(spec: ModelSpec, result: Any) -> dict[str, Any]:
    path = Path(spec.path)
    return {"name": spec.name, "path": spec.path, "parameters": result.parameters,
            "size_bytes": sum(p.stat().st_size for p in path.glob("*.safetensors")),
            "examples_per_s": result.examples_per_s, "metric": result.metric, "dev_score": result.dev_score}


BUILDERS: dict[str, Callable[[Recipe, dict[str, Any], Wiring], StagePlan]] = {
    "data": _data, "vocab": _vocab, "pregen": _pregen, "pretrain": _pretrain, "finetune": _finetune,
    "distill_general": _distill_general, "augment": _augment, "distill_task": _distill_task, "eval": _eval,
}
