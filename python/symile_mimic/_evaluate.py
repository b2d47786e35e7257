"""The benchmark's zero-shot CXR retrieval evaluation (docs/evaluate.md).

The procedure is the original training code's (``SymileMIMICModel.zeroshot_retrieval``
in rajesh-lab/symile), computed by the native module; arrays cross into it as raw
little-endian bytes, so only this wrapper touches numpy.
"""

from __future__ import annotations

import json
import os
from typing import Any, Dict, Union

import numpy as np
import numpy.typing as npt

from . import _native
from ._native import Error

PathLike = Union[str, "os.PathLike[str]"]


def evaluate(root: PathLike, split: str, scores: npt.ArrayLike, *, bootstrap: int = 0, seed: int = 0) -> Dict[str, Any]:
    """Zero-shot retrieval accuracy of ``scores`` on a retrieval split (``"test"`` or
    ``"val_retrieval"``) of the dataset under ``root``.

    ``scores`` holds one number per row of the split's tensors, in row order: row ``i``'s
    CXR scored as the answer to its query (see :func:`scores_from_embeddings`). Every
    ``label == 1`` row is a query; it is correct when its own row scores highest among
    its candidates; ties are broken at random from ``seed``. Returns ``{"accuracy",
    "queries", "candidates"}``; with ``bootstrap=B`` (0 or at least 2) the queries are
    also resampled B times and ``"bootstrap_mean"``, ``"bootstrap_std"`` (ddof 1) and
    ``"ci95"`` (``[2.5th, 97.5th]`` percentile, numpy's default method) are added.

    Raises :class:`Error` naming the split and the row: scores of the wrong length, a NaN
    or infinite score, a split without retrieval labels.
    """
    values = np.asarray(scores)
    if values.ndim != 1:
        raise Error(f"scores of shape {values.shape}: expected a 1-D array, one score per row of split {split}")
    dtype = "float32" if values.dtype == np.float32 else "float64"
    data = np.ascontiguousarray(values, dtype="<f4" if dtype == "float32" else "<f8").tobytes()
    result: Dict[str, Any] = json.loads(_native.evaluate(os.fspath(root), split, data, dtype, bootstrap, seed))
    return result


def scores_from_embeddings(
    root: PathLike,
    split: str,
    r_c: npt.ArrayLike,
    r_e: npt.ArrayLike,
    r_l: npt.ArrayLike,
    kind: str = "symile",
) -> npt.NDArray[np.float64]:
    """One score per row of a retrieval split from per-row embeddings, each ``(rows, d)``
    in the split's row order: the CXR (``r_c``), ECG (``r_e``) and labs (``r_l``)
    embeddings of every row (only the query rows of ``r_e`` and ``r_l`` are used).

    ``kind="symile"``: the multilinear inner product ``sum(r_e[q] * r_l[q] * r_c[i])`` of
    row ``i``'s query ``q``; ``kind="clip"``: ``r_e[q]·r_c[i] + r_l[q]·r_c[i] + r_e[q]·r_l[q]``,
    the original's logits without their positive scale (which changes no ranking).
    Embeddings are taken as float32; scores are float64. Returns an array of shape ``(rows,)``.
    """
    mats = [np.ascontiguousarray(np.asarray(m), dtype="<f4") for m in (r_c, r_e, r_l)]
    for name, m in zip(("r_c", "r_e", "r_l"), mats):
        if m.ndim != 2:
            raise Error(f"{name} of shape {m.shape}: expected a 2-D array (rows, d), one embedding per row")
    d = mats[0].shape[1]
    for name, m in zip(("r_e", "r_l"), mats[1:]):
        if m.shape[1] != d:
            raise Error(f"{name} has embeddings of dimension {m.shape[1]}, r_c of {d}: expected the same d")
    c, e, l = (m.tobytes() for m in mats)
    out = _native.scores_from_embeddings(os.fspath(root), split, c, e, l, d, kind)
    return np.frombuffer(out, dtype="<f8").astype(np.float64)
