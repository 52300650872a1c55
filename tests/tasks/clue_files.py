"""Tiny CLUE-format files for tests: every task's format with the real-world quirks.

- TNEWS / IFLYTEK train labels are JSON numbers (FewCLUE), dev labels strings (CLUE);
- OCNLI train and dev hold "-" rows and extra fields (label0…, genre, prem_id);
- CLUEWSC lives in FewCLUE's ``cluewsc`` folder, train/dev carry ``idx``, test ``id``;
- the CMNLI test file has no id field (ids are then 0-based line indices);
- TNEWS test ids are strings, as in CLUE's files.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

TASK_DIRS = {
    "afqmc": "afqmc_public", "tnews": "tnews", "iflytek": "iflytek", "ocnli": "ocnli",
    "cmnli": "cmnli", "cluewsc2020": "cluewsc", "csl": "csl",
}
SUBMISSION_FILES = {
    "afqmc": "afqmc_predict.json", "tnews": "tnews11_predict.json", "iflytek": "iflytek_predict.json",
    "ocnli": "ocnli_50k_predict.json", "cmnli": "cmnli_predict.json", "cluewsc2020": "cluewsc11_predict.json",
    "csl": "csl_predict.json",
}

PAIRS = [("我爱北京", "我爱北京"), ("手机很好", "价格太贵"), ("今天天气", "今天天气"), ("电池不行", "屏幕很大")]
SENTENCES = ["手机屏幕很大", "球队赢了比赛", "电影很好看", "股市大涨", "学生考试", "游戏好玩"]


def _nli(i: int, label: str) -> dict[str, Any]:
    s1, s2 = PAIRS[i % len(PAIRS)]
    return {"level": "easy", "sentence1": s1, "sentence2": s2, "label": label, "label0": label,
            "label1": None, "genre": "news", "prem_id": f"news_{i}", "id": i}


def _wsc(i: int, label: str | None, id_field: str) -> dict[str, Any]:
    text = "小明说他明天来。" if i % 2 else "老王看见了小李，他很高兴。"
    target = ({"span1_text": "小明", "span1_index": 0, "span2_text": "他", "span2_index": 3} if i % 2 else
              {"span1_text": "小李", "span1_index": 5, "span2_text": "他", "span2_index": 8})
    row: dict[str, Any] = {"target": target, id_field: 100 + i, "text": text}
    if label is not None:
        row["label"] = label
    return row


def _csl(i: int, label: str | None) -> dict[str, Any]:
    row: dict[str, Any] = {"id": i, "abst": SENTENCES[i % len(SENTENCES)] * 3, "keyword": ["手机", SENTENCES[i % 3][:2]]}
    if label is not None:
        row["label"] = label
    return row


def rows(task: str, split: str) -> list[dict[str, Any]]:
    """The rows of one tiny file (test rows unlabelled)."""
    test = split == "test"
    if task == "afqmc":
        return [{"id": i, "sentence1": a, "sentence2": b, **({} if test else {"label": str(int(a == b))})}
                for i, (a, b) in enumerate(PAIRS)]
    if task in ("tnews", "iflytek"):
        codes = ["100", "102", "116", "104"] if task == "tnews" else ["0", "7", "118", "50"]
        desc_key = "label_desc" if task == "tnews" else "label_des"
        out = []
        for i, code in enumerate(codes):
            label: Any = int(code) if split == "train" else code  # FewCLUE numbers vs CLUE strings
            row = {"sentence": SENTENCES[i], "id": str(i) if task == "tnews" else i}
            out.append(row if test else {**row, "label": label, desc_key: "desc", "keywords": "a,b"})
        return out
    if task in ("ocnli", "cmnli"):
        labels = ["entailment", "neutral", "-", "contradiction", "entailment"]
        out = [_nli(i, label) for i, label in enumerate(labels)]
        if test:
            keep = ("sentence1", "sentence2") if task == "cmnli" else ("sentence1", "sentence2", "id")
            out = [{k: r[k] for k in keep} for r in out]
        return out
    if task == "cluewsc2020":
        return [_wsc(i, None if test else ("true" if i % 2 else "false"), "id" if test else "idx") for i in range(4)]
    if task == "csl":
        return [_csl(i, None if test else str(i % 2)) for i in range(4)]
    raise KeyError(task)


def write_jsonl(path: Path, records: list[dict[str, Any]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    return path


def write_clue(root: Path, tasks: list[str] | None = None) -> Path:
    """Write ``root/<dir>/{train,dev,test}.json`` for the given (default: all seven) tasks."""
    for task in tasks or list(TASK_DIRS):
        for split in ("train", "dev", "test"):
            write_jsonl(root / TASK_DIRS[task] / f"{split}.json", rows(task, split))
    return root
