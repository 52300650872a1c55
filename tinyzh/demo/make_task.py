"""Generate ``tinyzh/data/demo_task/*.json``: short reviews labelled positive / negative, and unlabelled ones.

Original text built from templates: a product or service aspect (restaurant food, hotel room, phone
battery, film plot …), a degree word, an opinion word and a closing remark, with some reviews that
turn around on 虽然…但是 so the label follows the second clause.

The point of the split (what ``tinyzh demo`` shows): the opinion words and closing remarks are in two
sets. The *seen* words are the only ones in the small labelled training set; the *new* words (marked
``+`` below) never occur there. They occur in the unlabelled reviews (``unlabeled.json``, FewCLUE's
name for such a file, and in the demo corpus), mixed in the same reviews with the seen words, and in
half of the dev and test reviews, which use new words only. A teacher pre-trained on the unlabelled
text learns from context which side the new words are on; a model that only sees the labelled rows
cannot. No review appears twice across the files.

Format: JSON lines ``{"id": 0, "sentence": "…", "label": "positive"}``; test and unlabelled rows carry
no label (as in CLUE). Regenerate with::

    python -m tinyzh.demo.make_task
"""

from __future__ import annotations

import json
import random
from pathlib import Path

SEED = 7
LABELLED = {"train": 96, "dev": 120, "test": 100}  # dev and test: half seen words, half new words
UNLABELLED = 3000
OUTPUT = Path(__file__).resolve().parents[1] / "data" / "demo_task"
NEW = "+"  # marks a word held out of the labelled training set

# domain -> aspects (subject, positive opinions, negative opinions); "~" marks where a degree word
# (很, 非常 …) goes, opinions without it are complete as they stand ("太慢", "第二天就到了").
ASPECTS: dict[str, list[tuple[str, list[str], list[str]]]] = {
    "restaurant": [
        ("这家店的菜", ["~好吃", "~新鲜", "+~入味"], ["~难吃", "又咸又油", "+~寡淡"]),
        ("服务员的态度", ["~热情", "~周到", "+~亲切"], ["~冷淡", "~不耐烦", "+~傲慢"]),
        ("餐厅的环境", ["~干净", "~安静", "+~雅致"], ["又脏又乱", "~吵闹", "+~简陋"]),
        ("上菜速度", ["~快", "+~麻利"], ["太慢", "+~磨蹭"]),
        ("分量", ["很足", "+给得很大方"], ["太少", "+少得可怜"]),
    ],
    "hotel": [
        ("房间", ["干净整洁", "~宽敞", "+~敞亮"], ["又小又暗", "有股怪味", "+潮湿发霉"]),
        ("前台", ["~热情", "办事利落", "+~和善"], ["态度恶劣", "效率很低", "+爱答不理"]),
        ("床", ["~舒服", "~软和", "+睡得很香"], ["太硬", "睡得腰疼", "+~硌人"]),
        ("早餐", ["~丰富", "~好吃", "+花样很多"], ["~单调", "~难吃", "+~凑合"]),
        ("酒店的位置", ["~方便", "离地铁很近", "+出门就是商场"], ["~偏僻", "很难找", "+~荒凉"]),
    ],
    "phone": [
        ("手机的电池", ["~耐用", "充电很快", "+~持久"], ["不耐用", "掉电很快", "+一天要充三次"]),
        ("屏幕", ["~清晰", "~漂亮", "+~细腻"], ["发黄", "有坏点", "+~刺眼"]),
        ("拍照效果", ["~出色", "~清楚", "+~惊艳"], ["~模糊", "很一般", "+噪点很多"]),
        ("系统", ["~流畅", "~稳定", "+~顺滑"], ["~卡", "经常死机", "+~迟钝"]),
        ("做工", ["~精致", "~结实", "+~考究"], ["~粗糙", "有划痕", "+~松垮"]),
    ],
    "movie": [
        ("这部电影的剧情", ["~精彩", "~感人", "+~扣人心弦"], ["~无聊", "~拖沓", "+~老套"]),
        ("演员的表演", ["~自然", "~到位", "+~传神"], ["~生硬", "~尴尬", "+~浮夸"]),
        ("画面", ["~漂亮", "~震撼", "+~唯美"], ["~粗糙", "~廉价", "+~昏暗"]),
        ("结尾", ["~让人意外", "~温暖", "+~圆满"], ["很烂", "太仓促", "+~敷衍"]),
    ],
    "book": [
        ("这本书的内容", ["~有趣", "~实用", "+~充实"], ["~空洞", "~枯燥", "+~肤浅"]),
        ("作者的文笔", ["~优美", "~流畅", "+~生动"], ["~啰嗦", "乱七八糟", "+~平淡"]),
        ("印刷质量", ["很好", "~清楚", "+~精美"], ["很差", "模糊不清", "+~粗劣"]),
    ],
    "delivery": [
        ("快递", ["送得很快", "第二天就到了", "+~神速"], ["太慢了", "一个星期才到", "+~拖拉"]),
        ("包装", ["~严实", "完好无损", "+~厚实"], ["破了", "~随便", "+~马虎"]),
        ("快递员", ["服务很好", "~有礼貌", "+~靠谱"], ["态度很差", "不打招呼就放门口", "+~蛮横"]),
    ],
    "clothes": [
        ("衣服的面料", ["~舒服", "~柔软", "+~亲肤"], ["~扎人", "容易起球", "+~闷热"]),
        ("尺码", ["~标准", "刚好合适", "+~合身"], ["偏小", "完全不对", "+~离谱"]),
        ("颜色", ["~好看", "和图片一样", "+~鲜亮"], ["~难看", "和图片差很多", "+洗一次就褪色"]),
    ],
}
DEGREE = ["很", "非常", "特别", "真的", "挺", "相当"]
OPENERS = ["", "", "说实话，", "总的来说，", "第一次来，", "用了一个星期，", "朋友推荐的，", "整体感觉"]
TAILS = {
    "positive": ["下次还会再来", "推荐给大家", "非常满意", "五星好评", "+物超所值", "+值得一试", "+回购了好几次"],
    "negative": ["不会再有下次了", "不推荐", "非常失望", "差评", "+太让人生气了", "+浪费钱", "+后悔了"],
}
OTHER = {"positive": "negative", "negative": "positive"}
VOCABS = ("seen", "new", "all")


def pick(words: list[str], vocab: str, rng: random.Random) -> str:
    """One of ``words`` from the ``vocab`` set (seen / new / all), degree word in place of "~"."""
    if vocab != "all":
        words = [w for w in words if w.startswith(NEW) == (vocab == "new")]
    return rng.choice(words).removeprefix(NEW).replace("~", rng.choice(DEGREE))


def review(label: str, rng: random.Random, vocab: str = "all") -> str:
    """One review whose sentiment is ``label``, its opinions and remark drawn from ``vocab``."""
    aspects = ASPECTS[rng.choice(sorted(ASPECTS))]
    (s1, pos1, neg1), (s2, pos2, neg2) = rng.sample(aspects, 2)
    words1, words2 = (pos1, pos2) if label == "positive" else (neg1, neg2)
    tail = pick(TAILS[label], vocab, rng)
    shape = rng.random()
    if shape < 0.35:
        return f"{rng.choice(OPENERS)}{s1}{pick(words1, vocab, rng)}，{tail}。"
    if shape < 0.65:
        return f"{s1}{pick(words1, vocab, rng)}，{s2}也{pick(words2, vocab, rng)}。"
    if shape < 0.85:
        return f"{rng.choice(OPENERS)}{s1}{pick(words1, vocab, rng)}，{s2}{pick(words2, vocab, rng)}，{tail}。"
    # The turn: the first clause says the opposite, the 但是 clause decides.
    against = neg1 if label == "positive" else pos1
    return f"虽然{s1}{pick(against, vocab, rng)}，但是{s2}{pick(words2, vocab, rng)}。"


def words(vocab: str) -> set[str]:
    """The opinion words and remarks of ``vocab`` (seen / new), without "~" (a degree word goes there)."""
    lists = [w for aspects in ASPECTS.values() for _, pos, neg in aspects for w in (*pos, *neg)]
    lists += [w for tails in TAILS.values() for w in tails]
    return {w.removeprefix(NEW).replace("~", "") for w in lists if w.startswith(NEW) == (vocab == "new")}


def _rows(size: int, vocab: str, labelled: bool, rng: random.Random, seen: set[str]) -> list[dict[str, object]]:
    """``size`` new reviews, balanced (alternating labels); ``seen`` collects every sentence made."""
    rows: list[dict[str, object]] = []
    while len(rows) < size:
        label = "positive" if len(rows) % 2 == 0 else "negative"
        sentence = review(label, rng, vocab)
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
