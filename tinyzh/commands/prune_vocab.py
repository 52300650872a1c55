"""``tinyzh prune-vocab``: keep only the vocabulary some texts need; print tokens, parameters and MB."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table
from typer.core import TyperCommand

if TYPE_CHECKING:
    from tinyzh.prune import PruneReport

MULTI_VALUE = ("--corpus", "--data")


def spread_values(args: list[str], options: tuple[str, ...] = MULTI_VALUE) -> list[str]:
    """``--corpus a b`` -> ``--corpus a --corpus b``: words after one of ``options``, up to the next option."""
    rewritten: list[str] = []
    current: str | None = None
    for k, word in enumerate(args):
        if word == "--":
            return rewritten + args[k:]
        if word.startswith("-"):
            name = word.split("=", 1)[0]
            current = name if name in options else None
        elif current is not None and rewritten[-1] != current:
            rewritten.append(current)
        rewritten.append(word)
    return rewritten


class MultiValueCommand(TyperCommand):
    """Lets ``--corpus a.txt b.txt`` and ``--data train.json dev.json`` take several files (shell globs).

    Click options take one value each, so the words after such an option, up to the next option, are
    rewritten as repeated options before parsing (MODEL goes first, as in the usage line).
    """

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        return super().parse_args(ctx, spread_values(args))


def prune_vocab(
    model: Annotated[Path, typer.Argument(help="Checkpoint directory (config.json, weights, tokenizer files).")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Directory for the pruned checkpoint.")],
    corpus: Annotated[list[Path] | None, typer.Option(
        "--corpus", help="Corpus files, one or more (as pregen reads them: one sentence a line).")] = None,
    task: Annotated[str | None, typer.Option("--task", help="Task plugin that reads the --data files.")] = None,
    data: Annotated[list[Path] | None, typer.Option(
        "--data", help="Task files, one or more (e.g. train.json dev.json test.json).")] = None,
    keep_basic: Annotated[bool, typer.Option(
        "--keep-basic/--no-keep-basic",
        help="Also keep every single-character CJK, ASCII and punctuation token.")] = True,
) -> None:
    """Prune MODEL's vocabulary to the tokens the given texts produce (plus specials and basic characters).

    Rebuilds the tokenizer (vocab.txt or tokenizer.json: WordPiece, Unigram or BPE) and slices the embedding
    rows and the masked-LM decoder rows and bias. On the given texts the pruned model gives the same
    tokens (ids remapped) and the same outputs; prune_vocab.json records what was kept.
    """
    from tinyzh.prune import prune_model, read_texts

    corpus, data = list(corpus or []), list(data or [])
    texts = read_texts(corpus, task, data)
    report = prune_model(model, texts, output, keep_basic=keep_basic, text_files=[*corpus, *data])
    print_report(report)


def print_report(report: PruneReport) -> None:
    table = Table(title=f"tinyzh prune-vocab: {report.texts:,} texts, {report.tokenizer} tokenizer")
    for column in ("", "before", "after", "after / before"):
        table.add_column(column, justify="left" if not column else "right")
    rows = (("tokens", report.tokens_before, report.tokens_after),
            ("parameters", report.params_before, report.params_after),
            ("embedding parameters", report.embedding_params_before, report.embedding_params_after))
    for name, before, after in rows:
        table.add_row(name, f"{before:,}", f"{after:,}", f"{after / max(before, 1):.1%}")
    table.add_row("MB", f"{report.mb_before:.2f}", f"{report.mb_after:.2f}",
                  f"{report.mb_after / max(report.mb_before, 1e-12):.1%}")
    console = Console()
    console.print(table)
    console.print(f"kept {report.special:,} special + {report.from_texts:,} from the texts + {report.basic:,} "
                  f"basic tokens; wrote [bold]{report.output}[/] (prune_vocab.json records the id map)")
    if report.dropped_files:
        console.print(f"[yellow]not copied[/] (ids cannot be rewritten; tokenizer.json supersedes them): "
                      f"{', '.join(report.dropped_files)}")
