"""Generate ``tinyzh/data/demo_task/{train,dev,test}.json``: short reviews labelled positive / negative.

Original text built from templates: a product or service aspect (restaurant food, hotel room, phone
battery, film plot …), a degree word, an opinion word and a closing remark, with some reviews that
turn around on 虽然…但是 so the label follows the second clause. The labels are clear to a reader but
the model has to generalise across aspects and wordings: no review appears twice across the splits.
Format: JSON lines ``{"id": 0, "sentence": "…", "label": "positive"}``; test rows carry no label (as in
CLUE). Regenerate with::

    python -m tinyzh.demo.make_task
"""

from __future__ import annotations

import json
import random
from pathlib import Path

SEED = 7
SIZES = {"train": 480, "dev": 120, "test": 100}
OUTPUT = Path(__file__).resolve().parents[1] / "data" / "demo_task"

# domain -> aspects (subject, positive opinions, negative opinions)
# domain -> aspects (subject, positive opinions, negative opinions); "~" marks where a degree word
# (很, 非常 …) goes, opinions without it are complete as they stand ("太慢", "第二天就到了").
ASPECTS: dict[str, list[tuple[str, list[str], list[str]]]] = {
    "restaurant": [
        ("这家店的菜", ["~好吃", "~新鲜", "~地道"], ["~难吃", "不新鲜", "又咸又油"]),
        ("服务员的态度", ["~热情", "~周到", "~耐心"], ["~冷淡", "很差", "~不耐烦"]),
        ("餐厅的环境", ["~干净", "~安静", "~舒服"], ["又脏又乱", "~吵闹", "~拥挤"]),
        ("上菜速度", ["~快", "~及时"], ["太慢", "慢得要命"]),
        ("分量", ["很足", "~实在"], ["太少", "少得可怜"]),
    ],
    "hotel": [
        ("房间", ["干净整洁", "~宽敞", "~安静"], ["又小又暗", "有股怪味", "~吵"]),
        ("前台", ["~热情", "办事利落"], ["态度恶劣", "效率很低"]),
        ("床", ["~舒服", "~软和"], ["太硬", "睡得腰疼"]),
        ("早餐", ["~丰富", "~好吃"], ["~单调", "~难吃"]),
        ("酒店的位置", ["~方便", "离地铁很近"], ["~偏僻", "很难找"]),
    ],
    "phone": [
        ("手机的电池", ["~耐用", "充电很快"], ["不耐用", "掉电很快"]),
        ("屏幕", ["~清晰", "~漂亮"], ["发黄", "有坏点"]),
        ("拍照效果", ["~出色", "~清楚"], ["~模糊", "很一般"]),
        ("系统", ["~流畅", "~稳定"], ["~卡", "经常死机"]),
        ("做工", ["~精致", "~结实"], ["~粗糙", "有划痕"]),
    ],
    "movie": [
        ("这部电影的剧情", ["~精彩", "~感人", "~紧凑"], ["~无聊", "~拖沓", "莫名其妙"]),
        ("演员的表演", ["~自然", "~到位"], ["~生硬", "~尴尬"]),
        ("画面", ["~漂亮", "~震撼"], ["~粗糙", "~廉价"]),
        ("结尾", ["~让人意外", "~温暖"], ["很烂", "太仓促"]),
    ],
    "book": [
        ("这本书的内容", ["~有趣", "~实用", "很有深度"], ["~空洞", "~枯燥", "错误很多"]),
        ("作者的文笔", ["~优美", "~流畅"], ["~啰嗦", "乱七八糟"]),
        ("印刷质量", ["很好", "~清楚"], ["很差", "模糊不清"]),
    ],
    "delivery": [
        ("快递", ["送得很快", "第二天就到了"], ["太慢了", "一个星期才到"]),
        ("包装", ["~严实", "完好无损"], ["破了", "~随便"]),
        ("快递员", ["服务很好", "~有礼貌"], ["态度很差", "不打招呼就放门口"]),
    ],
    "clothes": [
        ("衣服的面料", ["~舒服", "~柔软", "~透气"], ["~扎人", "容易起球", "~薄"]),
        ("尺码", ["~标准", "刚好合适"], ["偏小", "完全不对"]),
        ("颜色", ["~好看", "和图片一样"], ["~难看", "和图片差很多"]),
    ],
}
DEGREE = ["很", "非常", "特别", "真的", "挺", "相当"]
OPENERS = ["", "", "说实话，", "总的来说，", "第一次来，", "用了一个星期，", "朋友推荐的，", "整体感觉"]
TAILS = {
    "positive": [
        "下次还会再来",
        "推荐给大家",
        "非常满意",
        "物超所值",
        "值得一试",
        "五星好评",
        "会推荐给朋友",
    ],
    "negative": ["不会再有下次了", "不推荐", "非常失望", "太让人生气了", "差评", "浪费钱", "后悔了"],
}
OTHER = {"positive": "negative", "negative": "positive"}


def opinion(word: str, rng: random.Random) -> str:
    """``word`` with a random degree word in place of "~" (if any)."""
    return word.replace("~", rng.choice(DEGREE))


def review(label: str, rng: random.Random) -> str:
    """One review whose sentiment is ``label``; see the module docstring for the shapes."""
    aspects = ASPECTS[rng.choice(sorted(ASPECTS))]
    (s1, pos1, neg1), (s2, pos2, neg2) = rng.sample(aspects, 2)
    words1, words2 = (pos1, pos2) if label == "positive" else (neg1, neg2)
    shape = rng.random()
    if shape < 0.35:
        return f"{rng.choice(OPENERS)}{s1}{opinion(rng.choice(words1), rng)}，{rng.choice(TAILS[label])}。"
    if shape < 0.65:
        return f"{s1}{opinion(rng.choice(words1), rng)}，{s2}也{opinion(rng.choice(words2), rng)}。"
    if shape < 0.85:
        tail = rng.choice(TAILS[label])
        return f"{rng.choice(OPENERS)}{s1}{opinion(rng.choice(words1), rng)}，{s2}{opinion(rng.choice(words2), rng)}，{tail}。"
    # The turn: the first clause says the opposite, the 但是 clause decides.
    against = neg1 if label == "positive" else pos1
    return f"虽然{s1}{opinion(rng.choice(against), rng)}，但是{s2}{opinion(rng.choice(words2), rng)}。"


def generate(seed: int = SEED) -> dict[str, list[dict[str, object]]]:
    """Balanced, de-duplicated splits; ids are 0-based within each split."""
    rng = random.Random(seed)
    seen: set[str] = set()
    splits: dict[str, list[dict[str, object]]] = {}
    for split, size in SIZES.items():
        rows: list[dict[str, object]] = []
        while len(rows) < size:
            label = "positive" if len(rows) % 2 == 0 else "negative"
            sentence = review(label, rng)
            if sentence in seen:
                continue
            seen.add(sentence)
            row: dict[str, object] = {"id": len(rows), "sentence": sentence}
            if split != "test":
                row["label"] = label
            rows.append(row)
        rng.shuffle(rows)
        for i, row in enumerate(rows):
            row["id"] = i
        splits[split] = rows
    return splits


def main() -> None:
    OUTPUT.mkdir(parents=True, exist_ok=True)
    for split, rows in generate().items():
        lines = "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
        (OUTPUT / f"{split}.json").write_text(lines, encoding="utf-8")
    print(f"wrote {OUTPUT} ({', '.join(f'{k} {v}' for k, v in SIZES.items())})")


if __name__ == "__main__":
    main()
