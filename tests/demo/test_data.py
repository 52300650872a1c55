"""The bundled demo corpus and demo task: format, reproducibility, balance, no leaks between splits."""

from __future__ import annotations

import json
from collections import Counter

from tinyzh import plugins
from tinyzh.chinese import is_cjk
from tinyzh.demo import make_corpus, make_task
from tinyzh.demo.task import DemoSentiment, demo_corpus, demo_data_dir, demo_task_dir
from tinyzh.plugins import EntryPointSpec
from tinyzh.tasks.data import find_task_dir

DEMO_ENTRY_POINT = {
    "tinyzh.tasks": [EntryPointSpec("demo-sentiment", "tinyzh.demo.task:DemoSentiment", dist="tinyzh")]
}


def test_corpus_is_the_generators_output_and_well_formed() -> None:
    text = demo_corpus().read_text(encoding="utf-8")
    assert text == make_corpus.generate()  # committed file == reproducible generator output
    documents = text.strip("\n").split("\n\n")
    assert len(documents) >= 300
    sentences = [line for doc in documents for line in doc.split("\n")]
    assert all(line and line[-1] in "。！？" and is_cjk(line[0]) for line in sentences)
    assert 3 <= min(len(doc.split("\n")) for doc in documents)
    assert len(set(sentences)) > 800  # real variety, not a handful of lines repeated


def test_task_files_are_the_generators_output() -> None:
    for split, rows in make_task.generate().items():
        written = (demo_task_dir() / f"{split}.json").read_text(encoding="utf-8")
        assert written == "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)


def test_task_plugin_reads_every_split_balanced_and_disjoint() -> None:
    with plugins.use_entry_points(DEMO_ENTRY_POINT):
        task = plugins.get_task("demo-sentiment")
    assert isinstance(task, DemoSentiment)
    assert find_task_dir(demo_data_dir(), task) == demo_task_dir()
    splits = {s: list(task.read_examples(demo_task_dir() / f"{s}.json", s)) for s in ("train", "dev", "test")}
    assert {s: len(v) for s, v in splits.items()} == {"train": 480, "dev": 120, "test": 100}
    assert Counter(ex.label for ex in splits["train"]) == {"positive": 240, "negative": 240}
    assert Counter(ex.label for ex in splits["dev"]) == {"positive": 60, "negative": 60}
    assert all(ex.label is None for ex in splits["test"])
    texts = [ex.texts[0] for examples in splits.values() for ex in examples]
    assert len(texts) == len(set(texts))  # no sentence in two splits (or twice in one)
