"""Generate ``tinyzh/data/demo_task/*.json``: shop customers' questions labelled by the product's category.

Original text built from templates: a question a customer asks a web shop (帮我找一下…, …多少钱,
…能打折吗) about one product, labelled with the product's category (food, digital, clothing, home).
The questions say nothing about the category: only the product name decides the label.

The point of the split (what ``tinyzh demo`` shows): each category's products are in two sets. The
*seen* products are the only ones in the small labelled training set; the *new* products never occur
there. They occur in the unlabelled questions (``unlabeled.json``, FewCLUE's name for such a file) and
in the demo corpus, where ``make_corpus`` writes sentences about every product that show what it is
(粽子 is eaten, 路由器 is plugged in, 旗袍 is worn, 茶几 stands in the living room), and in half of the
dev and test questions, which ask about new products only. A teacher pre-trained on the corpus learns
from those contexts that a new product belongs with the seen ones of its category; a model that only
sees the labelled rows has nothing but the product name's characters to go on. No question appears
twice across the files.

Format: JSON lines ``{"id": 0, "sentence": "…", "label": "food"}``; test and unlabelled rows carry no
label (as in CLUE). Regenerate with::

    python -m tinyzh.demo.make_task
"""

from __future__ import annotations

import json
import random
from pathlib import Path

SEED = 7
LABELLED = {"train": 96, "dev": 120, "test": 100}  # dev and test: half seen products, half new ones
UNLABELLED = 3000
OUTPUT = Path(__file__).resolve().parents[1] / "data" / "demo_task"
VOCABS = ("seen", "new", "all")

# category -> (seen products, new products). New products share few characters with the seen ones of
# their category, so that the name alone rarely gives the category away.
PRODUCTS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "food": (("饺子", "面包", "牛奶", "苹果", "米饭", "鸡蛋", "蛋糕", "饼干"),
             ("粽子", "酸奶", "香蕉", "馒头", "月饼", "巧克力", "汤圆", "豆浆")),
    "digital": (("手机", "电脑", "耳机", "相机", "平板", "键盘", "鼠标", "音箱"),
                ("充电宝", "路由器", "显示器", "投影仪", "麦克风", "硬盘", "打印机", "扫描仪")),
    "clothing": (("衬衫", "裙子", "毛衣", "外套", "帽子", "袜子", "围巾", "手套"),
                 ("夹克", "旗袍", "棉袄", "短裤", "领带", "西装", "背心", "披肩")),
    "home": (("沙发", "桌子", "椅子", "台灯", "窗帘", "枕头", "被子", "柜子"),
             ("地毯", "花瓶", "镜子", "书架", "床垫", "茶几", "挂钟", "鞋柜")),
}
LABELS = tuple(sorted(PRODUCTS))
# Questions that fit any product: "{x}" is the product; each ends with its own punctuation.
QUESTIONS = [
    "帮我找一下{x}。", "{x}多少钱？", "我想买{x}。", "{x}有现货吗？", "请问{x}什么时候发货？", "有没有便宜一点的{x}？",
    "{x}能打折吗？", "给我推荐一款{x}。", "这个{x}是新款吗？", "{x}包邮吗？", "{x}可以退换吗？", "店里还有{x}吗？",
    "昨天下单的{x}到了吗？", "{x}有没有优惠券？", "我要两个{x}。", "{x}卖完了吗？",
]
OPENERS = ["", "", "", "你好，", "老板，", "麻烦问一下，", "请问一下，"]


def products(vocab: str, category: str | None = None) -> list[str]:
    """The products of ``vocab`` (seen / new / all), of one category or of every one."""
    if vocab not in VOCABS:
        raise ValueError(f"vocab must be one of {VOCABS}, got {vocab!r}")
    chosen = [category] if category is not None else list(LABELS)
    return [p for c in chosen for i, names in enumerate(PRODUCTS[c]) if vocab in ("all", VOCABS[i]) for p in names]


def words(vocab: str) -> set[str]:
    """The product names of ``vocab`` (seen / new): what decides a question's label."""
    return set(products(vocab))


def category_of(product: str) -> str:
    return next(c for c in LABELS if product in products("all", c))


def question(product: str, rng: random.Random) -> str:
    """One customer question about ``product``."""
    return rng.choice(OPENERS) + rng.choice(QUESTIONS).format(x=product)


def _rows(size: int, vocab: str, labelled: bool, rng: random.Random, seen: set[str]) -> list[dict[str, object]]:
    """``size`` new questions, balanced (categories in turn); ``seen`` collects every sentence made."""
    rows: list[dict[str, object]] = []
    while len(rows) < size:
        label = LABELS[len(rows) % len(LABELS)]
        sentence = question(rng.choice(products(vocab, label)), rng)
        if sentence in seen:
            continue
        seen.add(sentence)
        rows.append({"sentence": sentence, "label": label} if labelled else {"sentence": sentence})
    return rows


def generate(seed: int = SEED) -> dict[str, list[dict[str, object]]]:
    """Balanced, de-duplicated splits; ids are 0-based within each split."""
    rng = random.Random(seed)
    seen: set[str] = set()
    splits: dict[str, list[dict[str, object]]] = {"train": _rows(LABELLED["train"], "seen", True, rng, seen)}
    for split in ("dev", "test"):
        half = LABELLED[split] // 2
        splits[split] = _rows(half, "seen", split == "dev", rng, seen) + _rows(half, "new", split == "dev", rng, seen)
    splits["unlabeled"] = _rows(UNLABELLED, "all", False, rng, seen)
    for rows in splits.values():
        rng.shuffle(rows)
        rows[:] = [{"id": i, **row} for i, row in enumerate(rows)]
    return splits


def main() -> None:
    OUTPUT.mkdir(parents=True, exist_ok=True)
    splits = generate()
    for split, rows in splits.items():
        lines = "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
        (OUTPUT / f"{split}.json").write_text(lines, encoding="utf-8")
    print(f"wrote {OUTPUT} ({', '.join(f'{k} {len(v)}' for k, v in splits.items())})")


if __name__ == "__main__":
    main()
