"""Benchmark ``tinyzh export``: bert-base-chinese's shape and a TinyBERT-4 student, one run, same threads.

Both models are exported with ``--quantize int8`` through the same public ``export_model`` a user's
``tinyzh export`` calls (fused fp32 graph plus every int8 variant, the fastest kept), and then the
four files that matter -- each model's PyTorch fp32 and its chosen ONNX file -- are timed once more
side by side in one loop (batch 1 x 128 tokens, and batch 32 x 128), so the ratios compare models
under the same background load. Weights are random (bert-base's cannot be had offline; speed does
not depend on them) unless ``--student`` names a fine-tuned checkpoint, whose dev accuracy
``--task``/``--data`` then gates. Usage::

    python benchmarks/export.py --threads 2 --runs 30
    python benchmarks/export.py --student results/tb4/models/tnews --task tnews \\
        --data ../shared/data/clue/tnews/dev.json
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import torch

from tinyzh.export import ExportConfig, ExportReport, export_model
from tinyzh.export.model import example_inputs, load_for_export
from tinyzh.export.onnx_format import OnnxRunner
from tinyzh.export.timing import cpu_info, side_by_side
from tinyzh.hf import quiet_transformers

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
SHAPES = {  # (layers, hidden, intermediate, heads)
    "bert-base-chinese": (12, 768, 3072, 12),
    "tinybert-4": (4, 312, 1200, 12),
}
TNEWS_LABELS = 15


def build_classifier(directory: Path, vocab: Path, shape: str) -> Path:
    """A random-weight sequence classifier of ``shape`` with bert-base-chinese's 21,128-entry vocabulary."""
    from transformers import BertConfig, BertForSequenceClassification

    from tinyzh.hf import load_hf_tokenizer

    layers, hidden, intermediate, heads = SHAPES[shape]
    tokenizer = load_hf_tokenizer(str(vocab))
    config = BertConfig(vocab_size=len(tokenizer), hidden_size=hidden, num_hidden_layers=layers,
                        intermediate_size=intermediate, num_attention_heads=heads, num_labels=TNEWS_LABELS)
    torch.manual_seed(0)
    with quiet_transformers():
        BertForSequenceClassification(config).save_pretrained(str(directory))
    tokenizer.save_pretrained(str(directory))
    return directory


def print_report(name: str, report: ExportReport) -> None:
    print(f"\n{name}: fused {report.fusions}")
    print(f"  {'variant':31s} {'MB':>7s} {'ms':>8s} {'max|diff|':>9s} {'dev':>6s} {'Δ':>6s}  note")
    for row in report.rows:
        diff = "-" if row.max_abs_diff is None else f"{row.max_abs_diff:.1e}"
        dev = "-" if row.dev_score is None else f"{row.dev_score:.2f}"
        delta = "-" if row.dev_delta is None else f"{row.dev_delta:+.2f}"
        print(f"  {row.variant:31s} {row.size_bytes / 1e6:7.1f} {row.latency_ms:8.2f} {diff:>9s} {dev:>6s} "
              f"{delta:>6s}  {row.note}")
        if row.dev_ms is not None:
            print(f"  {'':31s} dev rows batch 1: {row.dev_ms:.2f} ms alone, {row.dev_tokenized_ms:.2f} ms with "
                  f"the tokenizer; batch 32: {row.rows_per_s:.0f} rows/s")


def final_timing(reports: dict[str, ExportReport], threads: int, runs: int) -> dict[str, dict[str, float]]:
    """PyTorch fp32 and the chosen ONNX file of each model, alternating in one loop, at batch 1 and 32."""
    forwards, probe = {}, None
    for name, report in reports.items():
        module = load_for_export(report.config.model)
        forwards[f"{name} pytorch"] = module
        forwards[f"{name} {report.chosen}"] = OnnxRunner(report.output, threads)
        probe = module
    results = {}
    for batch in (1, 32):
        inputs = example_inputs(probe, batch, 128, seed=3, pad=False)
        rounds = runs if batch == 1 else max(3, runs // 5)
        results[f"batch {batch}"] = side_by_side(forwards, [inputs] * rounds, warmup=2)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vocab", type=Path, default=SHARED / "vocab" / "bert-base-chinese")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--student", type=Path, help="a fine-tuned TinyBERT-4 classifier (default: random)")
    parser.add_argument("--task", help="the student's task, for the accuracy gate")
    parser.add_argument("--data", type=Path, help="its labelled dev file")
    parser.add_argument("--json", type=Path, help="also write every figure here")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    cpu = cpu_info()
    print(f"CPU: {cpu['model']}; flags: {', '.join(cpu['flags']) or 'none of ' + 'avx2/avx512/vnni/amx'}; "
          f"{args.threads} threads; torch {torch.__version__}")
    with tempfile.TemporaryDirectory(prefix="tinyzh-bench-export-") as tmp:
        models = {"bert-base": build_classifier(Path(tmp) / "bert-base", args.vocab, "bert-base-chinese")}
        models["tinybert-4"] = args.student or build_classifier(Path(tmp) / "tinybert-4", args.vocab, "tinybert-4")
        reports = {}
        for name, directory in models.items():
            gate = {"task": args.task, "data": args.data} if name == "tinybert-4" and args.data else {}
            config = ExportConfig(directory, quantize="int8", output=Path(tmp) / f"{name}.int8.onnx",
                                  threads=args.threads, runs=args.runs, **gate)
            reports[name] = export_model(config)
            print_report(name, reports[name])
        timing = final_timing(reports, args.threads, args.runs)
    base_pt, base_q = timing["batch 1"]["bert-base pytorch"], timing["batch 1"][f"bert-base {reports['bert-base'].chosen}"]
    print("\nside by side, 128 tokens (median ms; rows/s at batch 32):")
    for name in timing["batch 1"]:
        b1, b32 = timing["batch 1"][name], timing["batch 32"][name]
        print(f"  {name:42s} b1 {b1:8.2f} ms  {base_pt / b1:6.1f}x bert-base pytorch  {base_q / b1:5.1f}x "
              f"bert-base int8   b32 {32000 / b32:7.0f} rows/s")
    student = timing["batch 1"][f"tinybert-4 {reports['tinybert-4'].chosen}"]
    print(f"\ntargets: {base_pt / student:.1f}x bert-base fp32 PyTorch (target >= 40x), "
          f"{base_q / student:.1f}x bert-base's best int8 ONNX (target >= 8x)")
    if args.json:
        figures = {"cpu": cpu, "threads": args.threads, "timing": timing,
                   "reports": {name: r.to_dict() for name, r in reports.items()}}
        args.json.write_text(json.dumps(figures, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
