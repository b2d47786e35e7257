"""Build the Symile-MIMIC dataset from MIMIC and train from its tensor files in place.

The commands of the ``symile-mimic`` command line run in-process::

    import symile_mimic
    summary = symile_mimic.build(out="symile-mimic-data")   # no input flags: the embedded demo
    ds = symile_mimic.Dataset("symile-mimic-data", "train")
    sample = ds[0]   # {"cxr": ..., "ecg": ..., "labs_percentiles": ..., "labs_missingness": ..., "hadm_id": ...}

Keyword arguments are the command's flags (``mimiciv_hosp_dir=``, ``save_dir=``,
``train_n=``, ``use_seed=False``, ...), parsed by the command's own definition, so
they mean exactly what they mean on the command line. Every command returns its
outcome as a dict; bad input raises :class:`Error` with the command line's message.
"""

from __future__ import annotations

import json
import os
from typing import Any, Callable, Dict, Optional, Union

from . import _native
from ._dataset import Dataset
from ._evaluate import evaluate, scores_from_embeddings
from ._native import Error, __version__
from ._progress import ProgressCallback, default_progress

__all__ = [
    "Dataset",
    "Error",
    "ProgressCallback",
    "__version__",
    "build",
    "cohort",
    "commands",
    "evaluate",
    "inspect",
    "layout",
    "recipe_of",
    "run",
    "scores_from_embeddings",
    "splits",
    "tensor_header",
    "tensors",
    "verify",
]

PathLike = Union[str, "os.PathLike[str]"]


def run(command: str, /, *, progress: Optional[ProgressCallback] = None, **flags: Any) -> Dict[str, Any]:
    """Runs ``symile-mimic <command>`` in this process and returns its outcome.

    ``flags`` are the command's flags as keywords: a switch (``force=True``) is given
    when truthy, a valued flag (``train_n=10``, ``use_seed=False``, ``save_dir=path``)
    as ``--flag=value`` with booleans as ``true``/``false`` and paths through
    ``os.fspath``; ``None`` leaves a flag at its default. ``threads=`` and
    ``quiet=`` apply to every command. An unknown keyword raises ``TypeError``
    naming the valid ones.

    The work runs without the GIL. ``progress(step, done, total)`` is called from
    this thread a few times a second at most; without it, tqdm bars are drawn when
    tqdm is installed, and nothing with ``quiet=True``. Ctrl-C stops the work within
    about a second (nothing half-written is left) and raises ``KeyboardInterrupt``.

    Raises :class:`Error` (a ``ValueError``) with the command line's one-line message
    when the input is bad or the run fails.
    """
    bars = None
    if progress is None and not flags.get("quiet"):
        progress = bars = default_progress()
    try:
        outcome = _native.run(command, flags, progress)
    finally:
        if bars is not None:
            bars.close()
    result: Dict[str, Any] = json.loads(outcome)
    return result


def cohort(*, progress: Optional[ProgressCallback] = None, **flags: Any) -> Dict[str, Any]:
    """Stage 1, ``symile-mimic cohort``: ``mimiciv_hosp_dir=``, ``cxr_data_dir=``,
    ``ecg_data_dir=``, ``save_dir=``. Returns the attrition report. See :func:`run`."""
    return run("cohort", progress=progress, **flags)


def splits(*, progress: Optional[ProgressCallback] = None, **flags: Any) -> Dict[str, Any]:
    """Stage 2, ``symile-mimic splits``: ``dataset_path=``, ``save_dir=``, ``train_n=``,
    ``val_n=``, ``candidate_n=``, ``seed=``, ``use_seed=``. See :func:`run`."""
    return run("splits", progress=progress, **flags)


def tensors(*, progress: Optional[ProgressCallback] = None, **flags: Any) -> Dict[str, Any]:
    """Stage 3, ``symile-mimic tensors``: ``data_dir=``, ``ecg_data_dir=``,
    ``cxr_data_dir=``, ``cxr_scale=``, ``cxr_crop=``, ``format=``. See :func:`run`."""
    return run("tensors", progress=progress, **flags)


def build(*, progress: Optional[ProgressCallback] = None, **flags: Any) -> Dict[str, Any]:
    """All three stages, ``symile-mimic build``: ``mimic_root=`` (or the three
    directories), ``out=``, ``format=``, ... With no input the embedded demo is built.
    Returns the stages run and skipped and their reports. See :func:`run`."""
    return run("build", progress=progress, **flags)


def verify(dir: PathLike, *, progress: Optional[ProgressCallback] = None, **flags: Any) -> Dict[str, Any]:
    """``symile-mimic verify DIR``: checks a dataset directory. Returns
    ``{"passed": [...], "failed": [...]}``; a failed check does not raise. See :func:`run`."""
    return run("verify", progress=progress, dir=dir, **flags)


def inspect(*, progress: Optional[ProgressCallback] = None, **flags: Any) -> Dict[str, Any]:
    """``symile-mimic inspect``: renders one sample as a PNG. See :func:`run`."""
    return run("inspect", progress=progress, **flags)


def commands() -> Dict[str, Any]:
    """Every command with its flags as the command line declares them:
    ``{command: {"about", "hidden", "flags": [{"keyword", "flag", "switch",
    "required", "default", "help", "hidden"}]}}``."""
    result: Dict[str, Any] = json.loads(_native.commands())
    return result


def layout(cxr_crop: Optional[int] = None, labs: Optional[int] = None) -> Dict[str, Any]:
    """The dataset layout, as the writer declares it: ``{"splits": [{"name", "csv",
    "metadata_key", "has_labels", "tensors": [{"name", "stem", "dtype",
    "row_shape"}]}], "formats", "tensor_roots", "files"}``. Row dimensions that
    depend on the recipe (``cxr_crop``, the number of ``labs``) are ``None``
    unless given."""
    result: Dict[str, Any] = json.loads(_native.layout(cxr_crop, labs))
    return result


def recipe_of(root: PathLike) -> Optional[Dict[str, Any]]:
    """The recipe the dataset under ``root`` records (its ``recipe.toml``) as a dict —
    ``{"cohort": {...}, "splits": {...}, "tensors": {...}}``, windows in hours — or
    ``None`` for a directory that records none (the published release). Pass it back as
    ``recipe=`` to build the same dataset again."""
    text = _native.recorded_recipe(os.fspath(root))
    if text is None:
        return None
    result: Dict[str, Any] = json.loads(text)
    return result


def tensor_header(path: PathLike) -> Dict[str, Any]:
    """A tensor file's header (safetensors, .npy or torch .pt): ``{"name", "dtype",
    "shape", "rows", "row_bytes", "data_offset"}``, checked against the file's size.
    Row ``i`` is the ``row_bytes`` bytes at ``data_offset + i * row_bytes``."""
    result: Dict[str, Any] = _native.tensor_header(os.fspath(path))
    return result


def __getattr__(name: str) -> Callable[..., Dict[str, Any]]:
    """Any other command of the command line, as ``symile_mimic.<command>(**flags)``."""
    if not name.startswith("_") and name in json.loads(_native.commands()):

        def command(*, progress: Optional[ProgressCallback] = None, **flags: Any) -> Dict[str, Any]:
            return run(name, progress=progress, **flags)

        command.__name__ = command.__qualname__ = name
        command.__doc__ = f"``symile-mimic {name.replace('_', '-')}``. See :func:`run`."
        return command
    raise AttributeError(f"module 'symile_mimic' has no attribute {name!r}")
