"""Benchmark ``tinyzh prune-vocab``: tokens kept, parameters and MB, and how far the outputs move.

Two models, each pruned for every text of TNEWS, OCNLI and IFLYTEK (all their files under
``../shared/data/clue``), with and without ``keep_basic``:

- the shared ``multilingual-e5-small-zh`` (a pretrained Unigram SentencePiece encoder, 26,862 pieces);
- a randomly initialised TinyBERT-4 shape (``BertModel``, 4 layers, hidden 312) on bert-base-chinese's
  21,128-token ``vocab.txt``, to show how much of a small student the embeddings are.

Then the largest absolute difference of any hidden state (every layer, non-padding positions) between
the original and the pruned model on the three dev sets, in batches, on ``--threads`` threads, together
with the number of rows whose token ids differ (after mapping; expected 0). Usage::

    python benchmarks/prune_vocab.py                    # 300 dev rows a task, 128 tokens (a few minutes)
    python benchmarks/prune_vocab.py --max-rows 0       # every dev row (slower)
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import torch

from tinyzh.hf import quiet_transformers
from tinyzh.prune import load_tokenizer, prune_model, read_texts

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
TASKS = ("tnews", "ocnli", "iflytek")


def task_files(task: str) -> list[Path]:
    return sorted((SHARED / "clue" / task).glob("*.json"))


def all_texts() -> tuple[list[str], list[Path]]:
    texts: list[str] = []
    files: list[Path] = []
    for task in TASKS:
        texts += read_texts([], task, task_files(task))
        files += task_files(task)
    return texts, files


def build_tinybert(directory: Path) -> Path:
    """A random TinyBERT-4-shaped BertModel (with pooler, as TinyBERT-4's 11.4M counts it) + vocab.txt."""
    from transformers import BertConfig, BertModel

    from tinyzh.config import get_preset

    vocab = SHARED / "vocab" / "bert-base-chinese" / "vocab.txt"
    with open(vocab, encoding="utf-8") as handle:  # lines as transformers reads them (not str.splitlines)
        size = sum(1 for _ in handle)
    config = BertConfig(vocab_size=size, max_position_embeddings=512,
                        **get_preset("tinybert-4").to_bert_config_kwargs())
    torch.manual_seed(0)
    with quiet_transformers():
        BertModel(config).save_pretrained(str(directory))
    (directory / "vocab.txt").write_bytes(vocab.read_bytes())
    return directory


def dev_rows(task: str, max_rows: int) -> list[tuple[str, ...]]:
    from tinyzh import plugins

    rows = [ex.texts for ex in plugins.get_task(task).read_examples(SHARED / "clue" / task / "dev.json", "dev")]
    return rows[:max_rows] if max_rows else rows


def hidden_states(directory: Path, rows: list[tuple[str, ...]], max_len: int, batch: int) -> list[torch.Tensor]:
    """Per batch: the input ids (B, T) and every layer's hidden states (L+1, B, T, H), padding zeroed."""
    from transformers import AutoModel

    tokenizer = load_tokenizer(directory)
    with quiet_transformers():
        model = AutoModel.from_pretrained(str(directory)).eval()
    out = []
    for start in range(0, len(rows), batch):
        chunk = rows[start:start + batch]
        pairs = [list(column) for column in zip(*chunk, strict=True)]
        encoded = tokenizer(*pairs, padding=True, truncation=True, max_length=max_len, return_tensors="pt")
        with torch.no_grad():
            states = torch.stack(model(**encoded, output_hidden_states=True).hidden_states)
        out.append((encoded["input_ids"], states * encoded["attention_mask"][None, :, :, None]))
    return out


def compare(source: Path, pruned: Path, rows: list[tuple[str, ...]], max_len: int, batch: int) -> tuple[float, int]:
    """(largest |hidden state difference|, rows whose mapped token ids differ)."""
    record = json.loads((pruned / "prune_vocab.json").read_text(encoding="utf-8"))
    keep = record["kept_old_ids"]
    new_id = torch.full((record["tokens_before"],), -1, dtype=torch.long)  # old id -> new id, -1 if dropped
    new_id[torch.tensor(keep)] = torch.arange(len(keep))
    worst, bad_rows = 0.0, 0
    originals = hidden_states(source, rows, max_len, batch)
    for (ids_a, h_a), (ids_b, h_b) in zip(originals, hidden_states(pruned, rows, max_len, batch), strict=True):
        mapped = new_id[ids_a]
        bad_rows += int((mapped != ids_b).any(dim=1).sum())
        worst = max(worst, (h_a - h_b).abs().max().item())
    return worst, bad_rows


def run(name: str, source: Path, texts: list[str], files: list[Path], work: Path, args: argparse.Namespace) -> None:
    rows = {task: dev_rows(task, args.max_rows) for task in TASKS}
    print(f"\n## {name} ({source})")
    print("| keep_basic | tokens | kept: special / texts / basic | parameters | MB | embedding share | prune s "
          "| max abs hidden diff (dev: " + ", ".join(f"{t} {len(r)}" for t, r in rows.items())
          + ") | rows with other ids |")
    print("|---|---|---|---|---|---|---|---|---|")
    for keep_basic in (True, False):
        out = work / f"{name}-{'basic' if keep_basic else 'texts'}"
        started = time.perf_counter()
        report = prune_model(source, texts, out, keep_basic=keep_basic, text_files=files)
        seconds = time.perf_counter() - started
        results = [compare(source, out, task_rows, args.max_len, args.batch_size) for task_rows in rows.values()]
        worst, bad = max(r[0] for r in results), sum(r[1] for r in results)
        share_a = report.embedding_params_before / report.params_before
        share_b = report.embedding_params_after / report.params_after
        print(f"| {keep_basic} | {report.tokens_before:,} → {report.tokens_after:,} | {report.special:,} / "
              f"{report.from_texts:,} / {report.basic:,} | {report.params_before / 1e6:.2f}M → "
              f"{report.params_after / 1e6:.2f}M | {report.mb_before:.1f} → {report.mb_after:.1f} | "
              f"{share_a:.0%} → {share_b:.0%} | {seconds:.1f} | {worst:.2e} | {bad} |", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--max-rows", type=int, default=300, help="dev rows a task for the difference (0 = all)")
    parser.add_argument("--max-len", type=int, default=128, help="tokens a row for the difference")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    if not SHARED.is_dir():
        raise SystemExit(f"shared data not found at {SHARED}")
    torch.set_num_threads(args.threads)
    texts, files = all_texts()
    print(f"texts: {len(texts):,} from {len(files)} files ({', '.join(TASKS)}: train, dev, test files)")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        run("multilingual-e5-small-zh", SHARED / "models" / "multilingual-e5-small-zh", texts, files, work, args)
        run("tinybert-4-random", build_tinybert(work / "tinybert-4"), texts, files, work, args)


if __name__ == "__main__":
    main()
