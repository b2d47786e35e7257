"""The benchmark's zero-shot CXR retrieval evaluation (docs/evaluate.md).

The procedure is the original training code's (``SymileMIMICModel.zeroshot_retrieval``
in rajesh-lab/symile), computed by the native module; arrays cross into it as raw
little-endian bytes, so only this wrapper touches numpy.
"""

from __future__ import annotations

import json
import operator
import os
from typing import Any, Dict, Union

import numpy as np
import numpy.typing as npt

from . import _native
from ._native import Error

PathLike = Union[str, "os.PathLike[str]"]

#: numpy dtype kinds that are numbers: bool, signed and unsigned integers, floats.
_NUMERIC = "biuf"
_U64_MAX = 2**64 - 1


def _count(name: str, value: Any, expected: str) -> int:
    """``value`` as an integer in ``[0, 2**64)``; else :class:`Error` naming the argument
    (instead of the ``TypeError`` or ``OverflowError`` the native call would raise)."""
    try:
        n = operator.index(value)
    except TypeError:
        raise Error(f"{name}={value!r}: expected an integer, {expected}") from None
    if not 0 <= n <= _U64_MAX:
        raise Error(f"{name}={n}: expected {expected}")
    return n


def _numbers(name: str, value: npt.ArrayLike, split: str) -> np.ndarray:
    """``value`` as a numpy array of numbers; else :class:`Error` naming the argument
    (instead of numpy's ``ValueError`` on strings, or a silent parse of them)."""
    try:
        array = np.asarray(value)
    except (TypeError, ValueError) as e:
        raise Error(f"{name}: {e}; expected an array of numbers for split {split}") from None
    if array.dtype.kind not in _NUMERIC:
        raise Error(f"{name} of dtype {array.dtype}: expected numbers (float or int), one per row of split {split}")
    return array


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
    or infinite score, a split without retrieval labels; or naming the argument: scores
    that are not numbers, a ``bootstrap`` or ``seed`` that is not an integer in
    ``[0, 2**64)``.
    """
    bootstrap = _count("bootstrap", bootstrap, "0 (none) or at least 2 resamples")
    seed = _count("seed", seed, "a seed from 0 to 2**64 - 1")
    values = _numbers("scores", scores, split)
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
    mats = [
        np.ascontiguousarray(_numbers(name, m, split), dtype="<f4") for name, m in zip(("r_c", "r_e", "r_l"), (r_c, r_e, r_l))
    ]
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
