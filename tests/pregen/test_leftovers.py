"""What a killed pregen leaves, and corpus files that used to fail silently: CR-only line endings."""

from __future__ import annotations

import json
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.pregen import helpers
from tinyzh.pregen import PregenConfig, PregenDataset, run_pregen
from tinyzh.pregen.corpus import CorpusReader


def config(corpus: Path, output: Path, vocab_dir: Path, **kw) -> PregenConfig:
    kw = {"max_seq_len": 48, "chunk_documents": 10, "workers": 1, "epochs": 2, **kw}
    return PregenConfig(corpus=[corpus], output=output, tokenizer=str(vocab_dir), **kw)


def test_resumed_run_writes_the_same_manifest_bytes_and_removes_temp_files(vocab_dir: Path, tmp_path: Path) -> None:
    corpus = helpers.write_corpus(tmp_path / "c.txt", helpers.documents(30, seed=2))
    out = tmp_path / "out"
    run_pregen(config(corpus, out, vocab_dir))
    expected = (out / "manifest.json").read_bytes()
    # Killed mid-run: no manifest, a half-written shard, a temp chunk record and a temp manifest.
    (out / "manifest.json").unlink()
    (out / "shard-e000-c000000.bin.tmp").write_bytes(b"\0" * 5000)
    (out / ".chunks" / ".chunk-000001.json.tmp-4242").write_text("{", encoding="utf-8")
    (out / ".manifest.json.tmp-4242").write_text("{", encoding="utf-8")
    run_pregen(config(corpus, out, vocab_dir))  # every chunk comes back from .chunks/
    assert (out / "manifest.json").read_bytes() == expected
    leftovers = [p.name for p in out.rglob("*") if ".tmp" in p.name or p.name == ".tinyzh.lock"]
    assert leftovers == []


def test_cr_only_and_crlf_line_endings_are_line_breaks(vocab_dir: Path, tmp_path: Path) -> None:
    docs = helpers.documents(12, seed=3)
    unix = helpers.write_corpus(tmp_path / "unix.txt", docs)
    text = unix.read_text(encoding="utf-8")
    (tmp_path / "mac.txt").write_bytes(text.replace("\n", "\r").encode("utf-8"))
    (tmp_path / "dos.txt").write_bytes(text.replace("\n", "\r\n").encode("utf-8"))

    def documents(path: Path, block: int | None = None) -> list[list[str]]:
        reader = CorpusReader([path], max_line_chars=1000, max_document_chars=10**6)
        return list(reader.documents())

    assert documents(unix) == docs
    assert documents(tmp_path / "mac.txt") == docs
    assert documents(tmp_path / "dos.txt") == docs
    manifest = run_pregen(config(tmp_path / "mac.txt", tmp_path / "out", vocab_dir, epochs=1))
    assert manifest["corpus"]["documents"] == len(docs)


def test_a_crlf_split_between_two_blocks_is_one_line_break(monkeypatch, tmp_path: Path) -> None:
    import tinyzh.pregen.corpus as corpus_module

    docs = [["第一句话。", "第二句话。"], ["另一个文档。", "还有一句。"]]
    text = "\n\n".join("\n".join(d) for d in docs).replace("\n", "\r\n")
    path = tmp_path / "dos.txt"
    path.write_bytes(text.encode("utf-8"))
    cut = text.encode("utf-8").index(b"\r\n") + 1  # a block ends between \r and \n
    monkeypatch.setattr(corpus_module, "BLOCK_BYTES", cut)
    reader = CorpusReader([path], max_line_chars=1000, max_document_chars=10**6)
    assert list(reader.documents()) == docs


def test_dataset_checks_shards_at_open_time(vocab_dir: Path, tmp_path: Path) -> None:
    import pytest

    from tinyzh.errors import InputError

    corpus = helpers.write_corpus(tmp_path / "c.txt", helpers.documents(20, seed=4))
    out = tmp_path / "out"
    manifest = run_pregen(config(corpus, out, vocab_dir, epochs=1))
    PregenDataset(out)
    edited = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    edited["shards"][0]["num_instances"] += 1  # a shard of another run under the same name
    (out / "manifest.json").write_text(json.dumps(edited), encoding="utf-8")
    first = manifest["shards"][0]
    with pytest.raises(InputError, match=f"{first['num_instances']:,} instances, manifest.json lists"):
        PregenDataset(out)


TRICKY_LINES = ["第一句话。", "", "   ", "含控制\x00字符的一行", "长" * 130, "Latin words 和 中文", "\u200b", "短"]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from(TRICKY_LINES), min_size=1, max_size=60), st.integers(8, 400),
       st.integers(50, 400))
def test_documents_are_the_same_read_by_block_or_line_by_line(tmp_path_factory, lines: list[str], block: int,
                                                             doc_chars: int) -> None:
    """The per-document fast path for clean blocks and the line-by-line path give the same documents,
    the same counts and the same examples, wherever the blocks end."""
    import tinyzh.pregen.corpus as corpus_module

    path = tmp_path_factory.mktemp("c") / "c.txt"
    good = "好的一行。\n".encode() * 3  # a bad line among good ones: skipped, not "not UTF-8"
    path.write_bytes(good + "\n".join(lines).encode("utf-8") + b"\n" + good + b"\xff\xfe bad\n" + good + "尾。".encode())

    def read(block_bytes: int, line_by_line: bool) -> tuple[list[list[str]], dict]:
        reader = CorpusReader([path], max_line_chars=126, max_document_chars=doc_chars)
        original = corpus_module.BLOCK_BYTES, CorpusReader._clean_block
        corpus_module.BLOCK_BYTES = block_bytes
        if line_by_line:
            CorpusReader._clean_block = lambda self, doc, texts, first, path, control: self._lines_into(
                doc, texts, first, path)
        try:
            sized = list(reader.sized_documents())
            assert all(chars == sum(map(len, doc)) for doc, chars in sized)  # what chunking counts
            docs, stats = [doc for doc, _ in sized], reader.stats.to_dict()
            # A block decoded whole notes its bad bytes before the lines before them: order aside.
            return docs, {**stats, "examples": sorted(stats["examples"])}
        finally:
            corpus_module.BLOCK_BYTES, CorpusReader._clean_block = original

    expected = read(1 << 20, line_by_line=True)
    assert expected[1]["lines"] == len(lines) + 11  # every line read is counted, blank and bad ones too
    assert read(1 << 20, line_by_line=False) == expected
    assert read(block, line_by_line=False) == expected
