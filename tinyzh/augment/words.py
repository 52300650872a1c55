"""Words the augmenters work on: jieba segmentation with POS tags, and which words may change.

Texts are cut with ``jieba.posseg`` (jieba's dictionary and HMM, as the ``bert-chinese`` tokenizer's
segmenter uses, plus part-of-speech tags). A word is *replaceable* only when it is made of CJK
characters alone, is not a stop word, and its tag is not a number (``m``), Latin word (``eng``),
named entity (``nr*`` person, ``ns*`` place, ``nt*`` organisation, ``nz*`` other proper noun),
punctuation (``x``/``w``) or function word (particles ``u*``, prepositions ``p``, conjunctions ``c``,
pronouns ``r``, modal/interjection ``y``/``e``/``o``). Usage::

    tagged = tag("张三在北京买了3个苹果")      # [("张三", "nr"), ("在", "p"), ...]
    [w for w, t in tagged if replaceable(w, t)]  # ["买", "苹果"]
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from tinyzh.chinese import is_cjk, jieba_tokenizer

# Tags (jieba's ICTCLAS-style set) whose words are never replaced; see the module docstring.
PROTECTED_TAGS = frozenset({"m", "mq", "eng", "x", "w", "p", "c", "r", "rr", "rz", "y", "e", "o", "q"})
PROTECTED_TAG_PREFIXES = ("nr", "ns", "nt", "nz", "u")

# Function words, negations and degree words whose replacement would change grammar or flip meaning.
STOP_WORDS = frozenset(
    """
    的 地 得 之 了 着 过 是 为 在 和 与 及 跟 同 或 而 但 且 并 就 都 也 还 又 再 才 把 被 让 给 对 从 向
    往 于 以 因 由 自 至 到 比 将 按 如 若 则 即 既 便 虽 除 当 据 靠 沿 趁 经 随 替
    不 没 没有 非 无 未 否 别 莫 勿 甭 不要 不是 不能 不会 不用 未必 并非
    一 一个 一些 一样 一下 一点 有的 有些 某 某些 每 各 这 那 哪 这个 那个 这些 那些 这样 那样 这么 那么
    我 你 您 他 她 它 咱 俺 我们 你们 他们 她们 它们 咱们 自己 大家 别人 人家 本人
    什么 怎么 怎样 怎么样 为什么 为何 如何 多少 几 哪里 哪儿 哪个 谁 啥
    吗 呢 吧 啊 呀 哦 哇 嗯 么 嘛 啦 哈 呵 噢 喔 哎 唉 喂 耶 咯 罢了 而已
    因为 所以 如果 假如 要是 虽然 但是 可是 然而 而且 并且 或者 还是 以及 不但 不仅 只要 只有 除非
    即使 尽管 于是 然后 因此 因而 从而 以便 以免 否则 不然 既然 可见 总之 例如 比如 等 等等 之类
    个 只 些 点 次 回 种 样 位 件 条 张 本 家 年 月 日 号 时 分 秒
    """.split()
)


@lru_cache(maxsize=1)
def _pos_tokenizer() -> Any:
    import jieba.posseg

    return jieba.posseg.POSTokenizer(jieba_tokenizer())


def tag(text: str) -> list[tuple[str, str]]:
    """``text`` as ``(word, tag)`` pairs; the words concatenate back to ``text`` exactly."""
    return [(pair.word, pair.flag) for pair in _pos_tokenizer().cut(text)]


def word_frequency(word: str) -> int:
    """jieba's dictionary count of ``word`` (0 when unknown); used to rank candidates."""
    return jieba_tokenizer().FREQ.get(word, 0)


def is_protected_tag(tag_: str) -> bool:
    return tag_ in PROTECTED_TAGS or tag_.startswith(PROTECTED_TAG_PREFIXES)


def replaceable(word: str, tag_: str) -> bool:
    """May ``word`` (jieba tag ``tag_``) be replaced? See the module docstring for the rules."""
    return (
        bool(word)
        and all(is_cjk(c) for c in word)
        and word not in STOP_WORDS
        and not is_protected_tag(tag_)
    )
