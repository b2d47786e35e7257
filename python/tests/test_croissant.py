"""A built dataset's ``croissant.json`` is valid Croissant that mlcroissant reads back.

``mlcroissant validate`` must accept it with no warning, every ``cr:FileObject`` must
name a file of the directory with its size and SHA-256, and every record set must yield
its CSV's rows, cell for cell. mlcroissant is a test dependency (``pip install .[test]``):
without it these tests fail rather than skip. To check another directory by hand::

    python python/tests/test_croissant.py path/to/dataset
"""

from __future__ import annotations

import csv
import hashlib
import json
import math
import subprocess
import sys
import warnings
from pathlib import Path
from typing import Any, Dict, List
from urllib.parse import quote

import mlcroissant as mlc


def validate(jsonld: Path) -> subprocess.CompletedProcess:
    """``mlcroissant validate --jsonld FILE``, with the command installed next to this interpreter."""
    script = Path(sys.executable).parent / "mlcroissant"
    if script.exists():
        cmd = [str(script)]
    else:
        cmd = [sys.executable, "-c", "import sys; from mlcroissant.scripts.cli import main; sys.exit(main())"]
    return subprocess.run([*cmd, "validate", "--jsonld", str(jsonld)], capture_output=True, text=True, timeout=600)


def listed_warnings(stderr: str) -> List[str]:
    """The warnings of mlcroissant's report (``  -  [Node(name)] message`` lines)."""
    found = []
    for line in stderr.splitlines():
        line = line.strip()
        if line.startswith("- ") and "] " in line:
            found.append(line.split("] ", 1)[1])
    return found


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def same_cell(value: Any, cell: str, data_type: str) -> bool:
    """Whether mlcroissant's value is what pandas reads from the CSV cell."""
    if cell == "":
        return missing(value)
    if data_type == "sc:Integer":
        return value == int(cell)
    if data_type == "sc:Float":
        return not missing(value) and float(value) == float(cell)
    if data_type == "sc:Boolean":
        return bool(value) == (cell.lower() == "true")
    text = value.decode() if isinstance(value, bytes) else str(value)
    return text == cell


def check_croissant(root: Path) -> Dict[str, int]:
    """Checks ``root/croissant.json`` against the files of ``root``; returns rows per record set."""
    jsonld = root / "croissant.json"
    assert jsonld.is_file(), f"{jsonld} is missing: the dataset directory has no Croissant file"

    done = validate(jsonld)
    assert done.returncode == 0, f"mlcroissant validate failed:\n{done.stdout}{done.stderr}"
    assert "not standard" not in done.stderr, done.stderr
    assert listed_warnings(done.stderr) == [], done.stderr

    meta = json.loads(jsonld.read_text())
    assert meta["datePublished"], "every card is dated"
    assert meta["conformsTo"] in ("http://mlcommons.org/croissant/1.0", "http://mlcommons.org/croissant/1.1")
    for obj in meta["distribution"]:
        url = obj["contentUrl"]
        assert not url.startswith("/") and "://" not in url, url
        path = root / url
        assert path.is_file(), f"{url} is listed but missing"
        assert obj["contentSize"] == f"{path.stat().st_size} B", url
        assert obj["sha256"] == sha256(path), url
    sums = root / "SHA256SUMS.txt"
    if sums.is_file():
        listed = {o["contentUrl"]: o["sha256"] for o in meta["distribution"]}
        for line in sums.read_text().splitlines():
            digest, name = line.split("  ", 1)
            if name in listed:
                assert listed[name] == digest, name

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # rdflib's, inside mlcroissant
        dataset = mlc.Dataset(jsonld=str(jsonld))
    sets = {rs["@id"]: rs for rs in meta["recordSet"]}
    assert "test" in sets, f"no record set for test.csv: {sorted(sets)}"
    counts = {}
    for set_id, record_set in sets.items():
        source = record_set["field"][0]["source"]["fileObject"]["@id"]
        file = next(o["contentUrl"] for o in meta["distribution"] if o["@id"] == source)
        with open(root / file, newline="") as f:
            rows = list(csv.DictReader(f))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # pandas' PerformanceWarning inside mlcroissant, on wide CSVs
            records = list(dataset.records(set_id))
        assert len(records) == len(rows), f"{set_id}: {len(records)} records, {len(rows)} rows in {file}"
        for i, (record, row) in enumerate(zip(records, rows)):
            for field in record_set["field"]:
                name = field["name"]
                assert field["@id"] == f"{set_id}/{quote(name, safe='')}", field["@id"]
                value = record[field["@id"]]
                assert same_cell(value, row[name], field["dataType"]), f"{set_id} row {i} {name}: {value!r} vs {row[name]!r}"
        counts[set_id] = len(records)
    return counts


def test_croissant_validates_and_reads_back(demo: Path) -> None:
    counts = check_croissant(demo)
    with open(demo / "test.csv", newline="") as f:
        assert counts["test"] == sum(1 for _ in csv.DictReader(f)) > 0
    formats = {o["contentUrl"]: o["encodingFormat"] for o in json.loads((demo / "croissant.json").read_text())["distribution"]}
    assert formats["recipe.toml"] == "application/toml"
    assert formats["test.csv"] == "text/csv" and formats["README.md"] == "text/markdown"
    assert "SHA256SUMS.txt" not in formats and "croissant.json" not in formats


if __name__ == "__main__":
    for arg in sys.argv[1:]:
        print(arg, check_croissant(Path(arg)))
