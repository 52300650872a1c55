"""``DemoConfig`` and the demo's sizes: how big the teacher and student are and how long each step runs.

``default`` takes a few minutes on two CPU cores; ``tiny`` exists for the test suite (seconds, the
numbers mean nothing); ``large`` trains longer for a clearer teacher/student gap.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from tinyzh.config import BertShape, CommandConfig
from tinyzh.errors import ConfigError


@dataclass(frozen=True)
class DemoSize:
    """Model shapes and step counts of one demo size. Teacher and student share the head count
    because TinyBERT's attention loss compares heads one to one."""

    teacher: BertShape
    student: BertShape
    max_seq_len: int = 64  # task examples (and the models' position embeddings)
    pregen_seq_len: int = 32  # pre-training instances: two or three corpus sentences
    pregen_epochs: int = 4  # differently masked copies of the corpus
    pretrain_steps: int = 300  # teacher masked-LM pre-training
    pretrain_lr: float = 5e-4
    finetune_epochs: float = 8.0  # teacher and baseline fine-tuning (through `tinyzh eval`)
    finetune_lr: float = 5e-4  # small models from scratch want more than BERT's 2e-5
    general_steps: int = 200  # general distillation
    num_aug: int = 8  # augmented copies per training example
    task_epochs: int = 3  # each task-distillation step (intermediate, prediction)
    batch_size: int = 32
    max_documents: int | None = None  # corpus documents used (None: all)
    max_train: int | None = None  # task rows used per split (None: all)
    max_dev: int | None = None
    augmenters: tuple[str, ...] = ("synonym", "mlm")


SIZES: dict[str, DemoSize] = {
    "tiny": DemoSize(
        teacher=BertShape(2, 32, 2, 64),
        student=BertShape(1, 16, 2, 32),
        max_seq_len=32,
        pregen_seq_len=24,
        pregen_epochs=1,
        pretrain_steps=4,
        finetune_epochs=1.0,
        general_steps=2,
        num_aug=1,
        task_epochs=1,
        batch_size=8,
        max_documents=40,
        max_train=24,
        max_dev=16,
        augmenters=("synonym",),
    ),
    "default": DemoSize(teacher=BertShape(4, 128, 4, 512), student=BertShape(2, 64, 4, 256)),
    "large": DemoSize(
        teacher=BertShape(6, 256, 4, 1024),
        student=BertShape(2, 96, 4, 384),
        pregen_epochs=8,
        pretrain_steps=2000,
        general_steps=1000,
        num_aug=16,
        task_epochs=4,
    ),
}


@dataclass(frozen=True)
class DemoConfig(CommandConfig):
    """Where the demo writes, which size it runs, and its seed."""

    RUN_ONLY: ClassVar[frozenset[str]] = frozenset({"output", "overwrite", "threads"})

    output: Path = Path("tinyzh-demo")
    size: str = "default"
    seed: int = 0
    overwrite: bool = False
    threads: int | None = None  # CPU threads for torch (None: its default); 1 is fastest on a busy machine
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._set("output", Path(self.output))
        if self.size not in SIZES:
            raise ConfigError(f"--size {self.size!r} is not a demo size; expected one of {', '.join(SIZES)}")
        if self.seed < 0:
            raise ConfigError(f"--seed must be >= 0, got {self.seed}")
        if self.threads is not None and self.threads < 1:
            raise ConfigError(f"--threads must be at least 1, got {self.threads}")

    @property
    def shape(self) -> DemoSize:
        return SIZES[self.size]

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "size_settings": asdict(self.shape)}
