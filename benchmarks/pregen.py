"""Benchmark ``tinyzh pregen`` on the shared Chinese corpora.

Prints, per configuration (segmenter jieba/rjieba x 1/2 workers, and the shared multilingual-e5
SentencePiece tokenizer beside bert-base-chinese's WordPiece): instances/s, peak RSS (main
process and largest worker), bytes per instance of the output; checks that every configuration
writes byte-identical shards; and checks flat memory by running the corpus x1 and x4 (the files
concatenated four times). Each configuration runs in a fresh process, so times include loading the
tokenizer and segmenter (not Python's own start). Usage::

    python benchmarks/pregen.py            # needs ../shared/data (corpus/*.txt, vocab/bert-base-chinese)
    python benchmarks/pregen.py --quick    # first corpus only

Reference: TinyBERT's ``pregenerate_training_data.py`` makes ~3.5k instances/s on this machine (one
process, character vocabulary, no segmentation); the target is 10x that on 2 workers.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
REFERENCE_RATE = 3500.0

CHILD = r"""
import json, resource, sys, time
from pathlib import Path
from tinyzh.pregen import PregenConfig, run_pregen
args = json.loads(sys.argv[1])
started = time.perf_counter()
cpu_before = sum(getattr(resource.getrusage(resource.RUSAGE_SELF), f) for f in ("ru_utime", "ru_stime"))
cfg = PregenConfig(corpus=[Path(p) for p in args["corpus"]], output=Path(args["output"]), tokenizer=args["vocab"],
                   segmenter=args["segmenter"], workers=args["workers"], epochs=args["epochs"], overwrite=True)
manifest = run_pregen(cfg)
seconds = time.perf_counter() - started
size = sum((cfg.output / s["file"]).stat().st_size for s in manifest["shards"])
print(json.dumps({
    "seconds": seconds, "instances": manifest["num_instances"], "bytes": size,
    "chars": manifest["corpus"]["characters"], "shards": [s["sha256"] for s in manifest["shards"]],
    "cpu_s": sum(getattr(resource.getrusage(who), f) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)
                 for f in ("ru_utime", "ru_stime")) - cpu_before,
    "rss_main_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    "rss_worker_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
}))
"""


def run(corpus: list[Path], output: Path, vocab: Path, segmenter: str, workers: int, epochs: int = 1) -> dict:
    args = {"corpus": [str(p) for p in corpus], "output": str(output), "vocab": str(vocab),
            "segmenter": segmenter, "workers": workers, "epochs": epochs}
    done = subprocess.run([sys.executable, "-c", CHILD, json.dumps(args)], capture_output=True, text=True, check=False)
    if done.returncode:
        raise SystemExit(f"pregen failed for {segmenter}/{workers}:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def row(name: str, r: dict) -> str:
    rate = r["instances"] / r["seconds"]
    return (f"{name:<27} {r['instances']:>9,} {r['seconds']:>7.1f} {rate:>8,.0f} {rate / REFERENCE_RATE:>6.1f}x "
            f"{r['cpu_s']:>6.1f} {r['instances'] / r['cpu_s']:>9,.0f} "
            f"{r['chars'] / r['seconds'] / 1e6:>7.2f} {r['rss_main_mb']:>8.0f} {r['rss_worker_mb']:>8.0f} "
            f"{r['bytes'] / r['instances']:>7.0f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="only the first corpus file, no x4 memory run")
    opts = parser.parse_args()
    corpus = sorted((SHARED / "corpus").glob("*.txt"))
    vocab = SHARED / "vocab" / "bert-base-chinese"
    if not corpus or not (vocab / "vocab.txt").is_file():
        print(f"skipped: shared data not found at {SHARED} (needs corpus/*.txt and vocab/bert-base-chinese)")
        return
    if opts.quick:
        corpus = corpus[:1]
    mb = sum(p.stat().st_size for p in corpus) / 1e6
    print(f"corpus: {', '.join(p.name for p in corpus)} ({mb:.1f} MB); vocab bert-base-chinese; max_seq_len 128, nsp, "
          "static whole-word masking")
    print(f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores (other work slows the wall-clock "
          "figures; 'inst/CPUs' is instances per CPU-second of pregen's own processes)")
    print(f"{'configuration':<27} {'instances':>9} {'seconds':>7} {'inst/s':>8} {'vs ref':>7} {'CPU s':>6} "
          f"{'inst/CPUs':>9} {'Mchar/s':>7} {'RSS main':>8} {'RSS wkr':>8} {'B/inst':>7}")
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for segmenter in ("rjieba", "jieba"):
            for workers in (1, 2):
                name = f"{segmenter}, {workers} worker(s)"
                results[name] = run(corpus, Path(tmp) / name.replace(" ", "_"), vocab, segmenter, workers)
                print(row(name, results[name]), flush=True)
        spm = SHARED / "models" / "multilingual-e5-small-zh"
        if (spm / "tokenizer.json").is_file():  # SentencePiece (Unigram) beside WordPiece, same corpus
            for segmenter in ("rjieba", "jieba"):
                name = f"e5 SentencePiece, {segmenter}, 2 w"
                sp = run(corpus, Path(tmp) / name.replace(" ", "_"), spm, segmenter, 2)
                wp = results[f"{segmenter}, 2 worker(s)"]
                print(row(name, sp) + f"   wall time {sp['seconds'] / wp['seconds']:.2f}x WordPiece's "
                      f"(characters/s {wp['seconds'] / sp['seconds']:.2f}x)", flush=True)
        else:
            print(f"no SentencePiece row: {spm} not found")
        epochs = run(corpus, Path(tmp) / "epochs", vocab, "rjieba", 2, epochs=3)
        print(row("rjieba, 2 workers, 3 epochs", epochs), flush=True)
        same = len({tuple(r["shards"]) for r in results.values()}) == 1
        print(f"identical shards for every segmenter and worker count: {'yes' if same else 'NO'}")
        if opts.quick:
            return
        big = Path(tmp) / "corpus_x4.txt"
        with open(big, "wb") as handle:
            for _ in range(4):
                for path in corpus:
                    handle.write(path.read_bytes() + b"\n\n")
        x1 = results["rjieba, 2 worker(s)"]
        x4 = run([big], Path(tmp) / "x4", vocab, "rjieba", 2)
        print(row("rjieba, 2 workers, x4", x4))
        print(f"flat memory: corpus x1 -> x4 peak RSS main {x1['rss_main_mb']:.0f} -> {x4['rss_main_mb']:.0f} MB, "
              f"worker {x1['rss_worker_mb']:.0f} -> {x4['rss_worker_mb']:.0f} MB")


if __name__ == "__main__":
    main()
