"""Iterating a multi-GB split keeps the process's memory flat.

The split is written cheaply: numpy's ``open_memmap`` writes a valid ``.npy`` header
and extends the file without writing its data, so the files are sparse. Reading them
still goes through the page cache like any file, which is what is measured: pages a
process maps count toward its RSS, pages it only ``pread``s into its own buffers do not.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np

ROWS = 2800  # CXR rows of 3 x 320 x 320 float32: 3.4 GB, with the ECGs 4.1 GB


def sparse_split(root: Path, rows: int) -> None:
    d = root / "train"
    d.mkdir(parents=True)
    shapes = {
        "cxr": ((3, 320, 320), np.float32),
        "ecg": ((1, 5000, 12), np.float32),
        "labs_percentiles": ((50,), np.float32),
        "labs_missingness": ((50,), np.int64),
        "hadm_id": ((), np.int64),
    }
    for name, (shape, dtype) in shapes.items():
        m = np.lib.format.open_memmap(d / f"{name}_train.npy", mode="w+", dtype=dtype, shape=(rows, *shape))
        del m


MEASURE = textwrap.dedent(
    """
    import json, resource, sys
    import numpy as np
    import symile_mimic

    def vm_rss_mb():
        for line in open("/proc/self/status"):
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024

    ds = symile_mimic.Dataset(sys.argv[1], "train")
    ds[0]; ds[0:8]
    before_max = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    before = vm_rss_mb()
    total = 0
    for i in range(len(ds)):
        total += ds[i]["cxr"].nbytes
    for start in range(0, len(ds), 64):
        total += ds[start:start + 64]["cxr"].nbytes
    after_max = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"read_gb": total / 1e9, "before_mb": before, "after_mb": vm_rss_mb(),
                      "maxrss_before_mb": before_max, "maxrss_after_mb": after_max}))
    """
)


def test_iterating_a_multi_gb_split_keeps_rss_flat(tmp_path: Path) -> None:
    sparse_split(tmp_path, ROWS)
    size = sum(f.stat().st_size for f in (tmp_path / "train").iterdir())
    assert size > 4e9
    run = subprocess.run([sys.executable, "-c", MEASURE, str(tmp_path)], capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr
    import json

    m = json.loads(run.stdout)
    print(m)
    assert m["read_gb"] > 6  # every CXR row, one by one and in batches of 64
    # A batch of 64 CXR rows is 79 MB; the peak may hold one such batch, nothing grows with the file.
    assert m["maxrss_after_mb"] - m["maxrss_before_mb"] < 120, m
    assert m["after_mb"] - m["before_mb"] < 40, m
