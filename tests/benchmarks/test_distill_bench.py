"""benchmarks/distill.py: the peer's rate is parsed, alternated with tinyzh's steps and compared."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))

import distill as distill_bench  # noqa: E402


class FakeBench:
    """Stands in for a BERT-base step (seconds on 2 cores): 2 s/step, 1 TFLOP."""

    def __init__(self, stage: str, precision: str, batch: int, seq: int) -> None:
        self.flops = 1e12
        self.shape = (stage, precision, batch, seq)

    def seconds_per_step(self, steps: int, warmup: int) -> float:
        return 2.0

    def step_and_teacher(self, steps: int, warmup: int) -> tuple[float, float]:
        return 2.0, 1.5


@pytest.fixture()
def fast(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(distill_bench, "StepBench", FakeBench)
    monkeypatch.setattr(distill_bench, "matmul_peak", lambda dtype: 4e12)


def test_tqdm_rates_in_either_unit() -> None:
    assert distill_bench.tqdm_seconds_per_step("Iteration: 3/1385 [00:30<3:40:00, 9.50s/it]") == 9.5
    assert distill_bench.tqdm_seconds_per_step("Iteration: 9/99 [00:03<00:30,  2.00it/s]") == 0.5
    with pytest.raises(SystemExit, match="--peer-seconds"):
        distill_bench.tqdm_seconds_per_step("")


def test_task_epoch_shape_follows_the_text_lengths() -> None:
    seq, steps = distill_bench.task_shape([10] * 99 + [60], batch=32, examples=53_360)
    assert steps == 1667
    assert 10 < seq < 60  # a batch is as long as its longest text: some batches hold the long one
    assert distill_bench.task_shape([20], batch=32, examples=64) == (20, 2)


def test_without_peer_no_ratio(fast: None, capsys: pytest.CaptureFixture) -> None:
    assert distill_bench.main(["--precisions", "fp32"]) == 0
    out = capsys.readouterr().out
    assert "fp32: 2.00 s/step, 16.00 samples/s" in out and "12% of the fp32 matmul peak" in out
    assert "no ratio measured" in out and "ratio " not in out.replace("no ratio", "")


def test_side_by_side_with_a_fake_peer(fast: None, fake_peer: tuple, capsys: pytest.CaptureFixture,
                                       tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    script, peer, log = fake_peer
    corpus = tmp_path / "shared" / "corpus"
    corpus.mkdir(parents=True)
    (corpus / "a.txt").write_text("一句。\n两句。\n\n三句。\n", encoding="utf-8")
    monkeypatch.setattr(distill_bench, "SHARED", tmp_path / "shared")
    code = distill_bench.main(["--precisions", "fp32", "bf16", "--peer", str(peer), "--peer-script", str(script),
                               "--pairs", "2", "--peer-seconds", "5"])
    out = capsys.readouterr().out
    assert code == 0
    assert log.read_text(encoding="utf-8").split() == ["models", "pregen", "distill", "distill"]  # prepared once, run per round
    assert "tinyzh fp32 vs TinyBERT fp32: TinyBERT 9.50 s/step, tinyzh 2.00 s/step" in out
    assert "ratio 4.75x" in out and "tinyzh bf16 vs TinyBERT fp32" in out


def test_task_stage_reports_both_steps_and_an_epoch(fast: None, capsys: pytest.CaptureFixture) -> None:
    assert distill_bench.main(["--stages", "task", "--precisions", "fp32", "--task-examples", "3200"]) == 0
    out = capsys.readouterr().out
    assert "an epoch of 3,200 examples = 100 steps" in out
    assert "intermediate fp32: 2.000 s/step (teacher forward 1.500 s, 75%)" in out
    assert "prediction fp32: 2.000 s/step" in out
    assert "epoch ~3 min" in out  # 100 steps x 2 s


def test_bf16_only_where_the_cpu_has_bf16_matmuls() -> None:
    assert distill_bench.default_precisions({"avx2", "amx_bf16"}) == (["fp32", "bf16"], None)
    assert distill_bench.default_precisions({"avx512f", "avx512_bf16"})[0] == ["fp32", "bf16"]
    precisions, note = distill_bench.default_precisions({"avx2", "fma"})
    assert precisions == ["fp32"] and note is not None and "--precisions bf16" in note


@pytest.mark.parametrize("stage", ["general", "intermediate", "prediction"])
def test_real_step_bench_builds_and_steps(stage: str) -> None:
    """The real bench (BERT-base teacher, TinyBERT-4 student) on a tiny batch: the phase it builds
    from tinyzh's distill API still trains, and counts FLOPs."""
    bench = distill_bench.StepBench(stage, "fp32", 2, 8)
    assert bench.flops > 0
    assert bench.seconds_per_step(1, 0) > 0
