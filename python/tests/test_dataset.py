"""``symile_mimic.Dataset``: the tensors read in place equal the tensors read whole."""

from __future__ import annotations

import multiprocessing
import pickle
import shutil
from pathlib import Path
from typing import Dict

import numpy as np
import pytest
from conftest import FORMATS, SPLITS
from safetensors.numpy import load_file

import symile_mimic
from symile_mimic import Dataset

KEYS = ["cxr", "ecg", "labs_percentiles", "labs_missingness", "hadm_id"]
LABELLED = KEYS + ["label_hadm_id", "label"]


def whole(root: Path, split: str, fmt: str) -> Dict[str, np.ndarray]:
    """The split's tensors read whole by numpy / safetensors (``.pt``: the same
    build's safetensors values, which the test compares against separately)."""
    names = LABELLED if split in ("val_retrieval", "test") else KEYS
    if fmt == "npy":
        return {n: np.load(root / split / f"{n}_{split}.npy") for n in names}
    return {n: load_file(str(root / split / f"{n}_{split}.safetensors"))[f"{n}_{split}"] for n in names}


def assert_same(a: np.ndarray, b: np.ndarray) -> None:
    assert a.dtype == b.dtype and a.shape == b.shape
    assert a.tobytes() == b.tobytes()  # bitwise: NaN rows (flat ECGs) included


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("split", SPLITS)
def test_every_row_equals_the_tensor_read_whole(formats: Dict[str, Path], fmt: str, split: str) -> None:
    ds = Dataset(formats[fmt], split)
    expected = whole(formats["safetensors" if fmt == "pt" else fmt], split, fmt)
    assert list(ds[0]) == list(expected) == (LABELLED if split in ("val_retrieval", "test") else KEYS)
    assert len(ds) == len(expected["hadm_id"]) > 0
    assert all(Path(p).suffix == f".{fmt}" for p in ds.files.values())
    for i in range(len(ds)):
        row = ds[i]
        for k, v in row.items():
            assert isinstance(v, np.ndarray) and v.flags.writeable
            assert_same(v, expected[k][i])
    for k, v in ds[:].items():
        assert_same(v, expected[k])


def test_pt_values_equal_the_safetensors_build(formats: Dict[str, Path]) -> None:
    for split in SPLITS:
        a, b = Dataset(formats["pt"], split)[:], Dataset(formats["safetensors"], split)[:]
        for k in a:
            assert_same(a[k], b[k])


@pytest.mark.parametrize("split", SPLITS)
def test_the_release_layout(release: Path, formats: Dict[str, Path], split: str) -> None:
    ds = Dataset(release, split)
    assert all("data_npy" in p for p in ds.files.values())
    expected = whole(formats["npy"], split, "npy")
    for k, v in ds[:].items():
        assert_same(v, expected[k])


def test_format_can_be_chosen(tmp_path: Path, formats: Dict[str, Path]) -> None:
    mixed = tmp_path / "mixed"
    shutil.copytree(formats["npy"] / "val", mixed / "val")
    for f in (formats["pt"] / "val").iterdir():
        shutil.copy(f, mixed / "val" / f.name)
    assert all(p.endswith(".npy") for p in Dataset(mixed, "val").files.values())
    assert all(p.endswith(".pt") for p in Dataset(mixed, "val", format="pt").files.values())
    with pytest.raises(symile_mimic.Error, match="cxr_val not found"):
        Dataset(mixed, "val", format="safetensors")


def test_slices_and_index_arrays(demo: Path) -> None:
    ds = Dataset(demo, "test")
    full = whole(demo, "test", "safetensors")
    n = len(ds)
    cases = [
        slice(2, 9), slice(None, None, 3), slice(-5, None), slice(9, 2, -2), slice(0, 0),
        [4, 5, 6, 1, 2, 2, 0], np.array([n - 1, 0, -1]), np.arange(n)[::-1], np.array([], dtype=np.int64),
        np.arange(n) % 3 == 0, (3, 4),
    ]
    for key in cases:
        got = ds[key]
        rows = np.arange(n)[key if not isinstance(key, tuple) else list(key)]
        for k, v in got.items():
            assert_same(v, full[k][rows])
            assert v.flags.writeable
    assert ds[-1]["hadm_id"] == full["hadm_id"][-1]
    assert ds[np.int64(3)]["label"].shape == ()
    for bad in [n, -n - 1]:
        with pytest.raises(IndexError):
            ds[bad]
    with pytest.raises(IndexError):
        ds[[0, n]]
    with pytest.raises(IndexError):
        ds[np.array([0.5])]
    assert [s["hadm_id"] for s in ds] == list(full["hadm_id"])
    batch = ds.__getitems__([3, 4, 7])
    assert [int(s["hadm_id"]) for s in batch] == list(full["hadm_id"][[3, 4, 7]])


def test_reads_are_fresh_arrays(demo: Path) -> None:
    ds = Dataset(demo, "train")
    a = ds[0]["cxr"]
    a[:] = 0
    assert not np.all(ds[0]["cxr"] == 0)


def test_shapes_and_dtypes_come_from_the_files(demo: Path) -> None:
    ds = Dataset(demo, "val_retrieval")
    assert ds.shapes["cxr"] == (len(ds), 3, 32, 32)
    assert ds.shapes["ecg"] == (len(ds), 1, 5000, 12)
    assert ds.dtypes["labs_missingness"] == np.dtype("<i8")
    assert "val_retrieval" in repr(ds)


def _sum_hadm(ds: Dataset) -> int:
    return int(sum(int(ds[i]["hadm_id"]) for i in range(len(ds))))


def _rows(args: tuple) -> list:
    ds, rows = args
    return [ds[i]["labs_percentiles"].tolist() for i in rows]


def test_pickle_and_worker_processes(demo: Path) -> None:
    ds = Dataset(demo, "train")
    ds[0]  # files open in this process
    copy = pickle.loads(pickle.dumps(ds))
    assert _sum_hadm(copy) == _sum_hadm(ds)
    expected = ds[:]["labs_percentiles"].tolist()
    chunks = [list(range(i, len(ds), 4)) for i in range(4)]
    for method in ["fork", "spawn"]:
        with multiprocessing.get_context(method).Pool(2) as pool:
            got = pool.map(_rows, [(ds, c) for c in chunks])
        for c, rows in zip(chunks, got):
            assert rows == [expected[i] for i in c]


def test_dataloader_with_workers(demo: Path) -> None:
    torch = pytest.importorskip("torch", reason="torch is not installed: the DataLoader test needs it")
    from torch.utils.data import DataLoader

    ds = Dataset(demo, "val_retrieval")
    full = whole(demo, "val_retrieval", "safetensors")
    seen = []
    for batch in DataLoader(ds, batch_size=4, shuffle=False, num_workers=2):
        assert set(batch) == set(LABELLED)
        assert isinstance(batch["cxr"], torch.Tensor) and batch["cxr"].dtype == torch.float32
        assert batch["hadm_id"].dtype == torch.int64 and batch["hadm_id"].ndim == 1
        seen.append(batch)
    cat = {k: torch.cat([b[k] for b in seen]).numpy() for k in LABELLED}
    for k in LABELLED:
        assert_same(cat[k], full[k])


# -- bad files ----------------------------------------------------------------


def _copy(src: Path, dst: Path, split: str = "val") -> Path:
    shutil.copytree(src / split, dst / split)
    return dst


def test_missing_file(demo: Path, tmp_path: Path) -> None:
    root = _copy(demo, tmp_path)
    (root / "val" / "ecg_val.safetensors").unlink()
    with pytest.raises(symile_mimic.Error, match=r"tensor ecg_val not found; tried .*val/ecg_val"):
        Dataset(root, "val")
    with pytest.raises(symile_mimic.Error, match="unknown split"):
        Dataset(root, "validation")


def test_truncated_file(formats: Dict[str, Path], tmp_path: Path) -> None:
    for fmt in FORMATS:
        root = _copy(formats[fmt], tmp_path / fmt)
        f = root / "val" / f"cxr_val.{fmt}"
        data = f.read_bytes()
        f.write_bytes(data[: len(data) // 2])
        with pytest.raises(symile_mimic.Error, match=str(f)):
            Dataset(root, "val")


def test_file_truncated_after_opening(demo: Path, tmp_path: Path) -> None:
    root = _copy(demo, tmp_path)
    ds = Dataset(root, "val")
    f = root / "val" / "ecg_val.safetensors"
    with open(f, "r+b") as fh:
        fh.truncate(f.stat().st_size - 100)
    with pytest.raises(symile_mimic.Error, match=f"{f}.*truncated"):
        ds[len(ds) - 1]


def test_wrong_dtype_shape_and_rows(formats: Dict[str, Path], tmp_path: Path) -> None:
    root = _copy(formats["npy"], tmp_path)
    val = root / "val"
    good = np.load(val / "labs_percentiles_val.npy")
    np.save(val / "labs_percentiles_val.npy", good.astype(np.int64))
    with pytest.raises(symile_mimic.Error, match=f"{val / 'labs_percentiles_val.npy'}: dtype int64, expected float32"):
        Dataset(root, "val")
    np.save(val / "labs_percentiles_val.npy", good[:, :49])
    with pytest.raises(symile_mimic.Error, match=r"labs_percentiles_val.npy: rows of shape \(49,\), expected \(50,\)"):
        Dataset(root, "val")
    np.save(val / "labs_percentiles_val.npy", good[:-1])
    with pytest.raises(symile_mimic.Error, match=r"labs_percentiles_val.npy: \d+ rows, but .*cxr_val.npy has \d+"):
        Dataset(root, "val")
    (val / "labs_percentiles_val.npy").write_bytes(b"not a tensor file at all")
    with pytest.raises(symile_mimic.Error, match="labs_percentiles_val.npy"):
        Dataset(root, "val")


def test_tensor_header(formats: Dict[str, Path]) -> None:
    for fmt in FORMATS:
        h = symile_mimic.tensor_header(formats[fmt] / "train" / f"ecg_train.{fmt}")
        assert h["dtype"] == "float32" and h["shape"][1:] == (1, 5000, 12)
        assert h["row_bytes"] == 5000 * 12 * 4 and h["rows"] == h["shape"][0]
        assert h["data_offset"] % 8 == 0


def test_layout_is_the_writers() -> None:
    lay = symile_mimic.layout()
    assert [s["name"] for s in lay["splits"]] == SPLITS
    test = next(s for s in lay["splits"] if s["name"] == "test")
    assert [t["name"] for t in test["tensors"]] == LABELLED
    cxr = test["tensors"][0]
    assert cxr["dtype"] == "float32" and cxr["row_shape"] == [3, None, None]
    assert symile_mimic.layout(cxr_crop=320)["splits"][0]["tensors"][0]["row_shape"] == [3, 320, 320]
    assert lay["tensor_roots"] == ["", "data_npy", "tensors"]
