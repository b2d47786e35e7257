"""Every ``python`` block of README.md, docs/python.md and docs/card.md runs.

Each block runs on its own, in a directory whose ``out/`` is a demo build holding
the tensors in all three formats; a page that names its dataset directory otherwise
(docs/card.md's ``symile-mimic-data``, a build from MIMIC) has it rewritten to ``out``.
A block that imports a module that is not installed (torch, pandas) is skipped, saying
which.
"""

from __future__ import annotations

import ast
import os
import re
import shutil
from pathlib import Path
from typing import Dict, List, Tuple

import pytest
from conftest import SPLITS, link

REPO = Path(__file__).resolve().parents[2]
DOCS = [REPO / "README.md", REPO / "docs" / "python.md", REPO / "docs" / "card.md"]
#: Per page, the dataset paths it uses and what they become in the work directory.
PATHS = {"docs/card.md": [('"symile-mimic-data/', '"out/')]}


def blocks() -> List[Tuple[str, int, str]]:
    found = []
    for doc in DOCS:
        text = doc.read_text()
        page = doc.relative_to(REPO).as_posix()
        for i, m in enumerate(re.finditer(r"^```python\n(.*?)^```", text, re.S | re.M)):
            line = text[: m.start()].count("\n") + 1
            code = m.group(1)
            for old, new in PATHS.get(page, []):
                assert old in code, f"{page}:{line} no longer uses {old}: update PATHS"
                code = code.replace(old, new)
            found.append((f"{page}:{line}", i, code))
    return found


@pytest.fixture(scope="module")
def workdir(formats: Dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("docs")
    out = work / "out"
    shutil.copytree(formats["safetensors"], out, copy_function=link)
    for fmt in ["npy", "pt"]:
        for split in SPLITS:
            for f in (formats[fmt] / split).iterdir():
                link(f, out / split / f.name)
    return work


def test_the_docs_have_python_blocks() -> None:
    where = {b[0].split(":")[0] for b in blocks()}
    assert where == {"README.md", "docs/python.md", "docs/card.md"}


@pytest.mark.parametrize("where,index,code", blocks(), ids=[b[0] for b in blocks()])
def test_block_runs(where: str, index: int, code: str, workdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for node in ast.walk(ast.parse(code)):
        names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
        if isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module]
        for name in names:
            top = name.split(".")[0]
            pytest.importorskip(top, reason=f"{where} needs {top}, which is not installed")
    monkeypatch.chdir(workdir)
    exec(compile(code, where, "exec"), {"__name__": "__docs__"})
    assert os.getcwd() == str(workdir)
