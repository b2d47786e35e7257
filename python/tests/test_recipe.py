"""Recipes from Python: ``recipe=`` as a path or a dict, keywords over it, and each bad
recipe raising :class:`symile_mimic.Error` in Python's words, with nothing written."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any, Dict

import pytest

import symile_mimic
from conftest import SMALL


def recorded(out: Path) -> Dict[str, Any]:
    with open(out / "recipe.toml", "rb") as f:
        return tomllib.load(f)


def test_a_dict_recipe_is_overridden_by_keywords_and_the_rest_is_published(
    demo_input: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    recipe = {"splits": {"candidate_n": 4, "seed": 5}, "tensors": {"cxr_scale": 40, "cxr_crop": 40}}
    symile_mimic.build(out=out, mimic_root=demo_input, recipe=recipe, seed=6, cxr_crop=32, quiet=True)
    r = recorded(out)
    assert r["splits"]["candidate_n"] == 4  # the dict
    assert r["splits"]["seed"] == 6  # the keyword over the dict
    assert (r["tensors"]["cxr_scale"], r["tensors"]["cxr_crop"]) == (40, 32)
    assert r["cohort"]["cxr_window_hours"] == [24, 72]  # the published default
    assert r["cohort"]["cxr_views"] == ["AP", "PA"] and len(r["cohort"]["labs"]) == 50


def test_a_recipe_file_and_the_same_dict_build_the_same_bytes(demo_input: Path, tmp_path: Path) -> None:
    text = "[cohort]\ncxr_window_hours = [12, 96]\nlabs = [51221, 50809, 50912]\n"
    path = tmp_path / "variant.toml"
    path.write_text(text)
    a, b = tmp_path / "a", tmp_path / "b"
    symile_mimic.build(out=a, mimic_root=demo_input, recipe=path, quiet=True, **SMALL)
    symile_mimic.build(out=b, mimic_root=demo_input, recipe=tomllib.loads(text), quiet=True, **SMALL)
    assert (a / "SHA256SUMS.txt").read_bytes() == (b / "SHA256SUMS.txt").read_bytes()
    r = recorded(a)
    assert r["cohort"]["labs"] == [51221, 50809, 50912]
    header = (a / "symile_mimic_data.csv").read_text().splitlines()[0].split(",")
    assert [c for c in header if c.isdigit()] == ["51221", "50809", "50912"]
    assert symile_mimic.verify(a, quiet=True)["failed"] == []
    # The recipe recorded, as a dict, builds the same bytes again.
    got = symile_mimic.recipe_of(a)
    assert got is not None and got["cohort"]["cxr_window_hours"] == [12, 96]
    c = tmp_path / "c"
    symile_mimic.build(out=c, mimic_root=demo_input, recipe=got, quiet=True)
    assert (c / "SHA256SUMS.txt").read_bytes() == (a / "SHA256SUMS.txt").read_bytes()
    assert symile_mimic.Dataset(a, "train")[0]["labs_percentiles"].shape == (3,)
    # The printed template is the published recipe.
    template = symile_mimic.recipe(quiet=True)["toml"]
    assert tomllib.loads(template)["splits"]["train_n"] == 10000


@pytest.mark.parametrize(
    "recipe, message",
    [
        ({"cohort": {"cxr_windows": [1, 2]}}, r"^recipe= cohort\.cxr_windows: unknown key"),
        ({"cohorts": {}}, r"^recipe= cohorts: unknown key \(expected one of cohort, splits, tensors\)"),
        ({"splits": {"train_n": "ten"}}, r"^recipe= splits\.train_n: invalid type: string \"ten\""),
        ({"cohort": {"ecg_window_hours": [24, -24]}}, r"^recipe= cohort\.ecg_window_hours: lo \(24 h\) must be less than hi"),
        ({"cohort": {"cxr_views": []}}, r"^recipe= cohort\.cxr_views: the list of views is empty"),
        ({"cohort": {"labs": []}}, r"^recipe= cohort\.labs: the list of labs is empty"),
        ({"cohort": {"labs": [51221, 51221]}}, r"^recipe= cohort\.labs: itemid 51221 is listed twice"),
        ({"splits": {"val_n": -1}}, r"^recipe= splits\.val_n: invalid value: -1, expected a whole number"),
        ({"tensors": {"cxr_scale": 32, "cxr_crop": 40}}, r"^recipe= tensors\.cxr_crop: 40 is larger than"),
    ],
)
def test_each_bad_recipe_raises_naming_the_key(
    demo_input: Path, tmp_path: Path, recipe: Dict[str, Any], message: str
) -> None:
    out = tmp_path / "out"
    with pytest.raises(symile_mimic.Error, match=message):
        symile_mimic.build(out=out, mimic_root=demo_input, recipe=recipe, quiet=True)
    assert not out.exists()


def test_bad_keywords_and_files_are_named_as_python_wrote_them(demo_input: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    with pytest.raises(symile_mimic.Error, match=r"^cxr_window_hours=: lo \(72 h\) must be less than hi \(24 h\)$"):
        symile_mimic.build(out=out, mimic_root=demo_input, cxr_window_hours="72,24", quiet=True)
    bad = tmp_path / "bad.toml"
    bad.write_text("[tensors]\nformat = \"hdf5\"\n")
    with pytest.raises(symile_mimic.Error, match=rf"^{bad}:2: tensors\.format: unknown variant `hdf5`"):
        symile_mimic.build(out=out, mimic_root=demo_input, recipe=bad, quiet=True)
    with pytest.raises(symile_mimic.Error, match=r"cannot read the recipe .*none\.toml"):
        symile_mimic.build(out=out, mimic_root=demo_input, recipe=tmp_path / "none.toml", quiet=True)
    assert not out.exists()
    # A data-dependent error names the field and how this caller set it.
    with pytest.raises(symile_mimic.Error, match=r"splits\.train_n = 100000 must be .* \(set by train_n=\)$"):
        symile_mimic.build(out=out, mimic_root=demo_input, train_n=100000, quiet=True, **SMALL)
    # A command that takes no recipe refuses the keyword.
    with pytest.raises(TypeError, match="recipe"):
        symile_mimic.verify(out, recipe={"splits": {}})
