"""The three plugin protocols: tokenizers, augmenters and tasks.

A plugin package exposes a *factory* (usually the class itself) through an entry point in one of
the groups ``tinyzh.tokenizers``, ``tinyzh.augmenters`` or ``tinyzh.tasks`` (see ``tinyzh.plugins``).
The registry calls the factory to get an object that satisfies the protocol below:

- tokenizers: ``factory(name_or_path: str, **options) -> Tokenizer``
- augmenters: ``factory(**options) -> Augmenter``
- tasks:      ``factory() -> Task``
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable


# --------------------------------------------------------------------------- tokenizers
@runtime_checkable
class Segmenter(Protocol):
    """Splits text into words. Every character of ``text`` lands in exactly one word, in order."""

    name: str

    def cut(self, text: str) -> list[str]: ...


@dataclass(frozen=True)
class Encoded:
    """One text tokenized without special tokens.

    ``word_ids[i]`` is the 0-based word index of token ``i``; tokens of one word are contiguous and
    word indices are increasing, so ``word_ids`` looks like ``[0, 0, 1, 2, 2, 2, 3]``. A token that
    stands for no text (SentencePiece's lone ``▁``) has ``-1``: it is never masked, ``[-1, 0, 0, -1, 1]``.
    """

    input_ids: list[int]
    word_ids: list[int]


@runtime_checkable
class Tokenizer(Protocol):
    """A model's tokenizer plus a word segmenter (for whole-word masking)."""

    name: str  # the model name or path the vocabulary came from
    vocab_size: int
    cls_token_id: int
    sep_token_id: int
    pad_token_id: int
    mask_token_id: int
    unk_token_id: int

    def encode_words(self, texts: Sequence[str]) -> list[Encoded]:
        """Tokenize a batch of texts; word boundaries come from the segmenter."""
        ...

    def vocab_fingerprint(self) -> str:
        """A stable hash of the vocabulary, to detect data built with another tokenizer."""
        ...

    def convert_ids_to_tokens(self, ids: Sequence[int]) -> list[str]: ...

    def save_pretrained(self, directory: str | Path) -> Any:
        """Write Hugging Face tokenizer files so checkpoints are self-contained."""
        ...


# --------------------------------------------------------------------------- augmenters
@runtime_checkable
class Augmenter(Protocol):
    """Proposes word-level replacement candidates for a batch of segmented, POS-tagged texts.

    ``texts`` holds many texts at once (every text field of a chunk of examples), each cut by jieba
    into ``(word, pos_tag)`` pairs whose words concatenate back to the text. The augmenter returns,
    for every text, one entry per word: the words that may replace it, either a list of strings
    (drawn uniformly) or a dict ``{replacement: weight}`` (drawn by weight); empty means "keep".
    The runner, not the augmenter, draws the ``N`` copies with the per-example random generator, so
    augmenters are deterministic functions of their input and may batch freely (the masked-LM
    augmenter scores all masked positions of the batch in a few forward passes).

    Working on words keeps replacements from crossing word boundaries. The runner never replaces
    stop words, numbers, Latin words, named entities or punctuation, whatever an augmenter proposes.
    An optional attribute ``word_scope`` (``"single"``, ``"multi"`` or ``"any"``, default ``"any"``)
    says which words the augmenter is for; when augmenters compose (``synonym,mlm``), each word takes
    the candidates of the first augmenter, in the order given, whose scope matches the word's length
    exactly, else of the first ``"any"`` one that proposes something.
    """

    name: str

    def candidates(
        self, texts: Sequence[Sequence[tuple[str, str]]]
    ) -> list[list[Sequence[str] | Mapping[str, float]]]: ...


# --------------------------------------------------------------------------- tasks
@dataclass(frozen=True)
class TaskExample:
    """One example of a task file.

    ``texts`` are the task's text fields in order (one for single-sentence tasks, two for pairs);
    ``label`` is the label string (``None`` in unlabelled test files); ``record`` is the original JSON
    object, kept so writers can carry every other field over untouched; ``line`` is 1-based.
    """

    id: int | str | None
    texts: tuple[str, ...]
    label: str | None
    line: int
    record: Mapping[str, Any] = field(default_factory=dict, repr=False)


@runtime_checkable
class Task(Protocol):
    """A classification task: file format, text fields, labels, metric and submission file."""

    name: str  # registry name, e.g. "tnews"; must equal the entry-point name
    labels: tuple[str, ...]  # label strings, index = class id
    metric: str  # name of the metric reported, e.g. "accuracy"
    submission_file: str  # e.g. "tnews11_predict.json"
    dir_names: tuple[str, ...]  # directory names accepted under a data dir, e.g. ("tnews", "tnews_public")
    max_seq_len: int  # default maximum sequence length when fine-tuning

    def read_examples(self, path: str | Path, split: str) -> Iterator[TaskExample]:
        """Stream ``path`` (``split`` is "train", "dev" or "test"). Raises ``InputError`` naming the line."""
        ...

    def parse_line(self, text: str, split: str, *, path: str | Path, line: int, index: int) -> TaskExample | None:
        """One non-blank line of a task file as an example, or ``None`` for a line the task skips on
        purpose (a header; OCNLI's "-" rows in labelled splits). ``index`` is the 0-based row number used
        as the id of a row without one. Raises ``InputError(message, path, line)`` for a bad line, so a
        caller that must go on after bad lines (``tinyzh augment``) can report it and read the next."""
        ...

    def with_texts(self, example: TaskExample, texts: Sequence[str]) -> dict[str, Any]:
        """The example's JSON record with its text fields replaced (for augmentation output)."""
        ...
