"""Read pregen output: ``PregenDataset`` (random access over every epoch's instances) and
``collate_batch`` (pad a list of items into MLM/NSP training tensors).

Usage::

    ds = PregenDataset("pregen/")                       # masking as generated
    ds = PregenDataset("pregen/", masking="dynamic", seed=1)   # fresh whole-word masks at read time
    loader = DataLoader(ds, batch_size=32, collate_fn=collate_batch)
"""

from __future__ import annotations

import bisect
import json
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from tinyzh.errors import ConfigError, InputError
from tinyzh.pregen.config import MASKINGS
from tinyzh.pregen.masking import MaskSpec, mask_instance, word_ids_from_flags
from tinyzh.pregen.shards import check_shard, read_shard


class PregenDataset(Dataset):
    """A ``torch.utils.data.Dataset`` over a pregen directory, epoch 0's instances first.

    ``ds[i]`` is a dict of tensors: ``input_ids`` [L], ``token_type_ids`` [L], ``word_ids`` [L]
    (-1 on ``[CLS]``/``[SEP]``), ``masked_lm_positions`` [P], ``masked_lm_labels`` [P],
    ``next_sentence_label`` (0-dim; -1 without a pair task). With ``masking="dynamic"`` the stored
    masks are undone and new whole-word masks drawn from ``(seed, epoch, i)``; call
    :meth:`set_epoch` each training epoch to get new ones.
    """

    def __init__(self, path: str | Path, masking: str | None = None, seed: int = 0) -> None:
        self.path = Path(path)
        manifest_path = self.path / "manifest.json"
        if not manifest_path.is_file():
            raise InputError("no manifest.json: not a finished `tinyzh pregen` output directory", path=self.path)
        try:
            self.manifest: dict[str, Any] = json.loads(manifest_path.read_text(encoding="utf-8"))
            self._check_manifest()
        except (ValueError, KeyError, TypeError) as exc:
            raise InputError(f"manifest.json is damaged ({type(exc).__name__}: {exc}); rerun `tinyzh pregen`",
                             path=self.path) from None
        self.masking = masking or self.manifest["masking"]
        if self.masking not in MASKINGS:
            raise ConfigError(f"masking {self.masking!r} is not valid; expected one of {', '.join(MASKINGS)}")
        if self.masking == "static" and self.manifest["masking"] == "dynamic":
            raise ConfigError(f"{self.path} was generated with --masking dynamic and holds no static masks; "
                              "read it with masking='dynamic'")
        self.seed = seed
        self.epoch = 0
        self.files = [s["file"] for s in self.manifest["shards"]]
        self.ends = np.cumsum([s["num_instances"] for s in self.manifest["shards"]]).tolist()
        tok = self.manifest["tokenizer"]
        self.spec = MaskSpec.from_tokenizer_info(tok, self.manifest["masked_lm_prob"],
                                                 self.manifest["max_predictions_per_seq"])
        self._cache: dict[int, tuple[dict[str, np.ndarray], np.ndarray, np.ndarray]] = {}

    def _check_manifest(self) -> None:
        """Fail now, with the file named, rather than inside a DataLoader worker mid-training."""
        for key in ("masking", "shards", "tokenizer", "masked_lm_prob", "max_predictions_per_seq"):
            self.manifest[key]  # noqa: B018 - KeyError names the missing key
        for shard in self.manifest["shards"]:
            if not (self.path / shard["file"]).is_file():
                raise InputError(f"shard {shard['file']} listed in manifest.json is missing; rerun `tinyzh pregen`",
                                 path=self.path)
            check_shard(self.path / shard["file"], shard["num_instances"])

    def __len__(self) -> int:
        return self.ends[-1] if self.ends else 0

    def set_epoch(self, epoch: int) -> None:
        """Dynamic masking: draw masks for training epoch ``epoch`` (no effect on static data)."""
        self.epoch = epoch

    def __getstate__(self) -> dict[str, Any]:  # DataLoader workers re-open the memory maps
        return {**self.__dict__, "_cache": {}}

    def _shard(self, k: int) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray]:
        if k not in self._cache:
            _, arrays = read_shard(self.path / self.files[k])
            row_starts = np.concatenate([[0], np.cumsum(arrays["lengths"], dtype=np.int64)])
            mask_starts = np.concatenate([[0], np.cumsum(arrays["num_masked"], dtype=np.int64)])
            self._cache[k] = (arrays, row_starts, mask_starts)
        return self._cache[k]

    def raw(self, index: int) -> dict[str, np.ndarray | int]:
        """Instance ``index`` as stored (numpy arrays)."""
        if not 0 <= index < len(self):
            raise IndexError(f"index {index} out of range for {len(self)} instances")
        k = bisect.bisect_right(self.ends, index)
        local = index - (self.ends[k - 1] if k else 0)
        arrays, rows, masks = self._shard(k)
        a, b = int(rows[local]), int(rows[local + 1])
        m0, m1 = int(masks[local]), int(masks[local + 1])
        return {
            "input_ids": np.asarray(arrays["input_ids"][a:b], dtype=np.int64),
            "word_flags": np.asarray(arrays["word_flags"][a:b]),
            "a_length": int(arrays["a_lengths"][local]),
            "masked_lm_positions": np.asarray(arrays["masked_positions"][m0:m1], dtype=np.int64),
            "masked_lm_labels": np.asarray(arrays["masked_labels"][m0:m1], dtype=np.int64),
            "next_sentence_label": int(arrays["next_sentence_label"][local]),
        }

    def __getitem__(self, index: int) -> dict[str, Any]:
        row = self.raw(index)
        ids, positions, labels = row["input_ids"], row["masked_lm_positions"], row["masked_lm_labels"]
        word_ids = word_ids_from_flags(row["word_flags"])
        if self.masking == "dynamic":
            ids[positions] = labels  # undo the stored masks
            rng = np.random.default_rng([self.seed, self.epoch, index])
            ids, positions, labels = mask_instance(ids, row["word_flags"], self.spec, rng)
        token_type = (np.arange(len(ids)) > row["a_length"] + 1).astype(np.int64)  # B and its [SEP]
        return {
            "input_ids": torch.from_numpy(ids),
            "token_type_ids": torch.from_numpy(token_type),
            "word_ids": torch.from_numpy(word_ids.astype(np.int64)),
            "masked_lm_positions": torch.from_numpy(positions.astype(np.int64)),
            "masked_lm_labels": torch.from_numpy(labels.astype(np.int64)),
            "next_sentence_label": torch.tensor(row["next_sentence_label"], dtype=torch.long),
        }


def collate_batch(items: list[dict[str, Any]], pad_token_id: int = 0) -> dict[str, Any]:
    """Pad items to the longest: input_ids, token_type_ids, attention_mask, labels [B, T]
    (``labels`` is -100 except at masked positions, where it holds the original token id) and
    next_sentence_label [B]."""
    size = max(len(item["input_ids"]) for item in items)
    batch = len(items)
    input_ids = torch.full((batch, size), pad_token_id, dtype=torch.long)
    token_type_ids = torch.zeros((batch, size), dtype=torch.long)
    attention_mask = torch.zeros((batch, size), dtype=torch.long)
    labels = torch.full((batch, size), -100, dtype=torch.long)
    for row, item in enumerate(items):
        length = len(item["input_ids"])
        input_ids[row, :length] = item["input_ids"]
        token_type_ids[row, :length] = item["token_type_ids"]
        attention_mask[row, :length] = 1
        labels[row, item["masked_lm_positions"]] = item["masked_lm_labels"]
    nsp = torch.stack([torch.as_tensor(item["next_sentence_label"], dtype=torch.long) for item in items])
    return {"input_ids": input_ids, "token_type_ids": token_type_ids, "attention_mask": attention_mask,
            "labels": labels, "next_sentence_label": nsp}
