"""Layer maps as data: which student layer learns from which teacher layer, with which loss.

A layer map is a list of ``(layer_S, layer_T)`` pairs. Index 0 is the embedding output; index i >= 1
is transformer layer i (1-based), whose *output* feeds the hidden-state loss and whose self-attention
scores feed the attention loss. TinyBERT's uniform map (Jiao et al. 2020, section 3.1, "g(m) = m * N/M")
for an N-layer teacher and an M-layer student is ``0:0, 1:N/M, 2:2N/M, ..., M:N``. Usage::

    pairs = uniform_layer_map(12, 4)              # [(0, 0), (1, 3), (2, 6), (3, 9), (4, 12)]
    pairs = parse_layer_map("0:0,1:3,2:6,3:9,4:12", n_T=12, n_S=4)
    matches = build_matches(pairs, attention_loss="mse")

Each :class:`LayerMatch` is a record in TextBrewer's intermediate-match format.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from tinyzh.errors import ConfigError


@dataclass(frozen=True)
class LayerMatch:
    """One loss term between a student and a teacher feature.

    ``feature`` is ``"hidden"`` (embedding output when the layer is 0) or ``"attention"``; ``loss`` is
    a name in ``tinyzh.distill.losses.LOSSES``. A narrower student's hidden features reach the losses
    already projected to the teacher's width (``wrappers.StudentForward``).
    """

    layer_S: int
    layer_T: int
    feature: str
    loss: str
    weight: float = 1.0

    @property
    def name(self) -> str:
        """The metrics key of this term, e.g. ``hidden_3`` (student layer 3), ``relation_3`` or ``embedding``."""
        if self.feature == "hidden" and self.layer_S == 0:
            return "embedding"
        if self.feature == "qkv":
            return f"relation_{self.layer_S}"
        return f"{self.feature}_{self.layer_S}"

    def to_dict(self) -> dict:
        return asdict(self)


def uniform_layer_map(n_T: int, n_S: int) -> list[tuple[int, int]]:
    """TinyBERT's uniform map: student layer i <- teacher layer i * N / M, embeddings <- embeddings."""
    if n_S < 1 or n_T < 1:
        raise ConfigError(f"teacher and student need at least one layer (found teacher {n_T}, student {n_S})")
    if n_T % n_S:
        raise ConfigError(
            f"a uniform layer map needs the teacher's {n_T} layers to be a multiple of the student's {n_S}; "
            f"give one with --layer-map (e.g. {_example_map(n_T, n_S)})"
        )
    step = n_T // n_S
    return [(i, i * step) for i in range(n_S + 1)]


def _example_map(n_T: int, n_S: int) -> str:
    return ",".join(f"{i}:{round(i * n_T / n_S)}" for i in range(n_S + 1))


def parse_layer_map(text: str, n_T: int, n_S: int) -> list[tuple[int, int]]:
    """Parse ``--layer-map "S:T,S:T,..."`` (student:teacher, 0 = embeddings) and check the ranges."""
    pairs: list[tuple[int, int]] = []
    for part in filter(None, (p.strip() for p in text.split(","))):
        left, sep, right = part.partition(":")
        if not sep or not left.strip().isdigit() or not right.strip().isdigit():
            raise ConfigError(
                f"--layer-map: {part!r} is not STUDENT:TEACHER with two layer numbers "
                f"(expected something like {_example_map(n_T, n_S)})"
            )
        s, t = int(left), int(right)
        if s > n_S or t > n_T:
            raise ConfigError(
                f"--layer-map: {part!r} is out of range; the student has layers 0..{n_S} and the teacher "
                f"0..{n_T} (0 is the embedding output)"
            )
        if (s == 0) != (t == 0):
            raise ConfigError(f"--layer-map: {part!r} maps an embedding output to a transformer layer; use 0:0")
        pairs.append((s, t))
    if not pairs:
        raise ConfigError("--layer-map is empty; expected pairs like " + _example_map(n_T, n_S))
    students = [s for s, _ in pairs]
    if len(set(students)) != len(students):
        raise ConfigError(f"--layer-map maps a student layer twice: {text!r}")
    return sorted(pairs)


def resolve_layer_map(text: str | None, n_T: int, n_S: int) -> list[tuple[int, int]]:
    """``--layer-map`` when given, else the uniform map."""
    return parse_layer_map(text, n_T, n_S) if text else uniform_layer_map(n_T, n_S)


def build_matches(
    pairs: list[tuple[int, int]],
    *,
    attention_loss: str = "mse",
    hidden_loss: str = "mse",
    hidden_weight: float = 1.0,
    attention_weight: float = 1.0,
) -> list[LayerMatch]:
    """One hidden match per pair, plus one attention match per pair of transformer layers.

    ``attention_loss="relation"`` (MiniLMv2) reads the layers' query/key/value (feature ``qkv``),
    the others their attention scores. ``hidden_loss`` names the hidden terms' loss: ``mse`` or
    ``normalised`` (``losses.hidden_normalised``).
    """
    feature = "qkv" if attention_loss == "relation" else "attention"
    matches = []
    for s, t in pairs:
        matches.append(LayerMatch(s, t, "hidden", f"hidden_{hidden_loss}", hidden_weight))
        if s > 0:
            matches.append(LayerMatch(s, t, feature, f"attention_{attention_loss}", attention_weight))
    return matches


def attention_layers(matches: list[LayerMatch], side: str, feature: str = "attention") -> set[int]:
    """1-based layers whose attention scores (``feature="qkv"``: query/key/value) ``side`` ("S" or "T")
    must capture."""
    attr = "layer_S" if side == "S" else "layer_T"
    return {getattr(m, attr) for m in matches if m.feature == feature}


def deepest_teacher_layer(matches: list[LayerMatch]) -> int:
    """The highest teacher layer any match reads; layers above it need not run."""
    return max((m.layer_T for m in matches), default=0)
