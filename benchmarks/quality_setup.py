"""Settings and data of the compression-quality experiment (``benchmarks/quality.py``).

``QualitySize`` holds every budget (model shapes, steps, epochs, learning rates); ``SIZES`` has
``tiny`` (the test suite: seconds, numbers meaningless), ``default`` (the documented run, ~40 min on
2 CPU cores) and ``large`` (the issue's 6-layer/384 teacher; about 2.5 h on 2 cores, not run here).

Teacher (``QualityConfig.teacher``): ``auto`` (the default) is the shared pretrained encoder
``models/multilingual-e5-small-zh`` when ``--data`` holds it, else ``scratch``; ``scratch`` is a blank
BERT pre-trained here by masked LM (``QualitySize.teacher``); any other value is a checkpoint folder.
A pretrained teacher keeps its own tokenizer, skips the masked-LM pre-training stage, is fine-tuned
with ``pretrained_teacher_lr`` / ``pretrained_finetune_epochs``, and its student has the shape
``pretrained_student`` in the teacher's family (vocabulary, special ids, positions).

Data (``prepare_data``), all derived from ``--data`` (the layout of ``../shared/data``)::

    OUT/data/corpus.txt          documents of corpus/*.txt, interleaved, cut at corpus_chars
    OUT/data/tnews/train.json    FewCLUE train.json + test_public.json (1185 + 2010 labelled rows)
    OUT/data/tnews/dev.json      FewCLUE dev.json (1098 rows): the reported accuracy
    OUT/data/ocnli/train.json    the official 10k train.json
    OUT/data/ocnli/dev.json      dev.json (3k rows): the reported accuracy
    OUT/data/iflytek/train.json  FewCLUE train.json + test_public.json (3024 + 1749 labelled rows, 119 classes)
    OUT/data/iflytek/dev.json    FewCLUE dev.json (1373 rows): the reported accuracy
    OUT/vocab/vocab.txt          bert-base-chinese's vocabulary, cut to the tokens the data can use
    OUT/data/<task>/unlabeled.json   with ``--set unlabeled=true`` only: the task's test.json (FewCLUE's
                                 test / OCNLI's test, no labels), label keys dropped, less the rows whose text is a dev text.
                                 Written after the vocabulary is cut, so it leaves the vocabulary as it was

``write_synthetic_data`` builds a folder of the same layout from tinyzh's bundled demo data, so the
tiny setting (and its test) runs without ``../shared/data``.
"""

from __future__ import annotations

import json
import string
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from tinyzh.chinese import SPECIAL_TOKENS
from tinyzh.config import BertShape
from tinyzh.errors import ConfigError
from tinyzh.recipe.stages import UNLABELED_FILE

TASKS = ("tnews", "ocnli", "iflytek")
VOCAB = Path("vocab/bert-base-chinese/vocab.txt")
PRETRAINED = Path("models/multilingual-e5-small-zh")
TEACHERS = ("auto", "scratch")  # or a checkpoint folder
# --only: everything; the recipe (teacher and student) without the baselines; the baselines alone, on the
# augmented sets and general student of the --reuse run (another seed of them, cheaply)
ONLY = ("all", "recipe", "baselines")
BASELINES = ("general", "random")  # (b) the general-distilled student fine-tuned, (a) random weights fine-tuned


@dataclass(frozen=True)
class QualitySize:
    """Budgets of one setting. Teacher and student share the head count (TinyBERT's attention loss
    compares heads one to one)."""

    teacher: BertShape
    student: BertShape
    max_seq_len: int = 64  # task examples; OCNLI pairs longer than this are truncated (~10 %)
    positions: int = 128  # position embeddings of both models
    corpus_chars: int = 1_500_000  # corpus text kept for pregen (characters)
    pregen_seq_len: int = 64
    pregen_epochs: int = 1
    pretrain_steps: int = 700  # teacher masked-LM steps
    pretrain_lr: float = 5e-4
    batch_size: int = 32  # every training stage
    general_steps: int = 500  # distill --stage general
    general_lr: float = 5e-4
    # teacher fine-tuning (tinyzh eval): TNEWS has 3k rows and 15 classes, so more passes
    finetune_epochs: dict[str, float] = field(default_factory=lambda: {"tnews": 6.0, "ocnli": 2.0, "iflytek": 6.0})
    teacher_lr: float = 2e-4
    student_lr: float = 3e-4  # baselines (a small model from scratch wants more)
    num_aug: dict[str, int] = field(default_factory=lambda: {"tnews": 4, "ocnli": 1, "iflytek": 2})
    # each task-distillation step (intermediate, then prediction), on the augmented set; the baselines
    # get twice this many passes over the same set (the student's whole budget)
    task_epochs: dict[str, int] = field(default_factory=lambda: {"tnews": 2, "ocnli": 1, "iflytek": 2})
    task_lr: float = 3e-4
    max_train: int | None = None  # task rows per split (None: all)
    max_dev: int | None = None
    speed_examples: int = 200  # dev examples timed at batch 1 (batch 32: 8 batches)
    # A pretrained teacher (e5-small: 12 x 384, 12 heads, 26,862 pieces, 31.96M parameters with its
    # embeddings and a head): 4 layers of 144 keep its 12 heads (TinyBERT's attention loss pairs heads
    # one to one) at 12 dimensions each; with the whole vocabulary embedded, 4.97M parameters (1/6.4).
    pretrained_student: BertShape = field(default_factory=lambda: BertShape(4, 144, 12, 576))
    pretrained_teacher_lr: float = 5e-5  # fine-tuning a pretrained encoder (the shared README's 51.0 % TNEWS)
    pretrained_finetune_epochs: dict[str, float] = field(
        default_factory=lambda: {"tnews": 3.0, "ocnli": 2.0, "iflytek": 3.0})
    # the recipes (d) --set init_from_teacher=true and (e) --set 'attention_loss="relation"':
    # [distill_general] gets all three, [distill_task] the attention loss (it starts from the general student)
    init_from_teacher: bool = False
    attention_loss: str = "mse"
    relation_heads: int | None = None
    # recipe (f) candidates for the prediction step: a teacher with nearly flat soft labels (IFLYTEK)
    # teaches little unless the hard labels are mixed in
    hard_label_weight: float = 0.0
    temperature: float = 1.0
    # both distillation stages' hidden-state loss: "normalised" divides the squared error by the teacher's
    # spread (e5's hidden states are small: with "mse" the hidden terms are ~50x below the attention ones)
    hidden_loss: str = "mse"
    # recipe (f) candidates: the prediction step's own passes (every task; None: task_epochs) and peak lr
    # (None: task_lr). A student still fitting at the end of the prediction step (IFLYTEK) wants more
    prediction_epochs: int | None = None
    prediction_lr: float | None = None
    # recipe (f): both task-distillation steps also see the task's unlabelled rows (the teacher labels
    # them in the prediction step; the no-teacher baselines cannot use them)
    unlabeled: bool = False
    # ... and their augmented copies (as many per row as num_aug; augment --allow-unlabeled)
    augment_unlabeled: bool = False


# Settings added after runs were made: left out of a run's recorded settings while at their defaults,
# so those runs still resume and are still reused (their recorded settings lack them)
# ... each with the recipe stages it is passed to
LATER_STAGES: dict[str, tuple[str, ...]] = {"hard_label_weight": ("distill_task",), "temperature": ("distill_task",),
                                            "hidden_loss": ("distill_general", "distill_task"),
                                            "prediction_epochs": ("distill_task",), "prediction_lr": ("distill_task",),
                                            "unlabeled": ("distill_task",), "augment_unlabeled": ("augment",)}
LATER_SETTINGS = tuple(LATER_STAGES)
LATER_KEYS = {"augment_unlabeled": "unlabeled"}  # a later setting's key in its stages, where it has another name


def later_settings_set(size: QualitySize) -> dict[str, Any]:
    """The later settings ``size`` moves off their defaults (the ones a run records and plans)."""
    fields = QualitySize.__dataclass_fields__
    return {k: getattr(size, k) for k in LATER_SETTINGS if getattr(size, k) != fields[k].default}


SIZES: dict[str, QualitySize] = {
    "tiny": QualitySize(
        teacher=BertShape(2, 32, 2, 64),
        student=BertShape(1, 16, 2, 32),
        max_seq_len=32,
        positions=64,
        corpus_chars=20_000,
        pregen_seq_len=32,
        pretrain_steps=4,
        batch_size=8,
        general_steps=2,
        finetune_epochs={"tnews": 1.0, "ocnli": 1.0, "iflytek": 1.0},
        num_aug={"tnews": 1, "ocnli": 1, "iflytek": 1},
        task_epochs={"tnews": 1, "ocnli": 1, "iflytek": 1},
        max_train=24,
        max_dev=16,
        speed_examples=8,
        pretrained_student=BertShape(1, 24, 12, 48),  # 12 heads: the shared e5 has 12
        pretrained_finetune_epochs={"tnews": 1.0, "ocnli": 1.0, "iflytek": 1.0},
    ),  # fmt: skip
    "default": QualitySize(
        teacher=BertShape(6, 256, 4, 1024),
        student=BertShape(4, 80, 4, 320),
        task_epochs={"tnews": 3, "ocnli": 1, "iflytek": 2},
    ),
    "large": QualitySize(
        teacher=BertShape(6, 384, 6, 1536),
        student=BertShape(4, 132, 6, 528),
        corpus_chars=4_000_000,
        pregen_epochs=2,
        pretrain_steps=4000,
        general_steps=2000,
        finetune_epochs={"tnews": 10.0, "ocnli": 3.0, "iflytek": 10.0},
        num_aug={"tnews": 8, "ocnli": 2, "iflytek": 4},
        task_epochs={"tnews": 3, "ocnli": 2, "iflytek": 3},
    ),  # fmt: skip
}


@dataclass
class QualityConfig:
    data: Path
    output: Path
    size: str = "default"
    seed: int = 0
    threads: int = 2
    overrides: dict[str, Any] = field(default_factory=dict)  # QualitySize fields set from the command line
    teacher: str = "auto"  # auto | scratch | a checkpoint folder (see the module docstring)
    tasks: tuple[str, ...] = TASKS  # a subset of TASKS, run and reported in TASKS order
    reuse: Path | None = None  # an earlier run's --work folder whose fine-tuned teachers are taken (quality_reuse)
    only: str = "all"  # one of ONLY
    baselines: tuple[str, ...] = BASELINES  # which of BASELINES run (unless --only recipe)

    def __post_init__(self) -> None:
        self.data, self.output = Path(self.data), Path(self.output)
        self.reuse = Path(self.reuse) if self.reuse is not None else None
        unknown_tasks = [t for t in self.tasks if t not in TASKS]
        if unknown_tasks or not self.tasks:
            raise ConfigError(f"--tasks {','.join(self.tasks)!r}: expected a comma-separated subset of "
                              f"{','.join(TASKS)}")
        self.tasks = tuple(t for t in TASKS if t in self.tasks)
        if self.only not in ONLY:
            raise ConfigError(f"--only {self.only!r}: expected one of {', '.join(ONLY)}")
        if not self.baselines or set(self.baselines) - set(BASELINES):
            raise ConfigError(f"--baselines {','.join(self.baselines)!r}: expected a comma-separated subset of "
                              f"{','.join(BASELINES)}")
        self.baselines = tuple(b for b in BASELINES if b in self.baselines)
        if self.only == "baselines" and self.reuse is None:
            raise ConfigError("--only baselines needs --reuse RUN_DIR: the baselines train on that run's augmented "
                              "sets and start from its general student")
        if self.size not in SIZES:
            raise ConfigError(f"--size {self.size!r}: expected one of {', '.join(SIZES)}")
        if self.teacher not in TEACHERS and not (Path(self.teacher) / "config.json").is_file():
            raise ConfigError(f"--teacher {self.teacher!r}: expected auto, scratch or a checkpoint folder holding "
                              "config.json")
        if self.threads < 1:
            raise ConfigError(f"--threads must be at least 1, got {self.threads}")
        unknown = set(self.overrides) - set(QualitySize.__dataclass_fields__)
        if unknown:
            raise ConfigError(f"unknown size settings {sorted(unknown)}")
        if self.shape.augment_unlabeled and not self.shape.unlabeled:
            raise ConfigError("--set augment_unlabeled=true augments the unlabelled rows; add --set unlabeled=true")

    @property
    def shape(self) -> QualitySize:
        values = {**asdict(SIZES[self.size]), **self.overrides}
        for name in ("teacher", "student", "pretrained_student"):
            values[name] = BertShape(**values[name])
        return QualitySize(**values)

    @property
    def pretrained_teacher(self) -> Path | None:
        """The pretrained teacher's folder, or None for a teacher pre-trained here from scratch."""
        if self.teacher == "scratch":
            return None
        if self.teacher == "auto":
            found = self.data / PRETRAINED
            return found if (found / "config.json").is_file() else None
        return Path(self.teacher)

    def to_dict(self) -> dict[str, Any]:
        teacher = self.pretrained_teacher
        return {"data": str(self.data), "output": str(self.output), "size": self.size, "seed": self.seed,
                "threads": self.threads, "teacher": str(teacher) if teacher else "scratch",
                "tasks": list(self.tasks), "reuse": str(self.reuse) if self.reuse else None, "only": self.only,
                "settings": recorded_settings(self.shape)}  # fmt: skip


def recorded_settings(size: QualitySize) -> dict[str, Any]:
    """``size`` as a run records it: every field, less the later ones still at their old behaviour."""
    changed = later_settings_set(size)
    return {k: v for k, v in asdict(size).items() if k not in LATER_SETTINGS or k in changed}


def missing_data(data: Path) -> str | None:
    """Why ``data`` cannot feed the experiment, or None when it can."""
    needed = [VOCAB, *(Path("clue") / task / split for task in TASKS for split in ("train.json", "dev.json"))]
    absent = [str(p) for p in needed if not (data / p).is_file()]
    if not any((data / "corpus").glob("*.txt")):
        absent.append("corpus/*.txt")
    return f"{data} lacks {', '.join(absent)}" if absent else None


def prepare_data(data: Path, out: Path, size: QualitySize, tasks: tuple[str, ...] = TASKS) -> tuple[Path, Path]:
    """``(task data folder, vocabulary folder)`` under ``out``; see the module docstring. ``tasks``: those
    that get unlabelled rows (with ``size.unlabeled``)."""
    data_dir = out / "data"
    data_dir.mkdir(parents=True, exist_ok=True)
    _write_corpus(sorted((data / "corpus").glob("*.txt")), data_dir / "corpus.txt", size.corpus_chars)
    sources = {"tnews": ["train.json", "test_public.json"], "ocnli": ["train.json"],
               "iflytek": ["train.json", "test_public.json"]}
    for task, train_files in sources.items():
        (data_dir / task).mkdir(exist_ok=True)
        train = [line for name in train_files for line in _lines(data / "clue" / task / name)]
        _write_lines(data_dir / task / "train.json", train[: size.max_train])
        _write_lines(data_dir / task / "dev.json", _lines(data / "clue" / task / "dev.json")[: size.max_dev])
    labelled = [path for path in data_dir.glob("*/*.json") if path.name != UNLABELED]
    vocab_dir = trim_vocab(data / VOCAB, [data_dir / "corpus.txt", *labelled], out / "vocab")
    for task in sources:  # after the vocabulary: a run with them has the same vocabulary as one without
        if size.unlabeled and task in tasks:  # rewritten only when changed: ``--resume`` keeps the task stages
            dev = _lines(data_dir / task / "dev.json")
            _write_lines(data_dir / task / UNLABELED, unlabeled_rows(_test_lines(data, task), dev)[: size.max_train])
        else:
            (data_dir / task / UNLABELED).unlink(missing_ok=True)
    return data_dir, vocab_dir


UNLABELED = UNLABELED_FILE  # the recipe's name for a task's rows without a label
LABEL_KEYS = ("label", "label_des", "label_desc")  # IFLYTEK's and TNEWS's names of the label's text


def unlabeled_rows(lines: list[str], dev: Sequence[str] = ()) -> list[str]:
    """JSON lines without their label keys (CLUE's test files carry none; this makes sure), less any row
    whose text is also a ``dev`` row's (26 of IFLYTEK's dev texts are in its test.json): the teacher's
    label for such a row would be a label for a dev example, and the student would be scored on it."""
    held_out = {_text(json.loads(line)) for line in dev}
    rows = [json.loads(line) for line in lines]
    return [json.dumps({k: v for k, v in row.items() if k not in LABEL_KEYS}, ensure_ascii=False)
            for row in rows if _text(row) not in held_out]  # fmt: skip


TEXT_KEYS = ("sentence", "sentence1", "sentence2")  # the CLUE classification tasks' text fields


def _text(row: dict[str, Any]) -> tuple[str, ...]:
    return tuple(str(row.get(key, "")) for key in TEXT_KEYS)


def _test_lines(data: Path, task: str) -> list[str]:
    """The rows of ``task``'s test.json; an error when there are none (``unlabeled=true`` would add nothing)."""
    path = data / "clue" / task / "test.json"
    lines = _lines(path)
    if not lines:
        raise ConfigError(f"{path}: {'empty' if path.is_file() else 'missing'}; --set unlabeled=true needs each "
                          "task's unlabelled test rows there")
    return lines


def _lines(path: Path) -> list[str]:
    """The non-blank lines of a JSON-lines file. Split on "\\n" only: ``str.splitlines`` also splits on
    U+2028, U+0085 and the other separators some IFLYTEK descriptions hold inside their JSON strings."""
    if not path.is_file():
        return []
    return [line.rstrip("\r") for line in path.read_text(encoding="utf-8").split("\n") if line.strip()]


def _write_lines(path: Path, lines: list[str]) -> None:
    _write_if_changed(path, "".join(line + "\n" for line in lines))


def _write_if_changed(path: Path, text: str) -> None:
    """A file another run wrote the same is left alone (``--resume`` then finds its inputs unchanged)."""
    if not (path.is_file() and path.read_text(encoding="utf-8") == text):
        path.write_text(text, encoding="utf-8")


def _write_corpus(files: list[Path], output: Path, max_chars: int) -> None:
    """Documents of every file taken in turn (so a cut keeps all sources), until ``max_chars``."""
    streams = [f.read_text(encoding="utf-8").strip("\n").split("\n\n") for f in files]
    kept, total = [], 0
    for i in range(max(len(s) for s in streams)):
        for stream in streams:
            if i < len(stream) and total < max_chars:
                kept.append(stream[i].strip("\n"))
                total += len(stream[i])
    _write_if_changed(output, "\n\n".join(kept) + "\n")


def trim_vocab(vocab_file: Path, sources: list[Path], directory: Path) -> Path:
    """``directory/vocab.txt``: the entries of ``vocab_file`` the sources can produce, in their order.

    Kept: the special tokens, every single character seen in the sources (bert-base-chinese splits
    CJK text into characters), and ``##`` pieces of ASCII letters and digits. Longer Latin word pieces
    are dropped, so rare English words become [UNK]. This keeps the embedding table (otherwise 21,128
    rows, most never seen in this corpus) from dominating the small models' parameter counts.
    """
    seen: set[str] = set()
    for path in sources:
        text = path.read_text(encoding="utf-8")
        seen.update(text)
        seen.update(text.lower())
    pieces = set(string.ascii_lowercase + string.digits)
    kept = [
        token for token in vocab_file.read_text(encoding="utf-8").splitlines()
        if token in SPECIAL_TOKENS or (len(token) == 1 and token in seen) or (token.startswith("##") and token[2:] in pieces)
    ]  # fmt: skip
    directory.mkdir(parents=True, exist_ok=True)
    _write_if_changed(directory / "vocab.txt", "\n".join(kept) + "\n")
    return directory


def write_synthetic_data(root: Path) -> Path:
    """A ``../shared/data``-shaped folder from the bundled demo corpus and demo task (for ``--size tiny``).

    TNEWS rows are the demo task's questions with their four product categories as "100"–"103"; IFLYTEK
    rows the same questions as "0"–"3"; OCNLI rows pair two questions, "entailment" when their category
    agrees and "contradiction" when it does not. No pretrained teacher is written: ``--teacher auto`` is scratch here.
    """
    from tinyzh.demo.task import demo_corpus, demo_task_dir
    from tinyzh.demo.teacher import write_vocab

    rows = [
        json.loads(line) for line in (demo_task_dir() / "train.json").read_text(encoding="utf-8").splitlines()
    ]
    (root / "corpus").mkdir(parents=True, exist_ok=True)
    (root / "corpus" / "demo.txt").write_text(demo_corpus().read_text(encoding="utf-8"), encoding="utf-8")
    codes = {label: 100 + i for i, label in enumerate(sorted({str(r["label"]) for r in rows}))}
    tnews = [json.dumps({"label": codes[r["label"]], "sentence": r["sentence"], "id": i}, ensure_ascii=False)
             for i, r in enumerate(rows)]  # fmt: skip
    pairs = [
        json.dumps({"sentence1": a["sentence"], "sentence2": b["sentence"], "id": i,
                    "label": "entailment" if a["label"] == b["label"] else "contradiction"}, ensure_ascii=False)
        for i, (a, b) in enumerate(zip(rows, rows[1:], strict=False))
    ]  # fmt: skip
    iflytek = [json.dumps({"label": codes[r["label"]] - 100, "sentence": r["sentence"], "id": i},
                          ensure_ascii=False) for i, r in enumerate(rows)]  # fmt: skip
    for task, lines in (("tnews", tnews), ("ocnli", pairs), ("iflytek", iflytek)):
        (root / "clue" / task).mkdir(parents=True, exist_ok=True)
        _write_lines(root / "clue" / task / "train.json", lines[0::2])  # alternate rows: every label in each
        _write_lines(root / "clue" / task / "dev.json", lines[1::2])
        _write_lines(root / "clue" / task / "test.json", unlabeled_rows(lines[0::2]))  # never the dev rows' text
    write_vocab(root / VOCAB.parent, [root / "corpus" / "demo.txt", demo_task_dir() / "train.json"])
    return root
