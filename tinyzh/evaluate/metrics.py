"""Classification metrics, looked up by the name a task declares in ``Task.metric``.

Each takes gold and predicted label strings of equal length and returns a score in [0, 1].
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from tinyzh.errors import ConfigError


def accuracy(gold: Sequence[str], pred: Sequence[str]) -> float:
    """Fraction of exact matches; 0.0 for no examples."""
    _check(gold, pred)
    return sum(g == p for g, p in zip(gold, pred, strict=True)) / len(gold) if gold else 0.0


def macro_f1(gold: Sequence[str], pred: Sequence[str]) -> float:
    """Unweighted mean of per-class F1 over the classes seen in ``gold`` or ``pred``."""
    _check(gold, pred)
    classes = sorted(set(gold) | set(pred))
    if not classes:
        return 0.0
    scores = []
    for c in classes:
        tp = sum(g == c and p == c for g, p in zip(gold, pred, strict=True))
        fp = sum(g != c and p == c for g, p in zip(gold, pred, strict=True))
        fn = sum(g == c and p != c for g, p in zip(gold, pred, strict=True))
        scores.append(2 * tp / (2 * tp + fp + fn) if tp else 0.0)
    return sum(scores) / len(scores)


def _check(gold: Sequence[str], pred: Sequence[str]) -> None:
    if len(gold) != len(pred):
        raise ValueError(f"{len(gold)} gold labels but {len(pred)} predictions")


METRICS: dict[str, Callable[[Sequence[str], Sequence[str]], float]] = {
    "accuracy": accuracy,
    "macro_f1": macro_f1,
}


def get_metric(name: str) -> Callable[[Sequence[str], Sequence[str]], float]:
    try:
        return METRICS[name]
    except KeyError:
        raise ConfigError(f"unknown metric {name!r}; available: {', '.join(sorted(METRICS))}") from None
