"""Recipes from Python: ``recipe=`` as a path or a dict, keywords over it, and each bad
recipe raising :class:`symile_mimic.Error` in Python's words, with nothing written."""

from __future__ import annotations

import re
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
    # The dict alone breaks the crop ≤ scale rule (the published crop is 320); the keyword mends it.
    recipe = {"splits": {"candidate_n": 4, "seed": 5}, "tensors": {"cxr_scale": 40}}
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


def test_a_recipe_file_is_overridden_by_keywords_and_the_rest_is_published(
    demo_input: Path, tmp_path: Path
) -> None:
    path = tmp_path / "partial.toml"
    path.write_text("[splits]\ncandidate_n = 4\nseed = 5\n\n[tensors]\ncxr_scale = 40\n")
    out = tmp_path / "out"
    # The file alone is refused, naming its line and the default it conflicts with.
    with pytest.raises(
        symile_mimic.Error,
        match=rf"^{re.escape(str(path))}:6: tensors\.cxr_scale: 40 is smaller than tensors\.cxr_crop "
        r"\(320, the published default\)$",
    ):
        symile_mimic.build(out=out, mimic_root=demo_input, recipe=path, quiet=True)
    # A keyword that leaves the rule broken is named, with the file's value and line.
    with pytest.raises(
        symile_mimic.Error,
        match=rf"^cxr_crop=: 50 is larger than tensors\.cxr_scale \(40, in {re.escape(str(path))}:6\)$",
    ):
        symile_mimic.build(out=out, mimic_root=demo_input, recipe=path, cxr_crop=50, quiet=True)
    assert not out.exists()
    symile_mimic.build(out=out, mimic_root=demo_input, recipe=path, seed=6, cxr_crop=32, quiet=True)
    r = recorded(out)
    assert r["splits"]["candidate_n"] == 4  # the file
    assert r["splits"]["seed"] == 6  # the keyword over the file
    assert (r["tensors"]["cxr_scale"], r["tensors"]["cxr_crop"]) == (40, 32)  # the file, the keyword
    assert r["cohort"]["cxr_window_hours"] == [24, 72]  # the published default
    assert r["tensors"]["format"] == "safetensors" and len(r["cohort"]["labs"]) == 50


def test_list_keywords_take_lists_and_tuples(demo_input: Path, tmp_path: Path) -> None:
    lists = dict(
        cxr_window_hours=(12, 96.5),
        ecg_window_hours=[-36, 24],
        labs_window_hours=[-12, 36],
        cxr_views=["AP", "PA", "LATERAL"],
        labs=[51221, 50912, 50809],
    )
    a = tmp_path / "lists"
    symile_mimic.cohort(mimic_root=demo_input, save_dir=a, quiet=True, **lists)
    c = recorded(a)["cohort"]
    assert c["cxr_window_hours"] == [12, 96.5] and c["ecg_window_hours"] == [-36, 24]
    assert c["labs_window_hours"] == [-12, 36]
    assert c["cxr_views"] == ["AP", "PA", "LATERAL"] and c["labs"] == [51221, 50912, 50809]
    # The same as the command line's text: the same cohort.
    b = tmp_path / "text"
    text = {k: ",".join(str(v) for v in vs) for k, vs in lists.items()}
    symile_mimic.cohort(mimic_root=demo_input, save_dir=b, quiet=True, **text)
    assert (a / "symile_mimic_data.csv").read_bytes() == (b / "symile_mimic_data.csv").read_bytes()
    assert (a / "recipe.toml").read_bytes() == (b / "recipe.toml").read_bytes()
    # Bad lists, named as keywords; nothing written.
    bad = tmp_path / "bad"
    with pytest.raises(symile_mimic.Error, match=r"^invalid value '1,2,3' for 'cxr_window_hours=': expected LO,HI in hours"):
        symile_mimic.cohort(mimic_root=demo_input, save_dir=bad, cxr_window_hours=[1, 2, 3], quiet=True)
    with pytest.raises(symile_mimic.Error, match=r"^cxr_views=: the list of views is empty"):
        symile_mimic.cohort(mimic_root=demo_input, save_dir=bad, cxr_views=[], quiet=True)
    with pytest.raises(symile_mimic.Error, match=r"^labs=: itemid 51221 is listed twice$"):
        symile_mimic.cohort(mimic_root=demo_input, save_dir=bad, labs=(51221, 51221), quiet=True)
    with pytest.raises(symile_mimic.Error, match=r'^cxr_views=: "AP,PA" holds a comma'):
        symile_mimic.cohort(mimic_root=demo_input, save_dir=bad, cxr_views=["AP,PA"], quiet=True)
    with pytest.raises(TypeError, match=r"^labs=: expected a list of int, found an item of type NoneType$"):
        symile_mimic.cohort(mimic_root=demo_input, save_dir=bad, labs=[51221, None], quiet=True)
    assert not bad.exists()


#: Each bad recipe: as a dict, as a file's text, the key, the line of the file it names, the problem.
BAD = [
    ({"cohort": {"cxr_windows": [1, 2]}}, "[cohort]\ncxr_windows = [1, 2]\n", "cohort.cxr_windows", 2,
     r"unknown key"),
    ({"cohorts": {}}, "[cohorts]\n", "cohorts", 1, r"unknown key \(expected one of cohort, splits, tensors\)"),
    ({"splits": {"train_n": "ten"}}, '[splits]\ntrain_n = "ten"\n', "splits.train_n", 2, r'invalid type: string "ten"'),
    ({"cohort": {"ecg_window_hours": [24, -24]}}, "[cohort]\necg_window_hours = [24, -24]\n",
     "cohort.ecg_window_hours", 2, r"lo \(24 h\) must be less than hi"),
    ({"cohort": {"cxr_views": []}}, "[cohort]\ncxr_views = []\n", "cohort.cxr_views", 2,
     r"the list of views is empty"),
    ({"cohort": {"labs": []}}, "[cohort]\n\nlabs = []\n", "cohort.labs", 3, r"the list of labs is empty"),
    ({"cohort": {"labs": [51221, 51221]}}, "[cohort]\nlabs = [51221, 51221]\n", "cohort.labs", 2,
     r"itemid 51221 is listed twice"),
    ({"splits": {"val_n": -1}}, "[splits]\nval_n = -1\n", "splits.val_n", 2,
     r"invalid value: -1, expected a whole number"),
    ({"tensors": {"cxr_scale": 32, "cxr_crop": 40}}, "[tensors]\ncxr_scale = 32\ncxr_crop = 40\n",
     "tensors.cxr_crop", 3, r"40 is larger than tensors\.cxr_scale \(32, in {where}\)"),
]


def _command(name: str, demo: Path, demo_input: Path, out: Path) -> Dict[str, Any]:
    """The keywords each command needs to get as far as reading its recipe."""
    return {
        "cohort": dict(mimic_root=demo_input, save_dir=out),
        "splits": dict(dataset_path=demo / "symile_mimic_data.csv", save_dir=out),
        "tensors": dict(data_dir=out, mimic_root=demo_input),
        "plan": dict(mimic_root=demo_input, out=out),
        "build": dict(out=out, mimic_root=demo_input),
    }[name]


@pytest.mark.parametrize("command", ["cohort", "splits", "tensors", "plan", "build"])
@pytest.mark.parametrize("form", ["path", "dict"])
@pytest.mark.parametrize("mapping, text, key, line, problem", BAD, ids=[b[2] + ":" + b[4][:12] for b in BAD])
def test_each_bad_recipe_raises_naming_the_key_and_the_file(
    demo: Path, demo_input: Path, tmp_path: Path, command: str, form: str,
    mapping: Dict[str, Any], text: str, key: str, line: int, problem: str,
) -> None:
    out = tmp_path / "out"
    if form == "path":
        recipe: Any = tmp_path / "bad.toml"
        recipe.write_text(text)
        where = re.escape(str(recipe))
        message = rf"^{where}:{line}: {re.escape(key)}: " + problem.format(where=where + ":2")
    else:
        recipe = mapping
        message = rf"^recipe= {re.escape(key)}: " + problem.format(where=r"recipe=")
    run = getattr(symile_mimic, command)
    with pytest.raises(symile_mimic.Error, match=message):
        run(recipe=recipe, quiet=True, **_command(command, demo, demo_input, out))
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
