"""``tinyzh run``: a recipe's stages skip, resume and rerun as their settings say; errors before any run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from tests.demo.test_data import DEMO_ENTRY_POINT
from tests.distill.test_report import scalars
from tinyzh import plugins
from tinyzh.cli import app
from tinyzh.errors import ConfigError
from tinyzh.recipe import load_recipe, plan, run_recipe
from tinyzh.report import Reporter

# The front of the demo at toy size: data, vocabulary, pregen and a 4-step pretrain of the teacher (seconds).
FRONT = """
extends = "demo-tiny"
name = "front"
description = "演示的前半部分"
[finetune]
enabled = false
[distill_general]
enabled = false
[augment]
enabled = false
[distill_task]
enabled = false
[eval]
enabled = false
"""


@pytest.fixture(autouse=True)
def _demo_task_and_one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    with plugins.use_entry_points(DEMO_ENTRY_POINT):
        yield
    torch.set_num_threads(threads)


def write(tmp_path: Path, text: str, name: str = "recipe.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


class Stop(Reporter):
    """Interrupts the run at the first progress report of ``stage``'s bar."""

    def __init__(self, bar: str) -> None:
        self.bar = bar

    def progress(self, name: str, completed: float, total: float | None = None, info: object = None) -> None:
        if name.startswith(self.bar) and completed > 0:
            raise KeyboardInterrupt


def actions(recipe) -> dict[str, str]:
    return {step.name: step.action for step in plan(recipe)}


def test_skip_resume_and_rerun_the_right_stages(tmp_path: Path) -> None:
    path = write(tmp_path, FRONT)
    out = f'output="{tmp_path / "out"}"'
    recipe = load_recipe(path, [out, 'report_to="tensorboard"'])
    assert actions(recipe) == dict.fromkeys(("data", "vocab", "pregen", "pretrain"), "run")
    with pytest.raises(KeyboardInterrupt):
        run_recipe(recipe, Stop("pretrain"))
    assert actions(recipe) == {"data": "skip", "vocab": "skip", "pregen": "skip", "pretrain": "resume"}

    summary = run_recipe(recipe)
    assert [s.action for s in summary.steps] == ["skip", "skip", "skip", "resume"]
    losses = scalars(tmp_path / "out" / "tensorboard" / "pretrain")["pretrain/mlm_loss"]
    assert [step for step, _ in losses][-4:] == [1, 2, 3, 4]  # the finished run's steps, after the stopped one's
    assert all(s.action == "skip" for s in plan(recipe))
    teacher = (tmp_path / "out" / "teacher-mlm" / "model.safetensors").stat().st_mtime_ns

    changed = load_recipe(path, [out, "pregen.epochs=2"])
    steps = {s.name: s for s in plan(changed)}
    assert {n: s.action for n, s in steps.items()} == {"data": "skip", "vocab": "skip", "pregen": "run",
                                                       "pretrain": "run"}
    assert steps["pregen"].reason == "settings changed: epochs 1 -> 2"
    assert steps["pretrain"].reason == "an earlier stage (pregen) reruns"
    run_recipe(changed)
    manifest = json.loads((tmp_path / "out" / "pregen" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["epochs"] == 2
    assert (tmp_path / "out" / "teacher-mlm" / "model.safetensors").stat().st_mtime_ns != teacher

    # --only reruns one stage; the next one then knows an earlier stage changed under it
    three = load_recipe(path, [out, "pregen.epochs=3"])
    only = run_recipe(three, only="pregen")
    assert [(s.name, s.action) for s in only.steps] == [("pregen", "run")]
    assert {s.name: s.reason for s in plan(three)}["pretrain"] == "an earlier stage was rerun since this one ran"
    again = run_recipe(three, from_stage="pretrain")
    assert [(s.name, s.action) for s in again.steps] == [("pretrain", "run")]
    results = json.loads((tmp_path / "out" / "results.json").read_text(encoding="utf-8"))
    assert results["recipe"] == "front" and [s["stage"] for s in results["stages"]] == ["pretrain"]
    saved = json.loads((tmp_path / "out" / "recipe.json").read_text(encoding="utf-8"))
    assert saved["pregen"]["epochs"] == 3 and "finetune" not in saved


def test_from_needs_the_earlier_stages_up_to_date(tmp_path: Path) -> None:
    recipe = load_recipe(write(tmp_path, FRONT), [f'output="{tmp_path / "out"}"'])
    with pytest.raises(ConfigError, match="--from pretrain: the earlier stage data is not up to date"):
        plan(recipe, from_stage="pretrain")
    with pytest.raises(ConfigError, match="--only 'augment': this recipe runs data, vocab, pregen, pretrain"):
        plan(recipe, only="augment")


@pytest.mark.parametrize(("text", "message"), [
    ('output = "o"\n[pregen]\nepoch = 2\n', r"recipe.toml:3: \[pregen\] epoch: unknown key; did you mean 'epochs'\?"),
    ('output = "o"\nsed = 1\n', r"recipe.toml:2: sed: unknown key; did you mean 'seed'\?"),
    ('output = "o"\n[distill_general]\nteacher = "x"\n', r"recipe.toml:3: \[distill_general\] teacher: is set by the recipe"),
    ('output = "o"\n[pregen]\ncorpus = ["a"]\n', r"\[pregen\] corpus: is set by the recipe"),
    ('output = "o"\n[pregenn]\n', r"recipe.toml:2: \[pregenn\]: unknown table; did you mean 'pregen'\?"),
    ('output = "o"\n[pregen\n', r"recipe.toml: not valid TOML: .*line 2"),
    ('output = "o"\ncorpus = ["c.txt"]\n[pregen]\nmasking = "sometimes"\n',
     r"recipe.toml:4: \[pregen\] masking: --masking 'sometimes' is not valid"),
    ('output = "o"\ncorpus = ["c.txt"]\n\n[pregen]\nepochs = 0\n', r"recipe.toml:5: \[pregen\] epochs: --epochs 0"),
    ('output = "o"\n[pregen]\n', r"\[pregen\] needs the top-level key corpus"),
    ('output = "o"\nmax_seq_len = 32\ncorpus = ["c"]\n[pregen]\nmax_seq_len = 64\n[pretrain]\n',
     r"recipe.toml:2: max_seq_len: the teacher's 32 positions are fewer than \[pregen\] max_seq_len 64"),
    ('[pregen]\n', r"output: required"),
    ('output = "o"\nseed = "one"\n', r"recipe.toml:2: seed: expected an integer, got 'one'"),
    ('output = "o"\ncorpus = [1]\n', r"recipe.toml:2: corpus: expected a list of strings or a string"),
    ('output = 3\n', r"recipe.toml:1: output: expected a string, got 3"),
    ('output = "o"\nreport_to = "wandb"\n', r"recipe.toml:2: report_to: --report-to 'wandb' is not a reporter"),
    ('extends = "demo-tinyy"\n', r"no bundled recipe of that name.*did you mean 'demo-tiny'\?"),
    ('output = "o"\nstudent = { layers = 2, hidden = 30, heads = 4, intermediate = 8 }\n',
     r"\[student\]: model shape: hidden 30 is not divisible by heads 4"),
])
def test_recipe_errors_name_the_file_key_and_line(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        plan(load_recipe(write(tmp_path, text)))
    assert not (tmp_path / "o").exists()  # nothing ran


def test_dry_run_prints_the_plan_and_commands_and_runs_nothing(tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["run", "demo-tiny", "--dry-run", "-o", str(out), "--set", "augment.num_aug=3"])
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "distill_task │ run │ not run yet" in text
    assert f"tinyzh augment --task demo-products --input {out}/data/demo_task/train.json" in text
    assert "--num-aug 3" in text and f"tinyzh distill --stage task --data {out}/distill-data/train.json" in text
    # [distill_task] unlabeled = true: the augmented rows, then the task's unlabeled.json
    assert (f"awk 1 {out}/augment/train.json {out}/data/demo_task/unlabeled.json > {out}/distill-data/train.json && "
            "tinyzh distill --stage task") in text
    assert not out.exists()
    listed = CliRunner().invoke(app, ["run", "--list"])
    assert all(name in listed.output for name in ("demo", "general-tinybert4", "clue-task", "quality-best"))
    bad = CliRunner().invoke(app, ["run", "demo-tiny", "--dry-run", "--set", "pregen.epochz=1"])
    assert bad.exit_code == 1 and "did you mean 'epochs'" in bad.output
    bad = CliRunner().invoke(app, ["run", "demo-tiny", "-o", str(out), "--set", "distill_task.lr=-1"])
    assert bad.exit_code == 1 and "[distill_task] lr (from --set): --lr must be positive" in " ".join(bad.output.split())
    assert not out.exists()  # refused before anything was written


def test_unlabeled_needs_the_task_folders_unlabeled_json(tmp_path: Path) -> None:
    task_dir = tmp_path / "data" / "demo-sentiment"
    task_dir.mkdir(parents=True)
    for split in ("train", "dev"):
        (task_dir / f"{split}.json").write_text('{"sentence": "很好。", "label": "positive"}\n', encoding="utf-8")
    text = (f'output = "{tmp_path / "out"}"\ntask = "demo-sentiment"\ndata_dir = "{tmp_path / "data"}"\n'
            '[distill_task]\nunlabeled = true\n')
    with pytest.raises(ConfigError, match=r"recipe.toml:5: \[distill_task\] unlabeled: no such file: .*unlabeled.json"):
        plan(load_recipe(write(tmp_path, text)))
    (task_dir / "unlabeled.json").write_text('{"sentence": "太差了。"}\n', encoding="utf-8")
    step = plan(load_recipe(write(tmp_path, text)))[-1]
    assert step.plan.config.data == str(tmp_path / "out" / "distill-data" / "train.json")
    assert step.plan.settings["unlabeled"] == str(task_dir / "unlabeled.json")


def test_augment_unlabeled_gives_the_unlabelled_rows_copies_for_task_distillation(tmp_path: Path) -> None:
    from tests.augment.test_runner import SYNONYMS

    task_dir, out = tmp_path / "data" / "demo-sentiment", tmp_path / "out"
    task_dir.mkdir(parents=True)
    texts = ["张三今天很高兴，他喜欢这个漂亮的城市", "李四不喜欢漂亮的东西", "王五在城市里很开心"]
    labelled = "".join(json.dumps({"sentence": t, "label": "positive"}, ensure_ascii=False) + "\n" for t in texts)
    for split in ("train", "dev"):
        (task_dir / f"{split}.json").write_text(labelled, encoding="utf-8")
    unlabelled = [{"sentence": t, "id": i} for i, t in enumerate(texts)]
    rows_text = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in unlabelled)
    (task_dir / "unlabeled.json").write_text(rows_text, encoding="utf-8")
    synonyms = write(tmp_path, SYNONYMS, "syn.txt")
    text = (f'output = "{out}"\ntask = "demo-sentiment"\ndata_dir = "{tmp_path / "data"}"\n'
            f'[augment]\naugmenters = "synonym"\nsynonyms = "{synonyms}"\nnum_aug = 3\nunlabeled = true\n'
            '[distill_task]\nunlabeled = true\n')  # fmt: skip
    steps = {s.name: s for s in plan(load_recipe(write(tmp_path, text)))}
    assert steps["augment"].plan.settings["unlabeled"] == str(task_dir / "unlabeled.json")
    assert steps["distill_task"].plan.settings["unlabeled"] == str(out / "augment" / "unlabeled.json")
    assert (f"--input {task_dir}/unlabeled.json --output {out}/augment/unlabeled.json" in steps["augment"].command()
            and steps["augment"].command().endswith("--allow-unlabeled"))  # fmt: skip
    summary = run_recipe(load_recipe(write(tmp_path, text)), only="augment")
    copies = [json.loads(line) for line in (out / "augment" / "unlabeled.json").read_text(encoding="utf-8").splitlines()]
    assert all(row in copies for row in unlabelled) and not any("label" in r for r in copies)
    assert {r["sentence"] for r in copies} > set(texts)  # and copies with synonyms swapped in
    assert summary.steps[0].summary["unlabeled_records"] == len(copies)
    # the unlabelled rows are an input of the stage: changed, it runs again
    (task_dir / "unlabeled.json").write_text(json.dumps(unlabelled[0], ensure_ascii=False) + "\n", encoding="utf-8")
    assert {s.name: s.reason for s in plan(load_recipe(write(tmp_path, text)))}["augment"] == "its input files changed"
    alone = text.replace("[distill_task]\nunlabeled = true\n", "")
    with pytest.raises(ConfigError, match=r"recipe.toml:8: \[augment\] unlabeled: copies of the unlabelled rows are"):
        plan(load_recipe(write(tmp_path, alone)))
    # balancing keeps label proportions: the labelled rows only
    balanced = {s.name: s for s in plan(load_recipe(write(tmp_path, text.replace("num_aug = 3", "balance = true"))))}
    first, second = balanced["augment"].command().split(" && ")
    assert "--balance" in first and "--balance" not in second and second.endswith("--allow-unlabeled")
    (task_dir / "unlabeled.json").unlink()  # refused when planned, before the train set's augmentation
    with pytest.raises(ConfigError, match=r"recipe.toml:8: \[augment\] unlabeled: no such file: .*unlabeled.json"):
        plan(load_recipe(write(tmp_path, text)))


def test_unlabeled_and_select_on_dev_are_switches(tmp_path: Path) -> None:
    text = f'output = "{tmp_path / "out"}"\ntask = "demo-sentiment"\ndata_dir = "{tmp_path}"\n[distill_task]\nunlabeled = "no"\n'
    with pytest.raises(ConfigError, match=r"recipe.toml:5: \[distill_task\] unlabeled: unlabeled must be true or false, got 'no'"):
        plan(load_recipe(write(tmp_path, text)))


def test_every_bundled_recipe_plans(tmp_path: Path) -> None:
    from tinyzh.recipe import bundled_names

    corpus = write(tmp_path, "一句话。\n", "corpus.txt")
    (tmp_path / "clue" / "tnews").mkdir(parents=True)
    for name in bundled_names():
        overrides = [f'output="{tmp_path / name}"', f'corpus=["{corpus}"]', f'data_dir="{tmp_path / "clue"}"']
        steps = plan(load_recipe(name, overrides))
        assert steps and all(s.action == "run" for s in steps), name


def test_a_c_locale_run_writes_utf8_json(tmp_path: Path) -> None:
    path = write(tmp_path, FRONT.replace("[finetune]", "[pregen]\nepochs = 1\n[pretrain]\nenabled = false\n"
                                         "[finetune]"))
    env = {**os.environ, "LC_ALL": "C", "LANG": "C", "PYTHONUTF8": "0", "PYTHONCOERCECLOCALE": "0",
           "PYTHONIOENCODING": "utf-8", "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    code = ("import locale, sys; from tinyzh.cli import main; assert locale.getpreferredencoding(False) != 'UTF-8';"
            " sys.argv = ['tinyzh', 'run', sys.argv[1], '-o', sys.argv[2]]; main()")
    done = subprocess.run([sys.executable, "-c", code, str(path), str(tmp_path / "out")], env=env,
                          capture_output=True, text=True, encoding="utf-8", timeout=300, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    saved = (tmp_path / "out" / "recipe.json").read_bytes().decode("utf-8")
    assert json.loads(saved)["description"] == "演示的前半部分" and "演示" in saved  # not \\u escapes
    assert (tmp_path / "out" / "recipe.toml").read_bytes().decode("utf-8") == path.read_text(encoding="utf-8")
