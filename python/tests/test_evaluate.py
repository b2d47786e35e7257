"""``symile_mimic.evaluate`` / ``scores_from_embeddings`` on the demo build, against a numpy
re-statement of the original procedure (rajesh-lab/symile, ``SymileMIMICModel.zeroshot_retrieval``
with ``losses.zeroshot_retrieval_logits``); and every ``python`` block of docs/evaluate.md runs."""

from __future__ import annotations

import ast
import re
import shutil
from pathlib import Path
from typing import Dict, List, Tuple

import numpy as np
import pytest
from conftest import link

import symile_mimic

REPO = Path(__file__).resolve().parents[2]
RETRIEVAL = ["val_retrieval", "test"]


def ids(root: Path, split: str) -> Dict[str, np.ndarray]:
    ds = symile_mimic.Dataset(root, split)
    rows = ds[0 : len(ds)]
    return {k: rows[k] for k in ("hadm_id", "label_hadm_id", "label")}


def embeddings(hadm: np.ndarray, kind: str, seed: int, d: int = 16) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-row embeddings with some signal; a negative is a copy of its admission's row,
    so rows of the same ``hadm_id`` get the same embeddings."""
    rng = np.random.default_rng(seed)
    adms = np.unique(hadm)
    e = rng.uniform(-1, 1, (len(adms), d)).astype(np.float32)
    lab = rng.uniform(-1, 1, (len(adms), d)).astype(np.float32)
    signal = e * lab if kind == "symile" else (e + lab) / 2
    c = (0.4 * signal + rng.uniform(-1, 1, (len(adms), d))).astype(np.float32)
    at = np.searchsorted(adms, hadm)
    return c[at], e[at], lab[at]


def original(
    r_c: np.ndarray, r_e: np.ndarray, r_l: np.ndarray, t: Dict[str, np.ndarray], kind: str
) -> Tuple[float, int, List[np.ndarray]]:
    """The original's loop, step by step: each ``label == 1`` row is a query; its candidates'
    CXRs are its own then those with ``label_hadm_id == hadm_id & label == 0``; logits =
    ``logit_scale_exp * zeroshot_retrieval_logits(r_c, [r_e, r_l])``; the arg max (required
    unique here) is correct when it is index 0. Also the logits without their scale."""
    scale = np.exp(np.log(1 / 0.07))
    mask = t["label"] == 1
    q_c, q_e, q_l, q_hadm = r_c[mask], r_e[mask], r_l[mask], t["hadm_id"][mask]
    correct = 0
    all_logits = []
    n_cand = 0
    for ix, true_hadm in enumerate(q_hadm):
        neg = (t["label_hadm_id"] == true_hadm) & (t["label"] == 0)
        cands = np.concatenate([q_c[ix][None, :], r_c[neg]]).astype(np.float64)
        n_cand = len(cands)
        reps = [q_e[ix].astype(np.float64)[None, :], q_l[ix].astype(np.float64)[None, :]]
        if kind == "symile":
            product = np.ones_like(reps[0])
            for r in reps:
                product = product * r
            logits = product @ cands.T
        else:
            with_rx = sum(r @ cands.T for r in reps)
            without_rx = np.diagonal(reps[0] @ reps[1].T)[:, None]
            logits = with_rx + without_rx
        logits = scale * logits
        max_indices = np.nonzero(logits == logits.max())[1]
        assert len(max_indices) == 1, "the test embeddings should be tie-free"
        correct += int(max_indices[0] == 0)
        all_logits.append(logits[0] / scale)
    return correct / len(q_hadm), n_cand, all_logits


@pytest.mark.parametrize("split", RETRIEVAL)
@pytest.mark.parametrize("kind", ["symile", "clip"])
def test_matches_the_original_procedure(demo: Path, split: str, kind: str) -> None:
    t = ids(demo, split)
    for seed in range(3):
        r_c, r_e, r_l = embeddings(t["hadm_id"], kind, seed)
        scores = symile_mimic.scores_from_embeddings(demo, split, r_c, r_e, r_l, kind=kind)
        assert scores.dtype == np.float64 and scores.shape == (len(t["label"]),)
        expected, n_cand, logits = original(r_c, r_e, r_l, t, kind)
        queries = np.nonzero(t["label"] == 1)[0]
        for q, row in enumerate(queries):
            group = np.nonzero(t["label_hadm_id"] == t["hadm_id"][row])[0]
            rows = np.concatenate([[row], group[group != row]])
            np.testing.assert_allclose(scores[rows], logits[q], rtol=1e-9, atol=1e-12)
        result = symile_mimic.evaluate(demo, split, scores)
        assert result == {"accuracy": expected, "queries": len(queries), "candidates": n_cand}
        assert symile_mimic.evaluate(demo, split, scores.astype(np.float32))["queries"] == len(queries)
        assert n_cand == len(t["label"]) // len(queries)


def test_bootstrap_is_reproducible_from_its_seed(demo: Path) -> None:
    t = ids(demo, "test")
    r_c, r_e, r_l = embeddings(t["hadm_id"], "symile", 7)
    scores = symile_mimic.scores_from_embeddings(demo, "test", r_c, r_e, r_l)
    a = symile_mimic.evaluate(demo, "test", scores, bootstrap=300, seed=1)
    assert list(a) == ["accuracy", "queries", "candidates", "bootstrap_mean", "bootstrap_std", "ci95"]
    assert a == symile_mimic.evaluate(demo, "test", scores, bootstrap=300, seed=1)
    b = symile_mimic.evaluate(demo, "test", scores, bootstrap=300, seed=2)
    assert b["accuracy"] == a["accuracy"]  # tie-free: no draw in the accuracy
    assert (b["bootstrap_mean"], b["bootstrap_std"]) != (a["bootstrap_mean"], a["bootstrap_std"])
    lo, hi = a["ci95"]
    assert 0 <= lo <= a["bootstrap_mean"] <= hi <= 1
    assert a["bootstrap_std"] > 0


def test_ties_are_broken_from_the_seed(demo: Path) -> None:
    rows = len(ids(demo, "test")["label"])
    tied = np.zeros(rows)
    runs = [symile_mimic.evaluate(demo, "test", tied, seed=s)["accuracy"] for s in range(40)]
    assert runs[:5] == [symile_mimic.evaluate(demo, "test", tied, seed=s)["accuracy"] for s in range(5)]
    assert len(set(runs)) > 1


def test_bad_inputs_raise_naming_what_was_expected(demo: Path) -> None:
    rows = len(ids(demo, "test")["label"])
    with pytest.raises(symile_mimic.Error, match=rf"^test: {rows - 1} scores, expected {rows} \("):
        symile_mimic.evaluate(demo, "test", np.zeros(rows - 1))
    bad = np.zeros(rows)
    bad[3] = np.nan
    with pytest.raises(symile_mimic.Error, match=r"^test: the score of row 3 is NaN"):
        symile_mimic.evaluate(demo, "test", bad)
    bad[3] = np.inf
    with pytest.raises(symile_mimic.Error, match=r"row 3 is inf"):
        symile_mimic.evaluate(demo, "test", bad)
    for split in ["train", "val"]:
        no_labels = rf"split {split} has no retrieval labels: only val_retrieval and test do"
        with pytest.raises(symile_mimic.Error, match=no_labels):
            symile_mimic.evaluate(demo, split, np.zeros(rows))
    with pytest.raises(symile_mimic.Error, match="unknown split"):
        symile_mimic.evaluate(demo, "valid", np.zeros(rows))
    with pytest.raises(symile_mimic.Error, match="expected a 1-D array"):
        symile_mimic.evaluate(demo, "test", np.zeros((rows, 1)))
    with pytest.raises(symile_mimic.Error, match="expected 0 \\(none\\) or at least 2"):
        symile_mimic.evaluate(demo, "test", np.zeros(rows), bootstrap=1)
    with pytest.raises(symile_mimic.Error, match="not found"):
        symile_mimic.evaluate(demo / "nowhere", "test", np.zeros(rows))

    e = np.ones((rows, 4), dtype=np.float32)
    with pytest.raises(symile_mimic.Error, match=rf"^test: r_l has {4 * (rows - 1)} values, expected {4 * rows}"):
        symile_mimic.scores_from_embeddings(demo, "test", e, e, e[1:])
    with pytest.raises(symile_mimic.Error, match="r_e has embeddings of dimension 3, r_c of 4"):
        symile_mimic.scores_from_embeddings(demo, "test", e, e[:, :3], e)
    with pytest.raises(symile_mimic.Error, match='unknown score kind "mip"'):
        symile_mimic.scores_from_embeddings(demo, "test", e, e, e, kind="mip")


def hand_made(root: Path, hadm: List[int], label_hadm: List[int], label: List[int]) -> Path:
    """A dataset directory holding only a test split's three id tensors (``numpy.save``
    of int64), where :func:`symile_mimic.evaluate` looks for them."""
    split = root / "test"
    split.mkdir(parents=True)
    for stem, values in [("hadm_id", hadm), ("label_hadm_id", label_hadm), ("label", label)]:
        np.save(split / f"{stem}_test.npy", np.array(values, dtype=np.int64))
    return root


def test_a_group_without_exactly_one_query_raises(tmp_path: Path) -> None:
    # Rows 0 and 1 are both queries of admission 7.
    two = hand_made(tmp_path / "two", [7, 7, 8, 8], [7, 7, 8, 8], [1, 1, 1, 0])
    msg = r"^test: rows 0 and 1 are both queries \(label 1\) of hadm_id 7; expected one query per label_hadm_id$"
    with pytest.raises(symile_mimic.Error, match=msg):
        symile_mimic.evaluate(two, "test", np.zeros(4))
    # Row 2 is a negative for admission 5, which has no query.
    orphan = hand_made(tmp_path / "orphan", [7, 8, 8], [7, 8, 5], [1, 1, 0])
    msg = r"^test: row 2 is a negative \(label 0\) for label_hadm_id 5, which no query \(label 1\) has$"
    with pytest.raises(symile_mimic.Error, match=msg):
        symile_mimic.evaluate(orphan, "test", np.zeros(3))
    # The same directory with the negative's query present scores.
    fine = hand_made(tmp_path / "fine", [7, 8, 8, 7], [7, 8, 7, 8], [1, 1, 0, 0])
    assert symile_mimic.evaluate(fine, "test", [1.0, 1.0, 0.0, 0.0]) == {"accuracy": 1.0, "queries": 2, "candidates": 2}


def test_bad_arguments_raise_naming_the_argument(tmp_path: Path) -> None:
    root = hand_made(tmp_path / "d", [7, 8, 8, 7], [7, 8, 7, 8], [1, 1, 0, 0])
    scores = np.array([1.0, 1.0, 0.0, 0.0])
    with pytest.raises(symile_mimic.Error, match=r"^bootstrap=-1: expected 0 \(none\) or at least 2 resamples$"):
        symile_mimic.evaluate(root, "test", scores, bootstrap=-1)
    with pytest.raises(symile_mimic.Error, match=r"^bootstrap=2\.5: expected an integer, 0 \(none\)"):
        symile_mimic.evaluate(root, "test", scores, bootstrap=2.5)  # type: ignore[arg-type]
    with pytest.raises(symile_mimic.Error, match=r"^seed=-1: expected a seed from 0 to 2\*\*64 - 1$"):
        symile_mimic.evaluate(root, "test", scores, seed=-1)
    with pytest.raises(symile_mimic.Error, match=rf"^seed={2**64}: expected a seed from 0 to 2\*\*64 - 1$"):
        symile_mimic.evaluate(root, "test", scores, seed=2**64)
    with pytest.raises(symile_mimic.Error, match=r"^scores of dtype <U3: expected numbers \(float or int\), one per row of split test$"):
        symile_mimic.evaluate(root, "test", ["1.0", "0.5", "0", "0"])
    with pytest.raises(symile_mimic.Error, match=r"^scores of dtype object: expected numbers"):
        symile_mimic.evaluate(root, "test", [1.0, None, 0.0, 0.0])
    e = np.ones((4, 2), dtype=np.float32)
    with pytest.raises(symile_mimic.Error, match=r"^r_e of dtype <U1: expected numbers"):
        symile_mimic.scores_from_embeddings(root, "test", e, [["a", "b"]] * 4, e)
    # The edges of the range are accepted; numpy integers are integers.
    assert symile_mimic.evaluate(root, "test", scores, seed=2**64 - 1)["accuracy"] == 1.0
    assert symile_mimic.evaluate(root, "test", scores, bootstrap=np.int64(2), seed=np.uint8(3))["queries"] == 2
    assert symile_mimic.evaluate(root, "test", [1, 1, 0, 0])["accuracy"] == 1.0


def doc_blocks() -> List[Tuple[str, str]]:
    text = (REPO / "docs" / "evaluate.md").read_text()
    return [
        (f"docs/evaluate.md:{text[: m.start()].count(chr(10)) + 1}", m.group(1))
        for m in re.finditer(r"^```python\n(.*?)^```", text, re.S | re.M)
    ]


@pytest.fixture(scope="module")
def docs_workdir(demo: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """As python/tests/test_docs.py: a directory whose ``out/`` is the demo build."""
    work = tmp_path_factory.mktemp("evaluate-docs")
    shutil.copytree(demo, work / "out", copy_function=link)
    return work


def test_the_page_has_python_blocks() -> None:
    assert len(doc_blocks()) >= 2


@pytest.mark.parametrize("where,code", doc_blocks(), ids=[b[0] for b in doc_blocks()])
def test_doc_block_runs(where: str, code: str, docs_workdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for node in ast.walk(ast.parse(code)):
        if isinstance(node, ast.Import):
            for a in node.names:
                pytest.importorskip(a.name.split(".")[0], reason=f"{where} needs {a.name}")
    monkeypatch.chdir(docs_workdir)
    exec(compile(code, where, "exec"), {"__name__": "__docs__"})
    assert (docs_workdir / "scores.npy").exists() or "np.save" not in code
