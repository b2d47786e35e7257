"""A split's tensors read in place, row by row, without loading any file."""

from __future__ import annotations

import json
import operator
import os
from typing import Any, Dict, Iterator, List, NamedTuple, Optional, Sequence, Tuple, Union

import numpy as np

from . import _native
from ._native import Error


class _Tensor(NamedTuple):
    name: str
    path: str
    dtype: np.dtype
    row_shape: Tuple[int, ...]
    rows: int
    row_bytes: int
    offset: int


def _split_layout(split: str, labs: int) -> Dict[str, Any]:
    for s in json.loads(_native.layout(None, labs))["splits"]:
        if s["name"] == split:
            found: Dict[str, Any] = s
            return found
    # Unreachable for a split tensor_files accepted; kept for a clear message.
    raise Error(f"unknown split {split!r}")


def _pread_into(fd: int, view: memoryview, offset: int, path: str) -> None:
    """Fills ``view`` from ``offset``: positioned reads, so nothing of the file is mapped
    into this process and the page cache does not count toward its memory."""
    end = offset + len(view)
    while len(view):
        if hasattr(os, "preadv"):
            n = os.preadv(fd, [view], offset)
        else:  # pragma: no cover - platforms without preadv
            data = os.pread(fd, len(view), offset)
            n = len(data)
            view[:n] = data
        if n == 0:
            raise Error(f"{path}: the file ends at byte {offset}, before byte {end} its header promises (truncated?)")
        view = view[n:]
        offset += n


Index = Union[int, slice, Sequence[int], np.ndarray]


class Dataset:
    """The tensors of one split of a dataset directory, read in place.

    ``root`` is a directory written by ``symile-mimic`` (tensors in ``<split>/``, as
    ``.safetensors``, ``.npy`` or ``.pt``) or the published release (``data_npy/<split>/``);
    the format is detected, or chosen with ``format=``. Opening reads only the headers
    and checks each tensor's dtype and row shape against the dataset layout and that
    every tensor has the same number of rows; a bad file raises :class:`Error` naming it.

    ``ds[i]`` returns a dict with the keys of the original training code's retrieval
    dataset: ``cxr, ecg, labs_percentiles, labs_missingness, hadm_id`` (plus
    ``label_hadm_id, label`` on ``val_retrieval`` and ``test``), as fresh writable numpy
    arrays, which torch's default collate turns into tensors. ``ds[a:b]``, ``ds[[i, j]]``
    and ``ds[index_array]`` return the same keys with a leading batch dimension, reading
    each run of consecutive rows with one call.

    Rows are read with positioned reads (``os.preadv``) into new arrays: no file is
    loaded or memory-mapped, so iterating a multi-GB split keeps the process's memory
    flat. A ``Dataset`` pickles without its open files and reopens them in each process
    (``torch.utils.data.DataLoader`` workers, ``multiprocessing``).
    """

    def __init__(self, root: Union[str, "os.PathLike[str]"], split: str, *, format: Optional[str] = None) -> None:
        self._root = os.fspath(root)
        self._split = split
        files: List[Tuple[str, str]] = _native.tensor_files(self._root, split, format)
        # Row shapes follow the recipe the dataset records (its number of labs).
        expected = {t["name"]: t for t in _split_layout(split, _native.lab_count(self._root))["tensors"]}
        tensors: List[_Tensor] = []
        for name, path in files:
            header = _native.tensor_header(path)
            want = expected[name]
            dtype = np.dtype(want["dtype"]).newbyteorder("<")
            if np.dtype(header["dtype"]) != np.dtype(want["dtype"]):
                raise Error(f"{path}: dtype {header['dtype']}, expected {want['dtype']} for {name}")
            row_shape = tuple(int(d) for d in header["shape"][1:])
            want_shape = want["row_shape"]
            if len(row_shape) != len(want_shape) or any(w is not None and w != d for w, d in zip(want_shape, row_shape)):
                shown = tuple("*" if w is None else w for w in want_shape)
                raise Error(f"{path}: rows of shape {row_shape}, expected {shown} for {name}".replace("'*'", "*"))
            tensors.append(
                _Tensor(name, path, dtype, row_shape, header["rows"], header["row_bytes"], header["data_offset"])
            )
        first = tensors[0]
        for t in tensors[1:]:
            if t.rows != first.rows:
                raise Error(
                    f"{t.path}: {t.rows} rows, but {first.path} has {first.rows}: "
                    "the tensors of a split hold one row per sample"
                )
        self._tensors = tensors
        self._len = first.rows
        self._fds: Optional[List[int]] = None
        self._pid: Optional[int] = None

    # -- description ---------------------------------------------------------

    @property
    def root(self) -> str:
        """The dataset directory."""
        return self._root

    @property
    def split(self) -> str:
        """``train``, ``val``, ``val_retrieval`` or ``test``."""
        return self._split

    @property
    def files(self) -> Dict[str, str]:
        """Each tensor's file."""
        return {t.name: t.path for t in self._tensors}

    @property
    def shapes(self) -> Dict[str, Tuple[int, ...]]:
        """Each tensor's full shape (rows first)."""
        return {t.name: (t.rows, *t.row_shape) for t in self._tensors}

    @property
    def dtypes(self) -> Dict[str, np.dtype]:
        """Each tensor's element type."""
        return {t.name: t.dtype for t in self._tensors}

    def __len__(self) -> int:
        return self._len

    def __repr__(self) -> str:
        return f"Dataset({self._root!r}, {self._split!r}): {self._len} rows of {', '.join(self.files)}"

    # -- files ---------------------------------------------------------------

    def _open(self) -> List[int]:
        """The open files of this process (a forked or unpickled copy opens its own)."""
        pid = os.getpid()
        if self._fds is not None and self._pid == pid:
            return self._fds
        inherited, self._fds = self._fds, None
        if inherited is not None:
            for fd in inherited:
                os.close(fd)
        fds: List[int] = []
        try:
            for t in self._tensors:
                try:
                    fd = os.open(t.path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
                except OSError as e:
                    raise Error(f"{t.path}: cannot open: {e.strerror}") from e
                fds.append(fd)
                size = os.fstat(fd).st_size
                end = t.offset + t.rows * t.row_bytes
                if size < end:
                    raise Error(f"{t.path}: {size} bytes, but its header describes {end} (truncated?)")
        except BaseException:
            for fd in fds:
                os.close(fd)
            raise
        self._fds, self._pid = fds, pid
        return fds

    def close(self) -> None:
        """Closes the files; the next read reopens them."""
        fds, self._fds = self._fds, None
        if fds is not None and self._pid == os.getpid():
            for fd in fds:
                os.close(fd)

    def __enter__(self) -> "Dataset":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:
            pass

    def __getstate__(self) -> Dict[str, Any]:
        state = self.__dict__.copy()
        state["_fds"] = None
        state["_pid"] = None
        return state

    def __setstate__(self, state: Dict[str, Any]) -> None:
        self.__dict__.update(state)

    # -- reading -------------------------------------------------------------

    def _read(self, t: _Tensor, fd: int, rows: np.ndarray) -> np.ndarray:
        """Rows ``rows`` of ``t`` as a new ``(len(rows), *row_shape)`` array, one
        read per run of consecutive rows."""
        out = np.empty((len(rows), *t.row_shape), dtype=t.dtype)
        if out.nbytes == 0:
            return out
        buf = out.reshape(-1).view(np.uint8).data
        rb = t.row_bytes
        starts = np.flatnonzero(np.diff(rows) != 1) + 1 if len(rows) > 1 else np.empty(0, dtype=np.intp)
        bounds = [0, *starts.tolist(), len(rows)]
        for s, e in zip(bounds[:-1], bounds[1:]):
            _pread_into(fd, buf[s * rb : e * rb], t.offset + int(rows[s]) * rb, t.path)
        return out

    def _rows(self, key: Index) -> np.ndarray:
        n = self._len
        if isinstance(key, slice):
            return np.arange(*key.indices(n), dtype=np.int64)
        rows = np.asarray(key)
        if rows.dtype == np.bool_:
            if rows.shape != (n,):
                raise IndexError(f"a boolean index must have shape ({n},), found {rows.shape}")
            return np.flatnonzero(rows).astype(np.int64)
        if rows.size == 0:
            rows = rows.astype(np.int64)
        if not np.issubdtype(rows.dtype, np.integer) or rows.ndim != 1:
            raise IndexError(f"index with an int, a slice or a 1-D array of ints, not {rows.dtype} of shape {rows.shape}")
        rows = rows.astype(np.int64)
        rows = np.where(rows < 0, rows + n, rows)
        bad = (rows < 0) | (rows >= n)
        if bad.any():
            raise IndexError(f"index {int(np.asarray(key)[bad][0])} is out of range for {n} rows")
        return rows

    def __getitem__(self, key: Index) -> Dict[str, np.ndarray]:
        fds = self._open()
        if isinstance(key, (int, np.integer)) and not isinstance(key, (bool, np.bool_)):
            i = operator.index(key)
            if i < 0:
                i += self._len
            if not 0 <= i < self._len:
                raise IndexError(f"index {operator.index(key)} is out of range for {self._len} rows")
            rows = np.array([i], dtype=np.int64)
            return {t.name: self._read(t, fd, rows).reshape(t.row_shape) for t, fd in zip(self._tensors, fds)}
        rows = self._rows(key)
        return {t.name: self._read(t, fd, rows) for t, fd in zip(self._tensors, fds)}

    def __getitems__(self, indices: Sequence[int]) -> List[Dict[str, np.ndarray]]:
        """A batch for ``torch.utils.data.DataLoader`` (which calls this when it is
        defined): one batched read, then one sample per index."""
        batch = self[np.asarray(indices, dtype=np.int64)]
        return [{k: v[j, ...] for k, v in batch.items()} for j in range(len(indices))]

    def __iter__(self) -> Iterator[Dict[str, np.ndarray]]:
        for i in range(self._len):
            yield self[i]
