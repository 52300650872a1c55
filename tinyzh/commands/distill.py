"""``tinyzh distill``: parse options into a ``DistillConfig`` and run it (logic in ``tinyzh.distill``)."""

from __future__ import annotations

import os
from typing import Annotated

import typer

from tinyzh.config import DEFAULT_TEACHER

_TRAIN = "Training"
_MODEL = "Teacher, student and losses"


def distill(
    data: Annotated[str, typer.Option(help="general: a `tinyzh pregen` output dir; task: the task's train file (or an `augment` output).")],
    output: Annotated[str, typer.Option(help="Directory the student (an HF checkpoint) is written to.")],
    stage: Annotated[str, typer.Option(help="general (pre-training distillation) or task.", rich_help_panel=_MODEL)] = "general",
    teacher: Annotated[str, typer.Option(help="Teacher: HF name or local dir (task stage: a fine-tuned classifier).", rich_help_panel=_MODEL)] = DEFAULT_TEACHER,
    student: Annotated[str, typer.Option(help="Preset (tinybert-4, tinybert-6), a config.json or a checkpoint dir.", rich_help_panel=_MODEL)] = "tinybert-4",
    task: Annotated[str | None, typer.Option(help="Task plugin name (task stage), e.g. tnews.", rich_help_panel=_MODEL)] = None,
    step: Annotated[str, typer.Option(help="Task stage: intermediate, prediction or both.", rich_help_panel=_MODEL)] = "both",
    dev: Annotated[str | None, typer.Option(help="Task stage dev file for keeping the best checkpoint (default: dev.json beside --data).", rich_help_panel=_MODEL)] = None,
    max_seq_len: Annotated[int | None, typer.Option(help="Task stage: max tokens (default: the task's).", rich_help_panel=_MODEL)] = None,
    layer_map: Annotated[str | None, typer.Option(help="STUDENT:TEACHER pairs, 0 = embeddings, e.g. 0:0,1:3,2:6,3:9,4:12 (default uniform).", rich_help_panel=_MODEL)] = None,
    projection: Annotated[str, typer.Option(help="Width projection: shared (TinyBERT) or per-layer.", rich_help_panel=_MODEL)] = "shared",
    attention_loss: Annotated[str, typer.Option(help="mse on pre-softmax scores (TinyBERT), kl on probabilities (MiniLM) or relation: query/key/value relations (MiniLMv2; any width and heads).", rich_help_panel=_MODEL)] = "mse",
    hidden_loss: Annotated[str, typer.Option(help="mse between hidden states (TinyBERT) or normalised: the same error over the teacher's spread about its mean state in the batch (1 - R^2; for teachers with small hidden states, e.g. e5).", rich_help_panel=_MODEL)] = "mse",
    relation_heads: Annotated[int | None, typer.Option(help="--attention-loss relation: relation heads, dividing both widths (default: the teacher's attention heads).", rich_help_panel=_MODEL)] = None,
    init_from_teacher: Annotated[bool, typer.Option("--init-from-teacher/--no-init-from-teacher", help="Start a new student from the mapped teacher layers and embeddings (a narrower student: their leading slices; see docs/distill.md).", rich_help_panel=_MODEL)] = False,
    mlm_weight: Annotated[float, typer.Option(help="General stage: weight of the student's own masked-LM loss (0 = off).", rich_help_panel=_MODEL)] = 0.0,
    temperature: Annotated[float, typer.Option(help="Prediction step: softmax temperature of the soft cross-entropy.", rich_help_panel=_MODEL)] = 1.0,
    hard_label_weight: Annotated[float, typer.Option(help="Prediction step: weight of the gold-label cross-entropy (rows without a label are skipped).", rich_help_panel=_MODEL)] = 0.0,
    cache_teacher_logits: Annotated[bool, typer.Option("--cache-teacher-logits/--no-cache-teacher-logits", help="Prediction step: run the teacher once per row before training and keep its logits in the output (then each epoch costs the student alone).", rich_help_panel=_TRAIN)] = True,
    use_compile: Annotated[bool, typer.Option("--compile/--no-compile", help="torch.compile each step's teacher forward, student forward and losses (inductor: fused C++ CPU kernels; needs g++). Measured 1.16x an fp32 step on an AVX2 CPU but 0.67x a bf16 step on an AMX one, where eager bf16 fuses the teacher through oneDNN instead (docs/distill.md); the first step compiles (minutes; reported), later runs reuse ~/.cache/tinyzh/inductor (TORCHINDUCTOR_CACHE_DIR). One process only.", rich_help_panel=_TRAIN)] = False,
    epochs: Annotated[int, typer.Option(help="Passes over the data.", rich_help_panel=_TRAIN)] = 3,
    max_steps: Annotated[int | None, typer.Option(help="Stop after this many optimizer steps (overrides --epochs).", rich_help_panel=_TRAIN)] = None,
    batch_size: Annotated[int, typer.Option(help="Samples per optimizer step, over all processes and accumulation steps.", rich_help_panel=_TRAIN)] = 32,
    grad_accum: Annotated[int, typer.Option(help="Micro-batches accumulated per optimizer step.", rich_help_panel=_TRAIN)] = 1,
    lr: Annotated[float | None, typer.Option(help="Peak learning rate (default 1e-4 general, 5e-5 intermediate, 3e-5 prediction).", rich_help_panel=_TRAIN)] = None,
    prediction_epochs: Annotated[int | None, typer.Option(help="Task stage: passes of the prediction step (default: --epochs).", rich_help_panel=_TRAIN)] = None,
    prediction_lr: Annotated[float | None, typer.Option(help="Task stage: peak learning rate of the prediction step (default: --lr).", rich_help_panel=_TRAIN)] = None,
    warmup: Annotated[float, typer.Option(help="Fraction of steps of linear warm-up.", rich_help_panel=_TRAIN)] = 0.1,
    weight_decay: Annotated[float, typer.Option(help="AdamW weight decay (not on biases and LayerNorm).", rich_help_panel=_TRAIN)] = 0.01,
    max_grad_norm: Annotated[float, typer.Option(help="Gradient clipping norm (0 = off).", rich_help_panel=_TRAIN)] = 1.0,
    seed: Annotated[int, typer.Option(help="Seed of initialisation, data order and dropout.", rich_help_panel=_TRAIN)] = 42,
    precision: Annotated[str, typer.Option(help="fp32, bf16 or fp16 autocast.", rich_help_panel=_TRAIN)] = "fp32",
    workers: Annotated[int, typer.Option(help="Data-loading processes (0 = in the training process).", rich_help_panel=_TRAIN)] = 1,
    save_steps: Annotated[int, typer.Option(help="Checkpoint every N steps.", rich_help_panel=_TRAIN)] = 1000,
    logging_steps: Annotated[int, typer.Option(help="Write metrics.jsonl every N steps.", rich_help_panel=_TRAIN)] = 50,
    resume: Annotated[bool | None, typer.Option("--resume/--no-resume", help="Continue from the last checkpoint (default: when one exists) / start over.", rich_help_panel=_TRAIN)] = None,
    stop_after: Annotated[int | None, typer.Option(help="Checkpoint and stop after N steps in this run (rerun to continue).", rich_help_panel=_TRAIN)] = None,
    progress: Annotated[bool, typer.Option("--progress/--no-progress", help="Show the progress bar.", rich_help_panel=_TRAIN)] = True,
    report_to: Annotated[str, typer.Option("--report-to", help="Also log every loss term, lr, samples/s and dev accuracy to: tensorboard (OUTPUT/tensorboard) or none.", rich_help_panel=_TRAIN)] = "none",
) -> None:
    """Distil a BERT teacher into a small student, TinyBERT style (general or task stage).

    Launch with `torchrun --nproc_per_node N -m tinyzh distill ...` for data-parallel training.
    """
    from tinyzh.distill.config import DistillConfig

    config = DistillConfig(
        stage=stage, data=data, output=output, teacher=teacher, student=student, task=task, step=step, dev=dev,
        max_seq_len=max_seq_len, layer_map=layer_map, projection=projection, attention_loss=attention_loss,
        hidden_loss=hidden_loss,
        mlm_weight=mlm_weight, temperature=temperature, hard_label_weight=hard_label_weight, epochs=epochs,
        max_steps=max_steps, batch_size=batch_size, grad_accum=grad_accum, lr=lr, prediction_epochs=prediction_epochs,
        prediction_lr=prediction_lr, warmup=warmup,
        weight_decay=weight_decay, max_grad_norm=max_grad_norm, seed=seed, save_steps=save_steps,
        logging_steps=logging_steps, resume=resume, precision=precision, workers=workers, stop_after=stop_after,
        relation_heads=relation_heads, init_from_teacher=init_from_teacher,
        cache_teacher_logits=cache_teacher_logits, compile=use_compile,
    )
    from tinyzh.commands.reporting import command_reporter
    from tinyzh.distill.trainer import run_distill
    from tinyzh.report import Reporter

    # Under torchrun only rank 0 draws bars and writes event files.
    rank0 = int(os.environ.get("RANK", "0")) == 0
    reporter = command_reporter(None, report_to, output, bars=progress) if rank0 else Reporter()
    try:
        results = run_distill(config, reporter)
    finally:
        reporter.close()
    _print_summary(results)


def _print_summary(results: list) -> None:

    from rich.console import Console
    from rich.table import Table

    if int(os.environ.get("RANK", "0")) != 0:
        return
    table = Table(title="tinyzh distill", show_header=True)
    for column in ("phase", "steps", "loss", "samples/s", "time", "dev acc", "output"):
        table.add_column(column)
    for r in results:
        steps = f"{r.steps}/{r.total_steps}" + ("" if r.finished else " (stopped; rerun to continue)")
        loss = "-" if r.final_loss is None else f"{r.final_loss:.4g}"
        acc = "-" if r.best_dev_accuracy is None else f"{r.best_dev_accuracy:.4f}"
        table.add_row(r.phase, steps, loss, f"{r.samples_per_s:.2f}", f"{r.seconds:.0f}s", acc, r.output)
    console = Console()
    console.print(table)
    for r in results:
        if r.compile:  # time in "time" above includes it
            console.print(f"{r.phase}: --compile spent {r.compile['seconds']:.1f} s compiling {r.compile['graphs']} "
                          f"graph(s) (cache {r.compile['cache_dir']})")
