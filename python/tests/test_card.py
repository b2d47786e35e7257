"""The dataset card (``README.md`` in every dataset directory) is true of its directory,
and every ``python`` block of it runs there.

A block that imports a module that is not installed (torch) is skipped, saying which;
the card keeps each torch example in a block of its own, so the others still run.
"""

from __future__ import annotations

import ast
import json
import re
import shutil
from pathlib import Path
from typing import Dict, List, Tuple

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
    assert "(24 h, 72 h]" in card
    # Every output is in the card's file table and in SHA256SUMS.txt, the card itself too;
    # the table lists SHA256SUMS.txt as well, without a size (it holds the card's digest).
    sums = dict(reversed(line.split("  ", 1)) for line in (demo / "SHA256SUMS.txt").read_text().splitlines())
    assert "README.md" in sums and "croissant.json" in sums and "recipe.toml" in sums
    for name in sums:
        if name not in ("README.md", "croissant.json"):
            assert f"| `{name}` |" in card, name
    assert "| `SHA256SUMS.txt` | — | SHA-256 of every output file" in card


def test_a_demo_build_says_its_rows_are_synthetic(demo: Path) -> None:
    report = json.loads((demo / "cohort_report.json").read_text())
    assert report["synthetic"] is True
    card = (demo / "README.md").read_text()
    assert card.startswith("# Symile-MIMIC (synthetic demo)\n\n> **Synthetic data, not the Symile-MIMIC dataset.**")
    assert "Each row is one synthetic admission made by symile-mimic's deterministic MIMIC-shaped generator" in card
    assert "Beth Israel" not in card and "derived from credentialed" not in card
    licence = card.split("## Licence and access\n\n", 1)[1]
    assert "It is not derived from PhysioNet data and holds no patient data" in licence
    meta = json.loads((demo / "croissant.json").read_text())
    assert meta["name"] == "Symile-MIMIC (synthetic demo)"
    assert meta["license"] == "https://spdx.org/licenses/MIT.html"
    assert meta["description"].startswith("Synthetic, MIMIC-shaped data")
    assert meta["rai:dataCollectionType"] == ["Synthetic data generation"]
    assert meta["rai:personalSensitiveInformation"][0].startswith("None: every row")
    assert meta["datePublished"] == "2026-12-04"  # symile-mimic 0.1.0's release, never the run's time
    assert meta["version"].startswith("1.0.0+synthetic.")


def test_a_build_of_a_named_input_makes_no_synthetic_claim(formats: Dict[str, Path]) -> None:
    # The npy build reads the demo's files as a MIMIC root: nothing vouches that they are
    # synthetic, so its report has no "synthetic" key and its card the credentialed licence.
    out = formats["npy"]
    assert "synthetic" not in json.loads((out / "cohort_report.json").read_text())
    card = (out / "README.md").read_text()
    assert card.startswith("# Symile-MIMIC (variant)\n")
    assert "PhysioNet Credentialed Health Data License" in card and "synthetic" not in card
    assert json.loads((out / "croissant.json").read_text())["datePublished"] == "2026-12-04"


#: The card's blocks: the Dataset, a DataLoader (torch), the tensors with numpy, with
#: torch, the CSVs (pandas, mlcroissant), evaluating.
CARD_BLOCKS = 6


def test_the_card_has_its_python_blocks(demo: Path) -> None:
    found = [code for _, code in blocks(demo / "README.md")]
    assert len(found) == CARD_BLOCKS, found
    torch_blocks = [i for i, code in enumerate(found) if "torch" in code]
    assert torch_blocks == [1, 3], "the torch examples stand alone, so the numpy ones run without torch"
    assert "from safetensors.torch import load_file" in found[3] and "DataLoader(ds" in found[1]


@pytest.mark.parametrize("index", range(CARD_BLOCKS))
def test_card_block_runs(index: int, demo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    found = blocks(demo / "README.md")
    assert len(found) == CARD_BLOCKS, [line for line, _ in found]
    line, code = found[index]
    for node in ast.walk(ast.parse(code)):
        names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
        if isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module]
        for name in names:
            # The whole dotted name: safetensors is installed, safetensors.torch needs torch.
            pytest.importorskip(name, reason=f"README.md:{line} needs {name}, which is not installed")
    # The blocks run as a user would run them: in a directory of their own, with the
    # dataset's path put where the card says, and scores where the card reads them.
    root = tmp_path / "dataset"
    shutil.copytree(demo, root, copy_function=link)
    test_rows = json.loads((demo / "metadata.json").read_text())["test size"]
    np.save(tmp_path / "test_scores.npy", np.random.default_rng(0).normal(size=test_rows))
    monkeypatch.chdir(tmp_path)
    code = code.replace('"path/to/this/directory"', repr(str(root)))
    exec(compile(code, f"README.md:{line}", "exec"), {"__name__": "__card__"})
