"""Benchmark ``tinyzh pregen`` on the shared Chinese corpora, side by side with TinyBERT's script.

With ``--peer DIR`` (a folder prepared by ``../shared/bench/tinybert_peer.sh setup``), TinyBERT's
``pregenerate_training_data.py`` (whole-word masking, mlm 0.15, 2 workers) and ``tinyzh pregen``
(defaults, 2 workers) run alternately on the same file (the shared corpora concatenated, times
``--scale``), vocabulary and epochs, as whole processes; the ratio of the median wall times is
printed with this CPU's name and flags. Without ``--peer`` no ratio is measured.

Then, per configuration (segmenter rjieba/jieba x 1/2 workers, and the shared multilingual-e5
SentencePiece tokenizer beside bert-base-chinese's WordPiece): instances/s, peak RSS (main process
and largest worker), bytes per instance; whether every configuration writes byte-identical shards;
how 2 workers scale over 1; and flat memory (corpus x1 against x4). Each configuration runs in a
fresh process, so its times include loading the tokenizer and segmenter (not Python's own start).
Usage::

    python benchmarks/pregen.py --peer /work/peer            # side by side, then the table
    python benchmarks/pregen.py --peer /work/peer --scale 1 --no-table
    python benchmarks/pregen.py --quick                      # first corpus only, no peer
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from side_by_side import (  # noqa: E402
    NO_PEER,
    PEER_SCRIPT,
    alternate,
    check_peer,
    compile_bytecode,
    machine_line,
    measure,
    ratio_line,
)

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"

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
    return (f"{name:<27} {r['instances']:>9,} {r['seconds']:>7.1f} {rate:>8,.0f} "
            f"{r['cpu_s']:>6.1f} {r['instances'] / r['cpu_s']:>9,.0f} "
            f"{r['chars'] / r['seconds'] / 1e6:>7.2f} {r['rss_main_mb']:>8.0f} {r['rss_worker_mb']:>8.0f} "
            f"{r['bytes'] / r['instances']:>7.0f}")


def concatenated(corpus: list[Path], path: Path, scale: int) -> Path:
    """The corpus files one after another, ``scale`` times, documents kept apart: one file for both sides."""
    with open(path, "wb") as handle:
        for _ in range(scale):
            for part in corpus:
                handle.write(part.read_bytes().rstrip(b"\n") + b"\n\n")
    return path


def peer_instances(out: Path) -> int:
    return sum(json.loads(p.read_text(encoding="utf-8"))["num_training_examples"] for p in out.glob("epoch_*_metrics.json"))


def cli_run(text: Path, vocab: Path, tmp: Path, epochs: int, segmenter: str | None = None, workers: int = 2) -> dict:
    """``tinyzh pregen`` as a user runs it, measured as a whole process."""
    out = tmp / f"tinyzh_{segmenter or 'default'}_{workers}"
    command = [sys.executable, "-m", "tinyzh", "pregen", str(text), "-o", str(out), "--tokenizer", str(vocab),
               "--workers", str(workers), "--epochs", str(epochs), "--overwrite", "--quiet"]
    run = measure(command + (["--segmenter", segmenter] if segmenter else []))
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    run["instances"], run["segmenter"] = manifest["num_instances"], manifest["tokenizer"]["segmenter"]
    return run


def worker_scaling(opts: argparse.Namespace, corpus: list[Path], vocab: Path, tmp: Path) -> None:
    """1 and 2 workers in turn, ``--scaling-pairs`` rounds, for each segmenter, on the side-by-side corpus."""
    text = concatenated(corpus, tmp / f"corpus_x{opts.scale}.txt", opts.scale)
    print(f"worker scaling: {text.stat().st_size / 1e6:.1f} MB (the corpora x{opts.scale}), {opts.epochs} epoch(s), "
          f"{opts.scaling_pairs} round(s)")
    for segmenter in ("rjieba", "jieba"):
        commands = {f"{segmenter}, {w} worker(s)": (lambda w=w, s=segmenter: cli_run(text, vocab, tmp, opts.epochs, s, w))
                    for w in (1, 2)}
        runs = alternate(commands, opts.scaling_pairs)
        one, two = runs[f"{segmenter}, 1 worker(s)"], runs[f"{segmenter}, 2 worker(s)"]
        print(ratio_line(f"{segmenter}: 2 workers vs 1", one, two).replace("TinyBERT", "1 worker")
              .replace("tinyzh", "2 workers"))


def side_by_side(opts: argparse.Namespace, corpus: list[Path], vocab: Path, tmp: Path) -> dict[str, list[dict]]:
    """TinyBERT's script and ``tinyzh pregen`` (default segmenter, and each of ``--segmenters``), in turn."""
    check_peer(opts.peer, opts.peer_script)
    print(compile_bytecode(opts.peer))
    text = concatenated(corpus, tmp / f"corpus_x{opts.scale}.txt", opts.scale)
    print(f"side by side: {text.stat().st_size / 1e6:.1f} MB (the corpora x{opts.scale}), {opts.epochs} epoch(s), "
          f"whole-word masking, mlm 0.15, max_seq_len 128, 2 workers each, {opts.pairs} round(s)")

    def peer() -> dict:
        out = tmp / "peer_out"
        run = measure(["bash", str(opts.peer_script), "pregen", str(opts.peer), str(text), str(vocab), str(out),
                       str(opts.epochs)])
        run["instances"] = peer_instances(out)
        return run

    commands = {"TinyBERT": peer, "tinyzh": lambda: cli_run(text, vocab, tmp, opts.epochs)}
    for segmenter in opts.segmenters:
        commands[f"tinyzh --segmenter {segmenter}"] = lambda s=segmenter: cli_run(text, vocab, tmp, opts.epochs, s)
    runs = alternate(commands, opts.pairs)
    base = runs["TinyBERT"]
    print(f"TinyBERT: {base[0]['instances']:,} instances, peak RSS {max(r['rss_mb'] for r in base):.0f} MB "
          "(largest process)")
    for name, theirs in list(runs.items())[1:]:
        label = f"{name} ({theirs[0]['segmenter']})" if name == "tinyzh" else name
        print(f"{label}: {theirs[0]['instances']:,} instances, peak RSS {max(r['rss_mb'] for r in theirs):.0f} MB")
        print(ratio_line(f"pregen, {label} vs TinyBERT", base, theirs))
    return runs


def table(corpus: list[Path], vocab: Path, tmp: Path, quick: bool) -> None:
    """The configuration sweep: segmenters x workers, SentencePiece, epochs, worker scaling, flat memory."""
    mb = sum(p.stat().st_size for p in corpus) / 1e6
    print(f"corpus: {', '.join(p.name for p in corpus)} ({mb:.1f} MB); vocab bert-base-chinese; max_seq_len 128, nsp, "
          "static whole-word masking")
    print(f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores (other work slows the wall-clock "
          "figures; 'inst/CPUs' is instances per CPU-second of pregen's own processes)")
    print(f"{'configuration':<27} {'instances':>9} {'seconds':>7} {'inst/s':>8} {'CPU s':>6} "
          f"{'inst/CPUs':>9} {'Mchar/s':>7} {'RSS main':>8} {'RSS wkr':>8} {'B/inst':>7}")
    results = {}
    for segmenter in ("rjieba", "jieba"):
        for workers in (1, 2):
            name = f"{segmenter}, {workers} worker(s)"
            results[name] = run(corpus, tmp / name.replace(" ", "_"), vocab, segmenter, workers)
            print(row(name, results[name]), flush=True)
    spm = SHARED / "models" / "multilingual-e5-small-zh"
    if (spm / "tokenizer.json").is_file():  # SentencePiece (Unigram) beside WordPiece, same corpus
        for segmenter in ("rjieba", "jieba"):
            name = f"e5 SentencePiece, {segmenter}, 2 w"
            sp = run(corpus, tmp / name.replace(" ", "_"), spm, segmenter, 2)
            wp = results[f"{segmenter}, 2 worker(s)"]
            print(row(name, sp) + f"   wall time {sp['seconds'] / wp['seconds']:.2f}x WordPiece's "
                  f"(characters/s {wp['seconds'] / sp['seconds']:.2f}x)", flush=True)
    else:
        print(f"no SentencePiece row: {spm} not found")
    epochs = run(corpus, tmp / "epochs", vocab, "rjieba", 2, epochs=3)
    print(row("rjieba, 2 workers, 3 epochs", epochs), flush=True)
    same = len({tuple(r["shards"]) for r in results.values()}) == 1
    print(f"identical shards for every segmenter and worker count: {'yes' if same else 'NO'}")
    for segmenter in ("rjieba", "jieba"):
        one, two = results[f"{segmenter}, 1 worker(s)"], results[f"{segmenter}, 2 worker(s)"]
        print(f"worker scaling, {segmenter}: 2 workers {one['seconds'] / two['seconds']:.2f}x one worker "
              f"(one run each) {machine_line()}")
    if quick:
        return
    x1 = results["rjieba, 2 worker(s)"]
    x4 = run([concatenated(corpus, tmp / "corpus_x4.txt", 4)], tmp / "x4", vocab, "rjieba", 2)
    print(row("rjieba, 2 workers, x4", x4))
    print(f"flat memory: corpus x1 -> x4 peak RSS main {x1['rss_main_mb']:.0f} -> {x4['rss_main_mb']:.0f} MB, "
          f"worker {x1['rss_worker_mb']:.0f} -> {x4['rss_worker_mb']:.0f} MB")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="only the first corpus file, no x4 memory run")
    parser.add_argument("--peer", type=Path, help="folder prepared by tinybert_peer.sh setup: run TinyBERT beside")
    parser.add_argument("--peer-script", type=Path, default=PEER_SCRIPT, help="the peer driver script")
    parser.add_argument("--pairs", type=int, default=2, help="rounds of TinyBERT then tinyzh (medians are compared)")
    parser.add_argument("--scale", type=int, default=4, help="side by side on the corpora concatenated this often")
    parser.add_argument("--epochs", type=int, default=2, help="epochs side by side (TinyBERT's workers split epochs)")
    parser.add_argument("--segmenters", nargs="*", default=[], choices=["rjieba", "jieba"],
                        help="also run tinyzh with these segmenters side by side")
    parser.add_argument("--scaling-pairs", type=int, default=0,
                        help="also alternate 1 and 2 workers this many rounds on the side-by-side corpus")
    parser.add_argument("--no-table", action="store_true", help="no configuration table (side by side and scaling only)")
    parser.add_argument("--corpus", type=Path, nargs="+", help="corpus files (default: ../shared/data/corpus/*.txt)")
    parser.add_argument("--vocab", type=Path, default=SHARED / "vocab" / "bert-base-chinese",
                        help="folder with vocab.txt (default: the shared bert-base-chinese vocabulary)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    opts = parse_args(argv)
    corpus = opts.corpus or sorted((SHARED / "corpus").glob("*.txt"))
    if not corpus or not (opts.vocab / "vocab.txt").is_file():
        print(f"skipped: shared data not found at {SHARED} (needs corpus/*.txt and vocab/bert-base-chinese)")
        return 0
    if opts.quick:
        corpus = corpus[:1]
    with tempfile.TemporaryDirectory() as tmp:
        if opts.peer is not None:
            side_by_side(opts, corpus, opts.vocab, Path(tmp))
        else:
            print(NO_PEER)
        if opts.scaling_pairs:
            worker_scaling(opts, corpus, opts.vocab, Path(tmp))
        if not opts.no_table:
            table(corpus, opts.vocab, Path(tmp), opts.quick)
    return 0


if __name__ == "__main__":
    sys.exit(main())
