"""The bundled demo corpus and demo task: format, reproducibility, balance, no leaks between splits, and
the property the demo relies on: opinion words that the labelled training set lacks but the
unlabelled text (corpus, ``unlabeled.json``) and half of dev and test hold."""

from __future__ import annotations

import json
from collections import Counter

from tinyzh import plugins
from tinyzh.augment.dictionary import load_synonyms
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
    reviews = {str(row["sentence"]) for row in make_task.generate()["unlabeled"]}
    assert reviews <= set(sentences)  # the unlabelled reviews are in the teacher's corpus


def test_task_files_are_the_generators_output() -> None:
    assert sorted(p.name for p in demo_task_dir().glob("*.json")) == ["dev.json", "test.json", "train.json",
                                                                     "unlabeled.json"]
    for split, rows in make_task.generate().items():
        written = (demo_task_dir() / f"{split}.json").read_text(encoding="utf-8")
        assert written == "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)


def test_task_plugin_reads_every_split_balanced_and_disjoint() -> None:
    with plugins.use_entry_points(DEMO_ENTRY_POINT):
        task = plugins.get_task("demo-sentiment")
    assert isinstance(task, DemoSentiment)
    assert find_task_dir(demo_data_dir(), task) == demo_task_dir()
    files = {"train": "train", "dev": "dev", "test": "test", "unlabeled": "test"}  # name -> split to read as
    splits = {s: list(task.read_examples(demo_task_dir() / f"{s}.json", as_split)) for s, as_split in files.items()}
    assert {s: len(v) for s, v in splits.items()} == {"train": 96, "dev": 120, "test": 100, "unlabeled": 3000}
    assert Counter(ex.label for ex in splits["train"]) == {"positive": 48, "negative": 48}
    assert Counter(ex.label for ex in splits["dev"]) == {"positive": 60, "negative": 60}
    assert all(ex.label is None for ex in splits["test"] + splits["unlabeled"])
    texts = [ex.texts[0] for examples in splits.values() for ex in examples]
    assert len(texts) == len(set(texts))  # no sentence in two splits (or twice in one)


def _holds_new(sentence: str) -> bool:
    return any(word in sentence for word in make_task.words("new"))


def test_new_opinion_words_are_only_in_unlabelled_text_and_half_of_dev() -> None:
    new, seen = make_task.words("new"), make_task.words("seen")
    assert len(new) >= 50 and not new & seen
    splits = make_task.generate()
    train = [str(row["sentence"]) for row in splits["train"]]
    assert not any(_holds_new(sentence) for sentence in train)  # the baseline never sees one
    corpus = demo_corpus().read_text(encoding="utf-8")
    assert min(corpus.count(word) for word in new) >= 5  # the teacher reads every one, in context
    for split in ("dev", "test"):
        with_new = [row for row in splits[split] if _holds_new(str(row["sentence"]))]
        assert len(with_new) == len(splits[split]) // 2
    dev_new = [row for row in splits["dev"] if _holds_new(str(row["sentence"]))]
    assert Counter(row["label"] for row in dev_new) == {"positive": 30, "negative": 30}
    # The new rows carry no seen opinion word or remark that decides the label on its own.
    assert not any(f"{word}，" in str(row["sentence"]) or f"{word}。" in str(row["sentence"])
                   for row in dev_new for word in seen if len(word) > 1 and not _holds_new(word))


def test_synonym_augmenter_cannot_bring_a_new_word_into_train() -> None:
    """Else the student would learn a new word from the dictionary, not from the teacher."""
    synonyms = load_synonyms()
    train = " ".join(str(row["sentence"]) for row in make_task.generate()["train"])
    leaks = {word: s for word in make_task.words("new") for s in synonyms.get(word) if s in train}
    assert not leaks
