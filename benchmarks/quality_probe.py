"""How much of each layer's hidden state varies between tokens: the probe behind docs/quality.md's reading.

For each model and each hidden layer (0 = the embedding output), over the real tokens of the first
``--rows`` dev sentences: the **varying share**, the mean over tokens of ``|h - mean| / |h|`` (``mean``
the layer's mean state over those tokens); the **variance**, per feature over tokens, averaged over
features (the scale ``--hidden-loss mse`` works at); and the mean pairwise cosine of the last layer's
``[CLS]`` states (1.000: the same ``[CLS]`` for every sentence). Usage::

    python benchmarks/quality_probe.py RUN/tnews/student-general RUN/tnews/student \\
        RUN/tnews/finetune/teacher/models/tnews --dev RUN/data/tnews/dev.json --task tnews

Each model reads its own tokenizer files (a student carries its teacher's). Eval mode, no gradients,
one batch padded to its longest row (at most ``--max-len`` tokens).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))


def probe(model_dir: Path, texts: list[tuple[str, str | None]], max_len: int) -> dict[str, Any]:
    """``{"varying": [...], "variance": [...], "cls_cosine": float}`` of one checkpoint on ``texts``."""
    from transformers import AutoModel

    from tinyzh.hf import load_hf_tokenizer, quiet_transformers

    tokenizer = load_hf_tokenizer(str(model_dir))
    firsts = [a for a, _ in texts]
    seconds = [b for _, b in texts] if all(b is not None for _, b in texts) else None
    enc = tokenizer(firsts, seconds, padding=True, truncation=True, max_length=max_len, return_tensors="pt")
    with quiet_transformers():
        model = AutoModel.from_pretrained(str(model_dir)).eval()
    with torch.inference_mode():
        states = model(**enc, output_hidden_states=True).hidden_states
    real = enc["attention_mask"].bool()
    varying, variance = [], []
    for layer in states:
        h = layer[real].float()  # (N, D) real tokens
        centred = h - h.mean(0, keepdim=True)
        varying.append(round((centred.norm(dim=-1) / h.norm(dim=-1).clamp_min(1e-12)).mean().item(), 3))
        variance.append(round(h.var(0).mean().item(), 4))
    return {"varying": varying, "variance": variance, "cls_cosine": round(mean_pairwise_cosine(states[-1][:, 0]), 3)}


def mean_pairwise_cosine(vectors: torch.Tensor) -> float:
    """(N, D) -> the mean cosine over the N * (N - 1) ordered pairs of different rows."""
    unit = torch.nn.functional.normalize(vectors.float(), dim=-1)
    n = unit.size(0)
    return (((unit @ unit.T).sum() - n) / max(n * n - n, 1)).item()


def dev_texts(dev: Path, task_name: str, rows: int) -> list[tuple[str, str | None]]:
    """The first ``rows`` dev examples' text (and second text of a pair task), through the task plugin."""
    from tinyzh import plugins
    from tinyzh.tasks.data import load_split

    task = plugins.get_task(task_name)
    examples = load_split(dev, task, "dev", rows)
    return [(e.texts[0], e.texts[1] if len(e.texts) > 1 else None) for e in examples]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="+", type=Path, help="checkpoint folders (with tokenizer files)")
    parser.add_argument("--dev", type=Path, required=True, help="a task's dev.json")
    parser.add_argument("--task", default="tnews", help="the task plugin that reads --dev")
    parser.add_argument("--rows", type=int, default=64)
    parser.add_argument("--max-len", type=int, default=64)
    parser.add_argument("--json", action="store_true", help="one JSON object per model instead of a table")
    args = parser.parse_args(argv)
    torch.manual_seed(0)
    texts = dev_texts(args.dev, args.task, args.rows)
    for model_dir in args.models:
        result = probe(model_dir, texts, args.max_len)
        if args.json:
            print(json.dumps({"model": str(model_dir), **result}))
        else:
            print(f"{model_dir}\n  varying share {result['varying']}\n  variance      {result['variance']}\n"
                  f"  [CLS] cosine  {result['cls_cosine']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
