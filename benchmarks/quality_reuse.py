"""``--reuse RUN_DIR``: take what an earlier ``benchmarks/quality.py`` run made instead of making it again.

Always reused: the fine-tuned teachers ``RUN_DIR/<task>/finetune/teacher/models/<task>`` and their dev
scores as fine-tuned there (``…/teacher/pairs/<task>.json``); with the scratch teacher also its
masked-LM teacher (``RUN_DIR/<first task>/teacher-mlm``) for general distillation. The recipe then runs
with ``finetune.enabled=false`` and ``task_teacher`` set to the reused teacher (``quality_stages``).
With ``--only baselines`` only the run's augmented sets and general student, which the baselines train on.

The earlier run must have the same teacher, data, size and the settings that made what is reused
(``TEACHER_SETTINGS``…); its seed may differ (the report says which it was). A run that itself reused
teachers passes on where they came from, along a chain of any length. Usage::

    reused = load_reused(config)        # ConfigError when the reuse would be wrong
    reused.task_teacher("tnews")
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from quality_setup import TASKS, QualityConfig

from tinyzh.errors import ConfigError

# QualitySize fields that decide the fine-tuned teachers (either teacher)
TEACHER_SETTINGS = ("max_seq_len", "batch_size", "max_train", "max_dev")
SCRATCH_SETTINGS = ("teacher", "positions", "corpus_chars", "pregen_seq_len", "pregen_epochs", "pretrain_steps",
                    "pretrain_lr", "finetune_epochs", "teacher_lr")  # fmt: skip
PRETRAINED_SETTINGS = ("pretrained_finetune_epochs", "pretrained_teacher_lr")
# ... and those that decide the augmented sets and the general student (--only baselines)
STUDENT_SETTINGS = ("corpus_chars", "pregen_seq_len", "pregen_epochs", "general_steps", "general_lr", "num_aug",
                    "student", "pretrained_student", "init_from_teacher", "attention_loss", "relation_heads",
                    "hidden_loss")  # fmt: skip


@dataclass(frozen=True)
class Reused:
    """The earlier run's pieces this run takes; ``teachers`` is where its fine-tuned teachers are."""

    run: Path  # the --reuse folder
    seed: int
    teachers: Path  # run, or the run it reused its teachers from
    first: Path  # the teachers' run's first task folder (its masked-LM teacher)
    general_first: Path  # run's first task folder (its general student and student-config.json)
    baselines: bool  # --only baselines: the augmented sets and general student are reused, no teacher
    scratch: bool = False  # the masked-LM teacher is reused too
    teachers_seed: int = 0  # the seed of the run that fine-tuned the teachers

    def task_teacher(self, task: str) -> Path:
        return self.teachers / task / "finetune" / "teacher" / "models" / task

    def teacher_pairs(self, task: str) -> Path:
        return self.teachers / task / "finetune" / "teacher" / "pairs" / f"{task}.json"

    @property
    def mlm_teacher(self) -> Path:
        return self.first / "teacher-mlm"

    def augmented(self, task: str) -> Path:
        return self.run / task / "augment" / "train.json"

    @property
    def general(self) -> Path:
        return self.general_first / "student-general"

    def mlm_loss(self) -> float | None:
        """The scratch teacher's last masked-LM loss, from the recipe state of the run that trained it."""
        try:
            state = json.loads((self.first / "recipe_state.json").read_text(encoding="utf-8"))
            return round(state["stages"]["pretrain"]["summary"]["loss"], 3)
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def to_dict(self) -> dict[str, Any]:
        parts = (["augmented sets", "general student"] if self.baselines  # the recipe does not run
                 else ["fine-tuned teachers and their dev scores"] + (["masked-LM teacher"] if self.scratch else []))
        return {"from": str(self.run), "seed": self.seed, "teachers_from": str(self.teachers),
                "teachers_seed": self.teachers_seed, "parts": parts}


def load_reused(config: QualityConfig) -> Reused:
    """What ``config.reuse`` holds for this run, checked against ``config``; a ``ConfigError`` naming the
    first setting that differs or the first file that is missing."""
    assert config.reuse is not None
    run = config.reuse
    where = f"--reuse {run}"
    if run.resolve() == config.output.resolve():
        raise ConfigError(f"{where}: that is this run's --work folder, which a run empties first; give the "
                          "earlier run's folder and a new --work")
    earlier = _read_config(run)
    mine = json.loads(json.dumps(config.to_dict()))  # JSON types, as the earlier run's file has them
    for key in ("teacher", "data", "size"):
        if _norm_path(earlier.get(key)) != _norm_path(mine[key]):
            raise ConfigError(f"{where}: its quality_config.json has {key} {earlier.get(key)!r}, this run "
                              f"{mine[key]!r}; reuse needs the same {key} (give --{key} {earlier.get(key)})")
    _check_settings(where, earlier["settings"], mine["settings"], config)
    missing = [t for t in config.tasks if t not in earlier.get("tasks", TASKS)]
    if missing:
        raise ConfigError(f"{where}: that run has no {', '.join(missing)}; give --tasks "
                          f"{','.join(earlier.get('tasks', TASKS))} or fewer")
    reused = _reused(run, earlier, config.only == "baselines", config.pretrained_teacher is None)
    _check_files(where, reused, config)
    return reused


def run_tasks(run: Path) -> tuple[str, ...]:
    """The tasks an earlier run made (all of TASKS when its config predates ``tasks``, or is unreadable:
    :func:`load_reused` then says what is wrong with it)."""
    try:
        return tuple(_read_config(run).get("tasks", TASKS))
    except ConfigError:
        return TASKS


def _read_config(run: Path) -> dict[str, Any]:
    path = run / "quality_config.json"
    try:
        earlier = json.loads(path.read_text(encoding="utf-8"))
    except OSError:
        raise ConfigError(f"--reuse {run}: no {path.name} there; give the --work folder of an earlier "
                          "benchmarks/quality.py run") from None
    except ValueError as exc:
        raise ConfigError(f"--reuse {run}: {path} is not JSON ({exc})") from None
    if not isinstance(earlier, dict) or not isinstance(earlier.get("settings"), dict):
        raise ConfigError(f"--reuse {run}: {path} has no settings; it is not a quality run's config")
    return earlier


def _norm_path(value: Any) -> Any:
    return str(Path(value).resolve()) if isinstance(value, str) and value not in ("scratch", "") else value


def _check_settings(where: str, old: dict[str, Any], new: dict[str, Any], config: QualityConfig) -> None:
    names = TEACHER_SETTINGS + (SCRATCH_SETTINGS if config.pretrained_teacher is None else PRETRAINED_SETTINGS)
    if config.only == "baselines":
        names += STUDENT_SETTINGS
    for name in dict.fromkeys(names):
        before, now = old.get(name), new.get(name)  # a later setting at its default is not recorded
        if isinstance(now, dict) and set(now) >= set(config.tasks) and set(now) <= set(TASKS):
            before = {t: v for t, v in (before or {}).items() if t in config.tasks}  # only this run's tasks
            now = {t: v for t, v in now.items() if t in config.tasks}
        if before != now:
            raise ConfigError(f"{where}: its quality_config.json has {name} {json.dumps(before)}, this run "
                              f"{json.dumps(now)}; what it made would be wrong here (--set {name}=... to match, "
                              "or drop --reuse)")


def _reused(run: Path, earlier: dict[str, Any], baselines: bool, scratch: bool) -> Reused:
    if baselines and earlier.get("only") == "baselines":
        raise ConfigError(f"--reuse {run}: that run made only baselines, no augmented sets or general student; "
                          f"give the run it reused ({earlier.get('reuse')})")
    teachers, origin = _teachers_origin(run, earlier)
    first = teachers / origin.get("tasks", TASKS)[0]
    return Reused(run, int(earlier.get("seed", 0)), teachers, first, run / earlier.get("tasks", TASKS)[0],
                  baselines, scratch, int(origin.get("seed", 0)))


def _teachers_origin(run: Path, earlier: dict[str, Any]) -> tuple[Path, dict[str, Any]]:
    """The run that fine-tuned ``run``'s teachers and its config: ``run`` itself, or the end of its chain of
    ``--reuse`` links (a run that reused passes on where its teachers came from, however many links back)."""
    seen = {run.resolve()}
    while earlier.get("reuse"):
        run = Path(earlier["reuse"])
        if run.resolve() in seen:
            raise ConfigError(f"--reuse {run}: its runs reuse each other in a loop; give the run that fine-tuned "
                              "the teachers")
        seen.add(run.resolve())
        earlier = _read_config(run)
    return run, earlier


def _check_files(where: str, reused: Reused, config: QualityConfig) -> None:
    if reused.baselines:
        needed = [reused.augmented(t) for t in config.tasks] + [reused.general / "config.json"]
        if config.pretrained_teacher is not None:  # the random-init baseline's architecture
            needed.append(reused.general_first / "student-config.json")
    else:
        needed = [p for t in config.tasks for p in (reused.task_teacher(t) / "config.json", reused.teacher_pairs(t))]
        if config.pretrained_teacher is None:
            needed.append(reused.mlm_teacher / "config.json")
    absent = [p for p in needed if not p.is_file()]
    if absent:
        raise ConfigError(f"{where}: {absent[0]} is missing (that run did not get so far); let it finish or give "
                          "another run")
