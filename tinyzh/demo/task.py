"""``demo-products``: the bundled demo task, shop customers' questions labelled by product category.

The data ships with tinyzh (``tinyzh/data/demo_task/{train,dev,test,unlabeled}.json``, written by
:mod:`tinyzh.demo.make_task`) so ``tinyzh demo`` and the tests run offline. ``demo-sentiment`` is a
plain binary sentiment task of the same format for rows of your own (the demo's first task; no
data ships for it). Usage::

    task = tinyzh.plugins.get_task("demo-products")
    examples = list(task.read_examples(demo_task_dir() / "dev.json", "dev"))
"""

from __future__ import annotations

from pathlib import Path

from tinyzh.tasks.base import JsonLinesTask

DATA_DIR = Path(__file__).resolve().parents[1] / "data"


def demo_data_dir() -> Path:
    """The folder holding ``demo_corpus.txt`` and ``demo_task/`` (a data dir for ``tinyzh eval``)."""
    return DATA_DIR


def demo_corpus() -> Path:
    return DATA_DIR / "demo_corpus.txt"


def demo_task_dir() -> Path:
    return DATA_DIR / "demo_task"


class DemoProducts(JsonLinesTask):
    """A question's product category: ``{"id": 3, "sentence": "粽子多少钱？", "label": "food"}``."""

    name = "demo-products"
    labels = ("clothing", "digital", "food", "home")
    text_fields = ("sentence",)
    submission_file = "demo_products_predict.json"
    dir_names = ("demo_task", "demo-products", "demo_products")
    max_seq_len = 64


class DemoSentiment(JsonLinesTask):
    """Binary review sentiment: ``{"id": 3, "sentence": "…", "label": "positive"}``."""

    name = "demo-sentiment"
    labels = ("negative", "positive")
    text_fields = ("sentence",)
    submission_file = "demo_sentiment_predict.json"
    dir_names = ("demo-sentiment", "demo_sentiment")
    max_seq_len = 64
