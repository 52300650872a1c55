"""The bundled demo corpus and demo task: format, reproducibility, balance, no leaks between splits, and
the property the demo relies on: products that the labelled training set never names but the
unlabelled text (corpus, ``unlabeled.json``) and half of dev and test hold."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from tinyzh import plugins
from tinyzh.augment.dictionary import load_synonyms
from tinyzh.chinese import is_cjk
from tinyzh.demo import make_corpus, make_task
from tinyzh.demo.task import DemoProducts, demo_corpus, demo_data_dir, demo_task_dir
from tinyzh.plugins import EntryPointSpec
from tinyzh.tasks.data import find_task_dir

DEMO_ENTRY_POINT = {
    "tinyzh.tasks": [EntryPointSpec("demo-products", "tinyzh.demo.task:DemoProducts", dist="tinyzh"),
                     EntryPointSpec("demo-sentiment", "tinyzh.demo.task:DemoSentiment", dist="tinyzh")]
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
    questions = {str(row["sentence"]) for row in make_task.generate()["unlabeled"]}
    assert questions <= set(sentences)  # the unlabelled questions are in the teacher's corpus


def test_task_files_are_the_generators_output() -> None:
    assert sorted(p.name for p in demo_task_dir().glob("*.json")) == ["dev.json", "test.json", "train.json",
                                                                     "unlabeled.json"]
    for split, rows in make_task.generate().items():
        written = (demo_task_dir() / f"{split}.json").read_text(encoding="utf-8")
        assert written == "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)


def test_task_plugin_reads_every_split_balanced_and_disjoint() -> None:
    with plugins.use_entry_points(DEMO_ENTRY_POINT):
        task = plugins.get_task("demo-products")
    assert isinstance(task, DemoProducts) and task.labels == make_task.LABELS
    assert find_task_dir(demo_data_dir(), task) == demo_task_dir()
    files = {"train": "train", "dev": "dev", "test": "test", "unlabeled": "test"}  # name -> split to read as
    splits = {s: list(task.read_examples(demo_task_dir() / f"{s}.json", as_split)) for s, as_split in files.items()}
    assert {s: len(v) for s, v in splits.items()} == {"train": 96, "dev": 120, "test": 100, "unlabeled": 3000}
    assert Counter(ex.label for ex in splits["train"]) == {label: 24 for label in make_task.LABELS}
    assert Counter(ex.label for ex in splits["dev"]) == {label: 30 for label in make_task.LABELS}
    assert all(ex.label is None for ex in splits["test"] + splits["unlabeled"])
    texts = [ex.texts[0] for examples in splits.values() for ex in examples]
    assert len(texts) == len(set(texts))  # no sentence in two splits (or twice in one)


def _holds_new(sentence: str) -> bool:
    return any(word in sentence for word in make_task.words("new"))


def test_product_names_are_distinct_and_the_questions_name_no_category() -> None:
    names = make_task.products("all")
    assert len(names) == len(set(names)) == 64 and len(make_task.words("new")) == 32
    assert not any(a != b and a in b for a in names for b in names)  # a name found in a sentence is that one
    # the question templates say nothing of the category: nothing but the product decides the label
    assert all(q.count("{x}") == 1 and not any(name in q for name in names) for q in make_task.QUESTIONS)
    with pytest.raises(ValueError, match="vocab must be one of"):
        make_task.products("old")


def test_new_products_are_only_in_unlabelled_text_and_half_of_dev() -> None:
    splits = make_task.generate()
    train = [str(row["sentence"]) for row in splits["train"]]
    assert not any(_holds_new(sentence) for sentence in train)  # the baseline never sees one
    corpus = demo_corpus().read_text(encoding="utf-8")
    for word in make_task.words("new"):  # the teacher reads what every one is, in several contexts
        uses = {u.format(x=word) for u in make_corpus.USES[make_task.category_of(word)]}
        assert sum(corpus.count(sentence) for sentence in uses) >= 10
    unlabeled = " ".join(str(row["sentence"]) for row in splits["unlabeled"])
    assert all(word in unlabeled for word in make_task.words("new"))
    for split in ("dev", "test"):
        with_new = [row for row in splits[split] if _holds_new(str(row["sentence"]))]
        assert len(with_new) == len(splits[split]) // 2
    dev_new = [row for row in splits["dev"] if _holds_new(str(row["sentence"]))]
    assert Counter(row["label"] for row in dev_new) == {label: 15 for label in make_task.LABELS}
    assert not any(word in str(row["sentence"]) for row in dev_new for word in make_task.words("seen"))
    assert all(make_task.category_of(next(w for w in make_task.words("new") if w in str(row["sentence"])))
               == row["label"] for row in dev_new)


def test_synonym_augmenter_cannot_bring_a_new_product_into_train() -> None:
    """Else the student would learn a new product from the dictionary, not from the teacher."""
    synonyms = load_synonyms()
    train = " ".join(str(row["sentence"]) for row in make_task.generate()["train"])
    leaks = {word: s for word in make_task.words("new") for s in synonyms.get(word) if s in train}
    leaks |= {word: s for word in make_task.words("seen") for s in synonyms.get(word) if s in make_task.words("new")}
    assert not leaks
