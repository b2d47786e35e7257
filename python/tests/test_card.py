"""The dataset card (``README.md`` in every dataset directory) is true of its directory,
and every ``python`` block of it runs there.

A block that imports a module that is not installed (pandas, mlcroissant) is skipped,
saying which.
"""

from __future__ import annotations

import ast
import json
import re
import shutil
from pathlib import Path
from typing import List, Tuple

import numpy as np
import pytest

import symile_mimic
from conftest import SPLITS, link


def blocks(card: Path) -> List[Tuple[int, str]]:
    text = card.read_text()
    return [(text[: m.start()].count("\n") + 1, m.group(1)) for m in re.finditer(r"^```python\n(.*?)^```", text, re.S | re.M)]


def test_the_card_states_the_directory_as_it_is(demo: Path) -> None:
    card = (demo / "README.md").read_text()
    meta = json.loads((demo / "metadata.json").read_text())
    for split in SPLITS:
        rows = meta[f"{split.replace('_', ' ')} size"]
        assert re.search(rf"^\| `{split}` \| {rows} \|", card, re.M), split
    recipe = symile_mimic.recipe_of(demo)
    assert recipe is not None
    assert f"| `splits.train_n` | {recipe['splits']['train_n']} |" in card
    assert "(24 h, 72 h]" in card and "PhysioNet Credentialed Health Data License" in card
    # The demo's sizes are fitted, so it is not the published dataset, and says so.
    assert card.startswith("# Symile-MIMIC (variant)")
    # Every output is in the card's file table and in SHA256SUMS.txt, the card itself too.
    sums = dict(reversed(line.split("  ", 1)) for line in (demo / "SHA256SUMS.txt").read_text().splitlines())
    assert "README.md" in sums and "croissant.json" in sums and "recipe.toml" in sums
    for name in sums:
        if name not in ("README.md", "croissant.json"):
            assert f"| `{name}` |" in card, name


@pytest.mark.parametrize("index", range(4))
def test_card_block_runs(index: int, demo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    found = blocks(demo / "README.md")
    assert len(found) == 4, [line for line, _ in found]
    line, code = found[index]
    for node in ast.walk(ast.parse(code)):
        names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
        if isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module]
        for name in names:
            top = name.split(".")[0]
            pytest.importorskip(top, reason=f"README.md:{line} needs {top}, which is not installed")
    # The blocks run as a user would run them: in a directory of their own, with the
    # dataset's path put where the card says, and scores where the card reads them.
    root = tmp_path / "dataset"
    shutil.copytree(demo, root, copy_function=link)
    test_rows = json.loads((demo / "metadata.json").read_text())["test size"]
    np.save(tmp_path / "test_scores.npy", np.random.default_rng(0).normal(size=test_rows))
    monkeypatch.chdir(tmp_path)
    code = code.replace('"path/to/this/directory"', repr(str(root)))
    exec(compile(code, f"README.md:{line}", "exec"), {"__name__": "__card__"})
