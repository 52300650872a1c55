"""Every task plugin reads the real CLUE/FewCLUE files in ../shared/data/clue (skipped when absent)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tinyzh import plugins
from tinyzh.tasks.data import find_task_dir, load_split

# (task, file) -> (examples read, rows dropped as "-"); counts of the files described in the data README.
EXPECTED = {
    ("ocnli", "train.json"): (9985, 15),
    ("ocnli", "dev.json"): (2950, 50),
    ("ocnli", "test.json"): (3000, 0),
    ("tnews", "train.json"): (1185, 0),
    ("tnews", "dev.json"): (1098, 0),
    ("tnews", "test_public.json"): (2010, 0),
    ("tnews", "test.json"): (1500, 0),
    ("iflytek", "train.json"): (3024, 0),
    ("iflytek", "dev.json"): (1373, 0),
    ("iflytek", "test.json"): (2600, 0),
    ("csl", "train.json"): (160, 0),
    ("csl", "dev.json"): (160, 0),
    ("csl", "test_public.json"): (2838, 0),
    ("csl", "test.json"): (3000, 0),
    ("cluewsc2020", "train.json"): (160, 0),
    ("cluewsc2020", "dev.json"): (159, 0),
    ("cluewsc2020", "test_public.json"): (976, 0),
    ("cluewsc2020", "test.json"): (290, 0),
}


@pytest.mark.parametrize(("name", "file"), sorted(EXPECTED))
def test_shared_clue_file_reads_with_expected_counts(shared_data: Path, name: str, file: str) -> None:
    task = plugins.get_task(name)
    directory = find_task_dir(shared_data / "clue", task)
    split = "test" if file.startswith("test") else file.split(".")[0]
    examples = load_split(directory / file, task, split)
    assert (len(examples), task.skipped[split]) == EXPECTED[(name, file)]
    ids = [ex.id for ex in examples]
    assert len(set(map(str, ids))) == len(ids)  # ids unique: the submission can be matched back
    if file != "test.json":
        assert all(ex.label in task.labels for ex in examples)
    if name == "cluewsc2020":  # every span lands where its index says: markers wrap the span text
        for ex in examples:
            target = ex.record["target"]
            assert f"_{target['span1_text']}_" in ex.texts[0] and f"[{target['span2_text']}]" in ex.texts[0]
            assert ex.texts[0].count("_") == 2 and task.with_texts(ex, ex.texts) == dict(ex.record)
