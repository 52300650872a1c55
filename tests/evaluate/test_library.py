"""The eval library pieces: metrics, submission writer, config, fine-tuning that learns, prediction order."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest
import torch

from tests import tiny
from tests.tasks import clue_files
from tinyzh import plugins
from tinyzh.errors import ConfigError
from tinyzh.evaluate.config import EvalConfig, ModelSpec
from tinyzh.evaluate.finetune import load_classifier, predict, total_steps
from tinyzh.evaluate.metrics import accuracy, get_metric, macro_f1
from tinyzh.evaluate.runner import run_eval
from tinyzh.evaluate.submission import write_submission, zip_submissions
from tinyzh.hf import load_hf_tokenizer
from tinyzh.tasks.features import encode_examples


def test_metrics() -> None:
    assert accuracy(["a", "b", "b", "c"], ["a", "b", "c", "c"]) == 0.75
    assert accuracy([], []) == 0.0
    # class a: f1 1; b: tp 1 fn 1 -> 2/3; c: tp 1 fp 1 -> 2/3
    assert macro_f1(["a", "b", "b", "c"], ["a", "b", "c", "c"]) == pytest.approx((1 + 2 / 3 + 2 / 3) / 3)
    with pytest.raises(ValueError):
        accuracy(["a"], [])
    with pytest.raises(ConfigError, match="available: accuracy, macro_f1"):
        get_metric("bleu")


def test_submission_lines_keep_id_types_and_order_and_zip_is_flat(tmp_path: Path) -> None:
    path = write_submission(tmp_path / "sub" / "tnews11_predict.json", ["0", 7, "x"], ["100", "102", "116"])
    assert path.read_text(encoding="utf-8").splitlines() == [
        '{"id": "0", "label": "100"}', '{"id": 7, "label": "102"}', '{"id": "x", "label": "116"}']
    write_submission(tmp_path / "sub" / "afqmc_predict.json", [0], ["1"])
    (tmp_path / "sub" / "notes.txt").write_text("not part of the submission", encoding="utf-8")
    write_submission(tmp_path / "sub" / "lcqmc.jsonl", [0], ["1"])  # a plugin's file, named otherwise
    files = [tmp_path / "sub" / n for n in ("tnews11_predict.json", "lcqmc.jsonl", "afqmc_predict.json")]
    with zipfile.ZipFile(zip_submissions(files, tmp_path / "submission.zip")) as archive:
        assert archive.namelist() == ["afqmc_predict.json", "lcqmc.jsonl", "tnews11_predict.json"]
    with pytest.raises(ValueError):
        write_submission(tmp_path / "x.json", [1, 2], ["1"])


def test_model_spec_and_config_validation(tmp_path: Path) -> None:
    assert ModelSpec.parse("runs/student/") == ModelSpec("student", "runs/student/")
    assert ModelSpec.parse("t=bert-base-chinese") == ModelSpec("t", "bert-base-chinese")
    assert ModelSpec.parse("hfl/chinese-roberta") == ModelSpec("chinese-roberta", "hfl/chinese-roberta")
    with pytest.raises(ConfigError, match="NAME=PATH"):
        ModelSpec.parse("name=")
    base = dict(models=[ModelSpec("a", "x")], tasks=["afqmc"], data_dir=tmp_path)
    with pytest.raises(ConfigError, match="--warmup-ratio"):
        EvalConfig(**base, warmup_ratio=1.0)
    with pytest.raises(ConfigError, match="--max-train-examples must be > 0"):
        EvalConfig(**base, max_train_examples=0)
    config = EvalConfig(**base, epochs=0.5)
    assert EvalConfig.from_dict(json.loads(json.dumps(config.to_dict()))) == config
    assert total_steps(10, 4, 0.5) == 2 and total_steps(10, 4, 3) == 9 and total_steps(1, 16, 0.01) == 1


def _separable(root: Path) -> Path:
    """TNEWS rows whose label is given away by the first word: any working fine-tune learns it."""
    words = {"100": "手机", "102": "球队", "104": "股市"}
    rows = [{"sentence": f"{w}{tail}", "label": int(code), "id": f"{code}-{i}"}
            for i, tail in enumerate(["很好", "不错", "一般", "太差"]) for code, w in words.items()]
    for split in ("train", "dev"):
        clue_files.write_jsonl(root / "tnews" / f"{split}.json", rows)
    return root


def test_fine_tuning_learns_a_separable_task(tmp_path: Path, vocab_dir: Path) -> None:
    torch.set_num_threads(2)
    model = tiny.save_tiny_bert(tmp_path / "m", vocab_dir, kind="base", layers=1, hidden=32)
    config = EvalConfig(models=[ModelSpec("m", str(model))], tasks=["tnews"], data_dir=_separable(tmp_path / "clue"),
                        output=tmp_path / "out", epochs=50, batch_size=4, lr=1e-2, warmup_ratio=0.0, max_seq_len=16,
                        threads=1)
    from tinyzh.report import Reporter

    class Recorder(Reporter):
        def __init__(self) -> None:
            self.rows: list = []
            self.bars: dict = {}

        def metrics(self, group, step, values) -> None:
            self.rows.append((group, step, dict(values)))

        def progress(self, name, completed, total=None, info=None) -> None:
            self.bars[name] = (completed, total)

    recorder = Recorder()
    summary = run_eval(config, recorder)
    assert torch.get_num_threads() == 2  # --threads applies to the run only
    (pair,) = summary.results
    assert pair.dev_score == 1.0 and pair.train_steps == 150 and pair.train_loss < 0.3
    # the pair's figures reach the reporter; each loop's bar ends full
    assert recorder.rows == [("eval/m", 150, {"tnews/dev_accuracy": 1.0, "tnews/examples_per_s": pair.examples_per_s,
                                              "tnews/train_loss": pair.train_loss})]
    assert recorder.bars["m / tnews: fine-tune"] == (150, 150) and recorder.bars["m / tnews: dev"] == (12, 12)
    assert summary.rows()[0]["tnews"] == 100.0 and pair.submission is None  # no test.json: no submission


@pytest.mark.parametrize("model_type", ["xlm-roberta", "ernie"])
def test_fine_tuning_works_for_other_families_with_sentencepiece(tmp_path: Path, model_type: str) -> None:
    spm = tmp_path / "spm"  # trained on the task's words too: none of them may be unknown
    data = _separable(tmp_path / "clue")
    sentences = [json.loads(line)["sentence"] for line in (data / "tnews" / "train.json").open(encoding="utf-8")]
    tiny.build_spm_tokenizer(800, lines=tiny.spm_training_lines() + sentences * 3).save_pretrained(str(spm))
    model = tiny.save_tiny_model(tmp_path / "m", spm, model_type=model_type, kind="base", layers=1, hidden=32,
                                 **({"type_vocab_size": 1} if model_type == "xlm-roberta" else {}))
    config = EvalConfig(models=[ModelSpec("m", str(model))], tasks=["tnews"], data_dir=data,
                        output=tmp_path / "out", epochs=50, batch_size=4, lr=1e-2, warmup_ratio=0.0, max_seq_len=16,
                        threads=1)
    (pair,) = run_eval(config).results
    assert pair.dev_score == 1.0


def test_predict_restores_input_order_after_sorting_by_length(tmp_path: Path, vocab_dir: Path) -> None:
    task = plugins.get_task("tnews")
    path = tiny.save_tiny_bert(tmp_path / "m", vocab_dir, kind="base", layers=1, hidden=32)
    model = load_classifier(str(path), task, trained=False)
    tokenizer = load_hf_tokenizer(str(path))
    examples = clue_files.rows("tnews", "test")
    from tinyzh.protocols import TaskExample

    items = [TaskExample(id=r["id"], texts=(r["sentence"] * (i + 1),), label=None, line=i + 1)
             for i, r in enumerate(examples)]
    features = encode_examples(tokenizer, task, items, 64)
    batched = predict(model, features, batch_size=2).labels
    one_by_one = [predict(model, {k: v[i : i + 1] for k, v in features.items()}, 1).labels[0] for i in range(len(items))]
    assert batched == one_by_one and all(label in task.labels for label in batched)
