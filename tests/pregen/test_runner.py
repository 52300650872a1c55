"""End to end: shards + manifest, worker-count independence, resume, bad input, gzip."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np
import pytest

from tests.pregen import helpers
from tinyzh.errors import ConfigError, InputError
from tinyzh.pregen import PregenConfig, PregenDataset, run_pregen
from tinyzh.pregen.shards import read_shard, sha256_file


def config(corpus: Path | list[Path], output: Path, vocab_dir: Path, **kw) -> PregenConfig:
    kw = {"max_seq_len": 48, "chunk_documents": 20, "workers": 1, **kw}
    return PregenConfig(corpus=corpus, output=output, tokenizer=str(vocab_dir), **kw)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return helpers.write_corpus(tmp_path_factory.mktemp("corpus") / "c.txt", helpers.documents(70, seed=1))


@pytest.fixture(scope="module")
def done(tmp_path_factory: pytest.TempPathFactory, corpus: Path, vocab_dir: Path) -> tuple[PregenConfig, dict]:
    cfg = config(corpus, tmp_path_factory.mktemp("out"), vocab_dir, epochs=2)
    return cfg, run_pregen(cfg)


def test_manifest_lists_settings_tokenizer_and_checksums(done: tuple[PregenConfig, dict], vocab_dir: Path) -> None:
    from tinyzh.tokenizers.bert_chinese import BertChineseTokenizer

    cfg, manifest = done
    assert json.loads((cfg.output / "manifest.json").read_text(encoding="utf-8")) == manifest
    assert manifest["format_version"] == 1 and manifest["epochs"] == 2 and manifest["max_seq_len"] == 48
    assert manifest["masking"] == "static" and manifest["pair_task"] == "nsp" and manifest["seed"] == 0
    tok = BertChineseTokenizer(str(vocab_dir))
    assert manifest["tokenizer"]["vocab_fingerprint"] == tok.vocab_fingerprint()
    assert manifest["tokenizer"]["mask_token_id"] == tok.mask_token_id
    assert manifest["config"]["corpus"] == [str(cfg.corpus[0])]
    assert manifest["corpus"]["documents"] == 70
    assert sum(s["num_instances"] for s in manifest["shards"]) == manifest["num_instances"] > 70
    assert [s["epoch"] for s in manifest["shards"]] == sorted(s["epoch"] for s in manifest["shards"])
    for shard in manifest["shards"]:
        assert sha256_file(cfg.output / shard["file"]) == shard["sha256"]
        meta, arrays = read_shard(cfg.output / shard["file"])
        assert meta["num_instances"] == shard["num_instances"] == len(arrays["lengths"])
        assert arrays["input_ids"].dtype == np.uint16  # compact: a small vocabulary fits in 2 bytes
    assert set(manifest["bad_input"]) >= {"invalid_utf8_lines", "empty_documents", "long_lines_split"}


def test_epochs_are_masked_differently(done: tuple[PregenConfig, dict]) -> None:
    cfg, manifest = done
    first, second = (read_shard(cfg.output / s["file"])[1] for s in manifest["shards"] if s["chunk"] == 0)
    assert not np.array_equal(first["masked_positions"][:50], second["masked_positions"][:50])


def test_same_bytes_with_one_and_two_workers(done: tuple[PregenConfig, dict], corpus: Path, vocab_dir: Path,
                                              tmp_path: Path) -> None:
    cfg, _ = done
    run_pregen(config(corpus, tmp_path, vocab_dir, epochs=2, workers=2))
    assert helpers.shard_bytes(tmp_path) == helpers.shard_bytes(cfg.output)


def test_seed_changes_output(done: tuple[PregenConfig, dict], corpus: Path, vocab_dir: Path, tmp_path: Path) -> None:
    from tinyzh.report import Reporter

    class Last(Reporter):  # progress goes to the reporter: the last call has read the whole corpus
        def progress(self, name, completed, total=None, info=None) -> None:
            self.last = (completed, total, dict(info or {}))

    reporter = Last()
    manifest = run_pregen(config(corpus, tmp_path, vocab_dir, epochs=2, seed=1), reporter)
    assert helpers.shard_bytes(tmp_path) != helpers.shard_bytes(done[0].output)
    completed, total, info = reporter.last
    assert completed == total and info["instances"] == manifest["num_instances"]


def test_resume_after_interruption_gives_identical_output(done: tuple[PregenConfig, dict], corpus: Path,
                                                          vocab_dir: Path, tmp_path: Path) -> None:
    cfg = config(corpus, tmp_path, vocab_dir, epochs=2)
    manifest = run_pregen(cfg)
    expected = helpers.shard_bytes(tmp_path)
    names = sorted(expected)
    # An interrupted run: the manifest never written, one shard lost, one half-written.
    (tmp_path / "manifest.json").unlink()
    (tmp_path / names[-1]).unlink()
    (tmp_path / names[1]).write_bytes(expected[names[1]][:100])
    redo = {names[-1].split("-c")[1], names[1].split("-c")[1]}  # chunks with a damaged shard
    kept = {n: (tmp_path / n).stat().st_mtime_ns for n in names if n.split("-c")[1] not in redo}
    assert kept
    assert run_pregen(cfg)["shards"] == manifest["shards"]
    assert helpers.shard_bytes(tmp_path) == expected
    assert all((tmp_path / n).stat().st_mtime_ns == stamp for n, stamp in kept.items())  # not redone


def test_other_settings_in_the_same_directory_are_refused(done: tuple[PregenConfig, dict], corpus: Path,
                                                          vocab_dir: Path) -> None:
    cfg, _ = done
    with pytest.raises(ConfigError, match="other settings"):
        run_pregen(config(corpus, cfg.output, vocab_dir, epochs=3))


def test_a_run_of_an_older_sampling_is_not_resumed(corpus: Path, vocab_dir: Path, tmp_path: Path) -> None:
    """An interrupted run of a tinyzh whose seeds gave other instances or masks (its run.json has an
    older ``sampling_version``, or none) is refused rather than completed into a mix of the two."""
    cfg = config(corpus, tmp_path, vocab_dir, epochs=1)
    run_pregen(cfg)
    run_file = tmp_path / "run.json"
    older = json.loads(run_file.read_text(encoding="utf-8"))
    del older["sampling_version"]
    run_file.write_text(json.dumps(older), encoding="utf-8")
    with pytest.raises(ConfigError, match="other settings"):
        run_pregen(cfg)
    assert run_pregen(config(corpus, tmp_path, vocab_dir, epochs=1, overwrite=True))["num_instances"] > 0


def test_overwrite_replaces_another_run(corpus: Path, vocab_dir: Path, tmp_path: Path) -> None:
    run_pregen(config(corpus, tmp_path, vocab_dir, epochs=2))
    manifest = run_pregen(config(corpus, tmp_path, vocab_dir, epochs=1, overwrite=True))
    assert {s["file"] for s in manifest["shards"]} == set(helpers.shard_bytes(tmp_path))


def test_gzip_input_gives_the_same_shards(done: tuple[PregenConfig, dict], corpus: Path, vocab_dir: Path,
                                           tmp_path: Path) -> None:
    packed = tmp_path / "c.txt.gz"
    packed.write_bytes(gzip.compress(corpus.read_bytes()))
    run_pregen(config(packed, tmp_path / "out", vocab_dir, epochs=2))
    assert helpers.shard_bytes(tmp_path / "out") == helpers.shard_bytes(done[0].output)


def test_bad_input_is_counted_and_reported_not_fatal(vocab_dir: Path, tmp_path: Path) -> None:
    docs = helpers.documents(6, seed=3)
    body = "\n\n".join("\n".join(d) for d in docs).encode()
    long_line = ("手机质量不错，" * 40).encode()  # 280 characters: longer than an instance can hold
    corpus = tmp_path / "bad.txt"
    corpus.write_bytes(b"\xff\xfe broken \xc3\n" + "控\x00制\u200b字符。\n".encode() + long_line + b"\n\n\n\n\x01\n\n"
                       + body + b"\n")
    manifest = run_pregen(config(corpus, tmp_path / "out", vocab_dir))
    bad = manifest["bad_input"]
    assert bad["invalid_utf8_lines"] == 1 and f"{corpus}:1: invalid UTF-8" in bad["examples"][0]
    assert bad["control_char_lines"] == 2 and bad["long_lines_split"] == 1 and bad["empty_documents"] == 1
    assert manifest["corpus"]["documents"] == 7
    ds = PregenDataset(tmp_path / "out")
    assert all(len(ds[i]["input_ids"]) <= 48 for i in range(len(ds)))
    # The long line is split into pieces, not dropped: its words appear in the first document's instances.
    text_ids = {int(t) for i in range(len(ds)) for t in ds[i]["input_ids"]} | {
        int(t) for i in range(len(ds)) for t in ds[i]["masked_lm_labels"]}
    from tinyzh.tokenizers.bert_chinese import BertChineseTokenizer

    tok = BertChineseTokenizer(str(vocab_dir))
    assert set(tok.encode_words(["手机质量不错控制字符"])[0].input_ids) <= text_ids


def test_fewer_than_two_documents_is_an_input_error(vocab_dir: Path, tmp_path: Path) -> None:
    corpus = helpers.write_corpus(tmp_path / "one.txt", [["手机质量不错。", "价格也不错。"]])
    with pytest.raises(InputError, match="at least 2"):
        run_pregen(config(corpus, tmp_path / "out", vocab_dir))


def test_one_sentence_documents_still_make_pairs(vocab_dir: Path, tmp_path: Path) -> None:
    docs = [[line] for line in helpers.documents(30, seed=5, max_lines=1)[0:30] for line in line]
    corpus = helpers.write_corpus(tmp_path / "short.txt", docs)
    for task in ("nsp", "sop"):
        manifest = run_pregen(config(corpus, tmp_path / task, vocab_dir, pair_task=task))
        assert manifest["bad_input"]["one_sentence_documents"] == 30
        ds = PregenDataset(tmp_path / task)
        assert len(ds) >= 25 and all(int(ds[i]["token_type_ids"].sum()) > 0 for i in range(len(ds)))


def test_missing_corpus_file_is_an_input_error(vocab_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not found"):
        run_pregen(config(tmp_path / "nope.txt", tmp_path / "out", vocab_dir))


@pytest.mark.parametrize("option", [{"pair_task": "xyz"}, {"masking": "half"}, {"epochs": 0}, {"masked_lm_prob": 2.0}])
def test_bad_options_are_config_errors(option: dict, tmp_path: Path) -> None:
    with pytest.raises(ConfigError):
        PregenConfig(corpus=[tmp_path / "c.txt"], output=tmp_path, **option)


def test_resume_redoes_chunks_whose_text_changed(vocab_dir: Path, tmp_path: Path) -> None:
    docs = helpers.documents(50, seed=7)
    corpus = helpers.write_corpus(tmp_path / "c.txt", docs)
    run_pregen(config(corpus, tmp_path / "a", vocab_dir))
    docs[-1][0] = "今天的比赛非常不错。"
    helpers.write_corpus(corpus, docs)
    run_pregen(config(corpus, tmp_path / "a", vocab_dir))  # same settings: resumes, but the last chunk changed
    run_pregen(config(corpus, tmp_path / "b", vocab_dir))
    assert helpers.shard_bytes(tmp_path / "a") == helpers.shard_bytes(tmp_path / "b")
