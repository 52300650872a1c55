"""Throughput of distillation steps, how close it gets to this CPU's matmul peak, and TinyBERT beside it.

General stage: teacher of bert-base-chinese's shape (vocab 21128, 12 layers, hidden 768), random
weights; student the ``tinybert-4`` preset. Each step is what ``tinyzh distill --stage general``
runs: teacher forward under no_grad (scores captured on 4 of 12 layers), student forward + backward
(all 4 layers captured), projections, the embedding/hidden/attention losses, AdamW, clipping,
scheduler. Batches are synthetic (data loading runs in a worker process in real runs). FLOPs per
step are counted by ``torch.utils.flop_counter`` on one step; the matmul peak is the best of plain
matmuls timed in the same process, for fp32 and bf16.

With ``--peer DIR`` (prepared by ``../shared/bench/tinybert_peer.sh setup``), TinyBERT's
``general_distill.py`` (fp32, batch 32, its own 12L/768 teacher and 4L/312 student, data from its
own pregen script on the shared corpora) runs ``--peer-seconds`` and reports its last tqdm rate; it
alternates with tinyzh's timed steps (``--pairs`` rounds) and the ratio of the medians is printed
with this CPU's name and flags. Without ``--peer`` no ratio is measured.

Task stage (``--stages task``): a 12-layer sequence-classification teacher (15 labels, TNEWS's)
and a ``tinybert-4`` student; the intermediate step (hidden + attention losses on task data) and
the prediction step (soft cross-entropy on logits) are timed at the mean padded length of batches
drawn from the shared TNEWS texts, and one epoch of ``--task-examples`` (CLUE TNEWS's 53,360 training
examples) is estimated from them. Usage::

    python benchmarks/distill.py                                   # general, fp32 + bf16
    python benchmarks/distill.py --peer /work/peer --pairs 2       # side by side with TinyBERT
    python benchmarks/distill.py --stages general task --steps 3 --warmup 1
    python benchmarks/distill.py --compile --precisions bf16        # eager vs torch.compile, side by side

With ``--compile`` each precision (and task step) gets a second, compiled row: the same shapes and
precision, built through ``tinyzh.distill.compiler`` as ``tinyzh distill --compile`` does, timed in
turn with the eager row (``--pairs`` rounds); it prints the eager/compiled ratio and the compile time
(dynamo + inductor, and the whole first step) with the CPU's name and flags. It needs a C++ compiler
and writes inductor's cache to ``~/.cache/tinyzh/inductor`` (``TORCHINDUCTOR_CACHE_DIR``).
"""

from __future__ import annotations

import argparse
import math
import random
import re
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

from side_by_side import (  # noqa: E402
    NO_PEER,
    PEER_SCRIPT,
    alternate,
    check_peer,
    cpu_info,
    machine_line,
    measure,
    median,
    ratio_line,
)

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
PEAK_SHAPES = ((2048, 2048, 2048), (4096, 768, 3072), (4096, 3072, 768), (4096, 768, 768))  # (M, K, N)
TNEWS_LABELS = 15
TNEWS_TRAIN = 53_360  # examples in CLUE TNEWS's train.json
NATIVE_BF16 = ("avx512_bf16", "amx_bf16")  # CPU flags with bf16 matmul instructions


def count_fused_linear_flops() -> None:
    """Teach ``FlopCounterMode`` oneDNN's fused linear (the fused teacher's GEMMs): 2 M K N, like ``addmm``."""
    from torch.utils.flop_counter import flop_registry, register_flop_formula

    op = getattr(torch.ops.mkldnn, "_linear_pointwise", None)
    if op is None or op in flop_registry:  # absent, or registered by an earlier main() here
        return

    def flops(x_shape: list[int], *args: object, out_shape: list[int], **kwargs: object) -> int:
        return 2 * math.prod(out_shape) * x_shape[-1]  # out (..., N), x (..., K)

    register_flop_formula(op)(flops)  # the packet: .default and .binary (x first in both)


def matmul_peak(dtype: torch.dtype, repeats: int = 6) -> float:
    """Best FLOP/s of plain matmuls in ``dtype``: a square one and the teacher's own GEMM shapes."""
    best = 0.0
    for m, k, n in PEAK_SHAPES:
        a, b = torch.randn(m, k).to(dtype), torch.randn(k, n).to(dtype)
        for _ in range(2):
            a @ b
        start = time.perf_counter()
        for _ in range(repeats):
            a @ b
        best = max(best, 2 * m * k * n * repeats / (time.perf_counter() - start))
    return best


def build(precision: str, batch: int, stage: str = "general", fuse: bool = True):  # noqa: ANN201 - a tinyzh Phase
    """The phase ``stage`` (general, intermediate or prediction) as ``tinyzh distill`` builds it;
    ``fuse``: the teacher's oneDNN fusions where ``tinyzh distill`` applies them (not under --compile)."""
    from transformers import BertConfig, BertForSequenceClassification, BertModel

    from tinyzh.distill.adaptor import capture_scores
    from tinyzh.distill.config import DistillConfig
    from tinyzh.distill.data import TrainData
    from tinyzh.distill.distributed import DistEnv
    from tinyzh.distill.fused import can_fuse, fuse_teacher
    from tinyzh.distill.matches import attention_layers, uniform_layer_map
    from tinyzh.distill.models import build_student
    from tinyzh.distill.phase import Phase, build_matches
    from tinyzh.distill.wrappers import Precision, Projections, StudentForward, prepare_teacher

    torch.manual_seed(0)
    labels = tuple(str(100 + i) for i in range(TNEWS_LABELS)) if stage != "general" else ()
    if stage == "general":
        teacher = BertModel(BertConfig(vocab_size=21128), add_pooling_layer=False)
    else:
        teacher = BertForSequenceClassification(BertConfig(vocab_size=21128, num_labels=len(labels)))
    teacher = teacher.eval().requires_grad_(False)
    teacher.config._attn_implementation = "sdpa"
    student = build_student("tinybert-4", teacher, "bert-base-chinese-shape", "general" if stage == "general" else "task",
                            labels)
    pairs, matches, projections = [], [], None
    if stage != "prediction":
        pairs = uniform_layer_map(12, 4)
        matches = build_matches(pairs)
        capture_scores(teacher, attention_layers(matches, "T"))
        capture_scores(student, attention_layers(matches, "S"))
        projections = Projections(312, 768, [s for s, _ in pairs], "shared")
    resolved = Precision.of(precision)  # once: the teacher's dtype and the student's autocast
    prepare_teacher(teacher, resolved)
    if fuse and can_fuse(resolved.dtype, torch.device("cpu"), compiled=False):
        fuse_teacher(teacher)
    forward_S = StudentForward(student, projections, hidden=stage != "prediction", mlm=False,
                               logits=stage == "prediction", proj_layers={s for s, _ in pairs})
    config = DistillConfig(stage="general" if stage == "general" else "task", data="synthetic", output="unused",
                           task=None if stage == "general" else "tnews", batch_size=batch, precision=precision)
    data = TrainData(dataset=[0] * batch, collate=lambda rows: rows)  # type: ignore[arg-type]
    return Phase(stage, config, teacher, student, forward_S, matches, data, None, DistEnv(), labels, pairs,
                 precision=resolved)


def synthetic_batch(batch: int, seq: int, num_labels: int = 0) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(1)
    ids = torch.randint(106, 21128, (batch, seq), generator=g)
    labels = torch.randint(0, num_labels, (batch,), generator=g) if num_labels else torch.full_like(ids, -100)
    return {"input_ids": ids, "token_type_ids": torch.zeros_like(ids), "attention_mask": torch.ones_like(ids),
            "labels": labels}


class StepBench:
    """One phase, its optimizer and a fixed batch: FLOPs counted once, then timed on demand.

    ``compiled``: the phase's micro-batch through ``tinyzh.distill.compiler.compile_terms`` (what
    ``--compile`` runs); its first step, which compiles, is timed here, and ``flops`` (the eager
    bench's count, same shapes) is taken as given.
    """

    def __init__(self, stage: str, precision: str, batch: int, seq: int, compiled: bool = False,
                 flops: int | None = None, fuse: bool = True) -> None:
        from torch.utils.flop_counter import FlopCounterMode

        from tinyzh.distill.compiler import CompileClock, compile_terms
        from tinyzh.distill.trainer import build_optimizer, optimizer_step

        self._step = optimizer_step
        self.phase = build(precision, batch, stage, fuse=fuse and not compiled)
        self.optim = build_optimizer(self.phase, total=10_000)
        self.batch = synthetic_batch(batch, seq, TNEWS_LABELS if stage != "general" else 0)
        self.compile_report: dict | None = None
        if compiled:
            self.phase.compiled = compile_terms(self.phase)
            clock, start = CompileClock(), time.perf_counter()
            self.step()
            self.compile_report = {**clock.report(), "first_step_s": time.perf_counter() - start}
            self.flops = flops or 0
            return
        counter = FlopCounterMode(display=False)
        with counter:
            self.step()
        self.flops = counter.get_total_flops()

    def step(self) -> None:
        self._step(self.phase, self.phase.forward_S, self.optim, [self.batch])

    def teacher_seconds(self) -> float:
        """One teacher forward alone (no_grad, as in the step), in seconds."""
        from tinyzh.distill.data import model_inputs
        from tinyzh.distill.wrappers import teacher_forward

        inputs = model_inputs(self.batch, torch.device("cpu"))
        predict = self.phase.name == "prediction"
        start = time.perf_counter()
        teacher_forward(self.phase.teacher, inputs, hidden=not predict, logits=predict)
        return time.perf_counter() - start

    def step_and_teacher(self, steps: int, warmup: int) -> tuple[float, float]:
        """Median seconds of a step and of the teacher's forward, timed in turn (a shared machine's
        load then falls on both alike)."""
        for _ in range(warmup):
            self.step()
        step_s, teacher_s = [], []
        for _ in range(steps):
            start = time.perf_counter()
            self.step()
            step_s.append(time.perf_counter() - start)
            teacher_s.append(self.teacher_seconds())
        return statistics.median(step_s), statistics.median(teacher_s)

    def seconds_per_step(self, steps: int, warmup: int) -> float:
        for _ in range(warmup):
            self.step()
        start = time.perf_counter()
        for _ in range(steps):
            self.step()
        return (time.perf_counter() - start) / steps


def peers_step(opts: argparse.Namespace, tmp: Path) -> Callable[[], dict]:
    """Prepare TinyBERT's models and pregen data (kept in the peer folder), and return one timed peer run."""
    check_peer(opts.peer, opts.peer_script)
    script, peer = str(opts.peer_script), opts.peer
    vocab = SHARED / "vocab" / "bert-base-chinese"
    if not (peer / "teacher" / "config.json").is_file():
        measure(["bash", script, "models", str(peer), str(vocab)])
    data = peer / "bench_pregen"
    if not (data / "epoch_0.json").is_file():  # one epoch of TinyBERT's own pregen on the shared corpora
        corpus = tmp / "corpus.txt"
        corpus.write_bytes(b"".join(p.read_bytes().rstrip(b"\n") + b"\n\n"
                                    for p in sorted((SHARED / "corpus").glob("*.txt"))))
        measure(["bash", script, "pregen", str(peer), str(corpus), str(vocab), str(data), "1"])

    def run() -> dict:
        done = measure(["bash", script, "distill", str(peer), str(data), str(peer / "teacher"), str(peer / "student"),
                        str(opts.peer_seconds)])
        return {"seconds": tqdm_seconds_per_step(done["stdout"]), "tqdm": done["stdout"].strip()[-120:]}

    return run


def tqdm_seconds_per_step(line: str) -> float:
    """Seconds per iteration from tqdm's last line (``..., 9.50s/it]`` or ``..., 1.20it/s]``)."""
    found = re.findall(r"([\d.]+)(s/it|it/s)", line)
    if not found:
        raise SystemExit(f"TinyBERT's general_distill.py printed no step rate (did a step finish within "
                         f"--peer-seconds?); its last output: {line[-400:]!r}")
    value, unit = found[-1]
    return float(value) if unit == "s/it" else 1 / float(value)


def compile_line(what: str, eager_s: float, compiled: StepBench, compiled_s: float) -> str:
    """The compiled row's ratio to the eager one and its compile time, with the machine."""
    report = compiled.compile_report or {}
    return (f"{what}: compiled {compiled_s:.3f} vs eager {eager_s:.3f} s/step = {eager_s / compiled_s:.2f}x; "
            f"compile {report.get('seconds', 0):.0f} s ({report.get('graphs', 0)} graph(s); first step "
            f"{report.get('first_step_s', 0):.0f} s; cache {report.get('cache_dir')}) {machine_line()}")


def fusion_line(precision: str, runs: dict[str, list[dict]]) -> str:
    """The fused row's ratio to the unfused one, or why there is no unfused row for ``precision``."""
    if not fusable(precision):
        return f"general {precision}: no teacher fusion applies (fp32, or no bf16 matmul instructions here)"
    fused_s, unfused_s = median(runs[f"tinyzh {precision}"]), median(runs[f"tinyzh {precision} unfused"])
    return (f"general {precision}: teacher fused {fused_s:.3f} vs unfused {unfused_s:.3f} s/step = "
            f"{unfused_s / fused_s:.2f}x {machine_line()}")


def general(opts: argparse.Namespace, peaks: dict[str, float], tmp: Path) -> None:
    print(f"general stage: threads {opts.threads}, batch {opts.batch_size}, seq {opts.seq_len}")
    benches = {p: StepBench("general", p, opts.batch_size, opts.seq_len) for p in opts.precisions}
    if opts.unfused:  # the teacher without its oneDNN fusions (where they apply), timed in turn
        benches |= {f"{p} unfused": StepBench("general", p, opts.batch_size, opts.seq_len, fuse=False)
                    for p in opts.precisions if fusable(p)}
    if opts.compile:  # same shapes, same precision, timed in turn with the eager rows
        benches |= {f"{p} compiled": StepBench("general", p, opts.batch_size, opts.seq_len, compiled=True,
                                               flops=benches[p].flops) for p in opts.precisions}
    commands = {f"tinyzh {p}": (lambda b=b: {"seconds": b.seconds_per_step(opts.steps, opts.warmup)})
                for p, b in benches.items()}
    if opts.peer is not None:
        commands = {"TinyBERT": peers_step(opts, tmp), **commands}
    runs = alternate(commands, opts.pairs if opts.peer is not None or opts.compile or opts.unfused else 1)
    for label, bench in benches.items():
        precision = label.split()[0]  # the rows are keyed "fp32", "fp32 compiled", "bf16 unfused", …
        seconds = median(runs[f"tinyzh {label}"])
        rate = bench.flops / seconds
        of_bf16 = f" ({rate / peaks['bf16']:.0%} of bf16's)" if "bf16" in peaks else ""
        print(f"{label}: {seconds:.2f} s/step, {opts.batch_size / seconds:.2f} samples/s, "
              f"{bench.flops / 1e12:.3f} TFLOP/step, {rate / 1e9:.0f} GFLOP/s = {rate / peaks[precision]:.0%} of the "
              f"{precision} matmul peak{of_bf16} {machine_line()}")
    if opts.unfused:
        for p in opts.precisions:
            print(fusion_line(p, runs))
    if opts.compile:
        for p in opts.precisions:
            print(compile_line(f"general {p}", median(runs[f"tinyzh {p}"]), benches[f"{p} compiled"],
                               median(runs[f"tinyzh {p} compiled"])))
    if opts.peer is None:
        print(NO_PEER)
        return
    print(f"TinyBERT general_distill.py fp32 (tqdm's smoothed rate after {opts.peer_seconds} s): "
          + ", ".join(f"{r['seconds']:.2f} s/step" for r in runs["TinyBERT"]))
    for label in benches:
        print(ratio_line(f"general distillation step, tinyzh {label} vs TinyBERT fp32", runs["TinyBERT"],
                         runs[f"tinyzh {label}"], unit="s/step"))


def tnews_lengths(max_len: int) -> list[int]:
    """Padded lengths ([CLS] text [SEP]; bert-base-chinese cuts Chinese into characters) of TNEWS's texts."""
    import json

    lengths = []
    for path in sorted((SHARED / "clue" / "tnews").glob("*.json")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                lengths.append(min(len(json.loads(line)["sentence"]) + 2, max_len))
    return lengths


def task_shape(lengths: list[int], batch: int, examples: int) -> tuple[int, int]:
    """(mean padded batch length, steps per epoch) for ``examples`` drawn from ``lengths`` in random batches."""
    rng = random.Random(0)
    steps = examples // batch
    longest = [max(rng.choices(lengths, k=batch)) for _ in range(min(steps, 2000))]
    return round(sum(longest) / len(longest)), steps


def task(opts: argparse.Namespace, peaks: dict[str, float]) -> None:
    lengths = tnews_lengths(opts.task_max_len) or [opts.task_max_len]
    seq, steps = task_shape(lengths, opts.batch_size, opts.task_examples)
    source = f"{len(lengths):,} shared TNEWS texts" if len(lengths) > 1 else "no shared TNEWS texts: full length"
    print(f"task stage: 12-layer teacher, {TNEWS_LABELS} labels, batch {opts.batch_size}, mean padded batch length "
          f"{seq} ({source}, --max-seq-len {opts.task_max_len}); an epoch of {opts.task_examples:,} examples = "
          f"{steps:,} steps")
    for precision in opts.precisions:
        for stage in ("intermediate", "prediction"):
            bench = StepBench(stage, precision, opts.batch_size, seq)
            seconds, teacher = bench.step_and_teacher(opts.steps, opts.warmup)
            rate = bench.flops / seconds
            print(f"{stage} {precision}: {seconds:.3f} s/step (teacher forward {teacher:.3f} s, {teacher / seconds:.0%}), "
                  f"{rate / 1e9:.0f} GFLOP/s = {rate / peaks[precision]:.0%} of the {precision} matmul peak; epoch "
                  f"~{steps * seconds / 60:.0f} min {machine_line()}")
            if opts.compile:
                task_compiled(opts, stage, precision, seq, bench, peaks)
            del bench


def task_compiled(opts: argparse.Namespace, stage: str, precision: str, seq: int, eager: StepBench,
                  peaks: dict[str, float]) -> None:
    """The compiled row of a task step, timed in turn with the eager one (``--pairs`` rounds)."""
    bench = StepBench(stage, precision, opts.batch_size, seq, compiled=True, flops=eager.flops)
    runs = alternate({"eager": lambda: {"seconds": eager.seconds_per_step(opts.steps, opts.warmup)},
                      "compiled": lambda: {"seconds": bench.seconds_per_step(opts.steps, opts.warmup)}}, opts.pairs)
    eager_s, seconds = median(runs["eager"]), median(runs["compiled"])
    rate = bench.flops / seconds
    print(f"{stage} {precision} compiled: {seconds:.3f} s/step, {rate / 1e9:.0f} GFLOP/s = "
          f"{rate / peaks[precision]:.0%} of the {precision} matmul peak {machine_line()}")
    print(compile_line(f"{stage} {precision}", eager_s, bench, seconds))


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=5, help="timed steps per precision (and per round)")
    parser.add_argument("--warmup", type=int, default=2, help="untimed steps first")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--seq-len", type=int, default=128, help="general stage's sequence length")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--precisions", nargs="+", choices=["fp32", "bf16"],
                        help="default: fp32, and bf16 where the CPU has bf16 matmul instructions")
    parser.add_argument("--stages", nargs="+", default=["general"], choices=["general", "task"])
    parser.add_argument("--task-examples", type=int, default=TNEWS_TRAIN, help="examples in the estimated task epoch")
    parser.add_argument("--task-max-len", type=int, default=128, help="task stage's --max-seq-len")
    parser.add_argument("--peer", type=Path, help="folder prepared by tinybert_peer.sh setup: run TinyBERT beside")
    parser.add_argument("--peer-script", type=Path, default=PEER_SCRIPT, help="the peer driver script")
    parser.add_argument("--peer-seconds", type=int, default=300, help="how long each TinyBERT run lasts")
    parser.add_argument("--pairs", type=int, default=2, help="rounds of TinyBERT then tinyzh (medians compared)")
    parser.add_argument("--unfused", action="store_true",
                        help="also time the general step with the teacher's oneDNN fusions off, in turn")
    parser.add_argument("--system-malloc", action="store_true",
                        help="leave glibc's malloc settings alone (tinyzh distill keeps freed memory on CPU)")
    parser.add_argument("--compile", action="store_true",
                        help="also time each step compiled (tinyzh distill --compile), in turn with the eager one")
    return parser.parse_args(argv)


def fusable(precision: str) -> bool:
    """Whether ``tinyzh distill`` fuses the teacher's linear layers for ``precision`` on this CPU."""
    from tinyzh.distill.fused import can_fuse
    from tinyzh.distill.wrappers import Precision

    return can_fuse(Precision.of(precision).dtype, torch.device("cpu"), compiled=False)


def default_precisions(flags: set[str]) -> tuple[list[str], str | None]:
    """fp32, plus bf16 on CPUs with bf16 matmul instructions; else a note saying why bf16 is left out."""
    if any(f in flags for f in NATIVE_BF16):
        return ["fp32", "bf16"], None
    return ["fp32"], (f"bf16 not run: this CPU has none of {', '.join(NATIVE_BF16)}, so PyTorch emulates bf16 "
                      "matmuls (tens of times slower than fp32 here); pass --precisions bf16 to run it anyway")


def main(argv: list[str] | None = None) -> int:
    import tempfile

    opts = parse_args(argv)
    torch.set_num_threads(opts.threads)
    from tinyzh.distill.fused import keep_freed_memory

    count_fused_linear_flops()
    kept = not opts.system_malloc and keep_freed_memory()  # as tinyzh distill does on CPU
    print(f"freed memory kept in the process (glibc mallopt): {'yes' if kept else 'no'}")
    if opts.compile:
        from tinyzh.distill.compiler import check_compiler, use_cache_dir
        from tinyzh.errors import ConfigError

        try:
            print(f"--compile: C++ compiler {check_compiler()}, inductor cache {use_cache_dir()}")
        except ConfigError as error:
            raise SystemExit(str(error)) from None
    if not opts.precisions:
        opts.precisions, note = default_precisions(cpu_info()[1])
        if note:
            print(note)
    dtypes = {p: {"fp32": torch.float32, "bf16": torch.bfloat16}[p] for p in opts.precisions}
    # Best of two timings: on a shared machine one may fall on a busy moment.
    peaks = {k: max(matmul_peak(d), matmul_peak(d)) for k, d in dtypes.items()}
    with tempfile.TemporaryDirectory() as tmp:
        if "general" in opts.stages:
            general(opts, peaks, Path(tmp))
        if "task" in opts.stages:
            task(opts, peaks)
    # Peaks again at the end, for the record: a much higher one means the machine was busy at the start.
    later = {k: matmul_peak(d) for k, d in dtypes.items()}
    print("matmul peak " + ", ".join(f"{k} {v / 1e9:.0f} GFLOP/s (at the end {later[k] / 1e9:.0f})"
                                     for k, v in peaks.items()) + f" {machine_line()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
