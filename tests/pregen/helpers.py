"""Small synthetic corpora for pregen tests: real Chinese words (all in tests.tiny's vocabulary),
Latin words, digits and punctuation, so jieba produces multi-character words."""

from __future__ import annotations

import random
from pathlib import Path

WORDS = ["手机", "质量", "不错", "价格", "快递", "服务", "国家", "电脑", "喜欢", "朋友", "时间", "问题", "东西",
         "感觉", "效果", "声音", "商品", "学生", "老师", "比赛", "电影", "音乐", "公司", "市场", "生活", "工作",
         "发现", "觉得", "非常", "已经", "今天", "明天", "中国", "北京", "上海", "发展", "游戏", "我", "的", "了",
         "很", "是", "iphone12", "ok", "2023", "vip"]
PUNCT = ["，", "。", "！", "？", ","]


def sentence(rng: random.Random) -> str:
    words = [rng.choice(WORDS) for _ in range(rng.randint(3, 14))]
    return "".join(words) + rng.choice(PUNCT)


def documents(n_docs: int, seed: int = 0, max_lines: int = 8) -> list[list[str]]:
    rng = random.Random(seed)
    return [[sentence(rng) for _ in range(rng.randint(1, max_lines))] for _ in range(n_docs)]


def write_corpus(path: Path, docs: list[list[str]]) -> Path:
    path.write_text("\n\n".join("\n".join(doc) for doc in docs) + "\n", encoding="utf-8")
    return path


def shard_bytes(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(directory.glob("shard-*.bin"))}
