"""Builds of the embedded demo shared by the tests: small CXR crops keep them fast."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Dict, List

import pytest

import symile_mimic

@pytest.fixture(scope="session", autouse=True)
def _cache_outside_home(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Builds without ``demo_cache=`` (the docs' examples) keep the demo input here, not in ~/.cache."""
    os.environ["SYMILE_MIMIC_CACHE"] = str(tmp_path_factory.mktemp("default-cache"))


#: The flags every test build uses (the demo's images scaled down for speed).
SMALL = {"cxr_scale": 40, "cxr_crop": 32}
SPLITS = ["train", "val", "val_retrieval", "test"]
FORMATS = ["safetensors", "npy", "pt"]


def entry_point() -> str:
    """The ``symile-mimic`` script installed next to this interpreter."""
    path = Path(sys.executable).parent / "symile-mimic"
    assert path.exists(), f"{path} missing: is the package installed in this environment?"
    return str(path)


def cli(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run([entry_point(), *args], capture_output=True, text=True, check=check, timeout=600)


@pytest.fixture(scope="session")
def demo_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the builds of this session keep the embedded demo input (not the user's cache)."""
    return tmp_path_factory.mktemp("cache")


@pytest.fixture(scope="session")
def demo(tmp_path_factory: pytest.TempPathFactory, demo_cache: Path) -> Path:
    """``symile_mimic.build()`` of the embedded demo (no input flags), safetensors."""
    out = tmp_path_factory.mktemp("py") / "out"
    symile_mimic.build(out=out, quiet=True, demo_cache=demo_cache, **SMALL)
    return out


@pytest.fixture(scope="session")
def demo_input(demo: Path, demo_cache: Path) -> Path:
    """The demo input the first build generated (in the cache, never in the dataset directory)."""
    found = [p for p in demo_cache.glob("demo-input-*") if p.is_dir()]
    assert len(found) == 1, found
    assert (found[0].parent / (found[0].name + ".json")).is_file(), "the record of the demo input"
    assert not (demo / "demo-input").exists()
    return found[0]


@pytest.fixture(scope="session")
def formats(demo: Path, demo_input: Path, tmp_path_factory: pytest.TempPathFactory) -> Dict[str, Path]:
    """The same build in each format (the demo input of the first build reused)."""
    dirs = {"safetensors": demo}
    for fmt in ["npy", "pt"]:
        out = tmp_path_factory.mktemp(fmt) / "out"
        symile_mimic.build(out=out, mimic_root=demo_input, format=fmt, quiet=True, **SMALL)
        dirs[fmt] = out
    return dirs


@pytest.fixture(scope="session")
def release(formats: Dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The published release's layout: ``data_npy/<split>/*.npy``, copied from the npy build."""
    root = tmp_path_factory.mktemp("release")
    for split in SPLITS:
        dst = root / "data_npy" / split
        dst.mkdir(parents=True)
        for f in (formats["npy"] / split).glob("*.npy"):
            link(f, dst / f.name)
    return root


def link(src: Path, dst: Path) -> None:
    """A hard link where the file system allows one (the tests' copies are read-only), else a copy."""
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy(src, dst)


def files_under(root: Path, skip: List[str]) -> Dict[str, bytes]:
    """Every file under ``root`` by relative path, except those under ``skip``."""
    out = {}
    for p in sorted(root.rglob("*")):
        rel = p.relative_to(root).as_posix()
        if p.is_file() and not any(rel == s or rel.startswith(s + "/") for s in skip):
            out[rel] = p.read_bytes()
    return out
