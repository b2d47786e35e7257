"""The in-process commands: same outputs, flags and errors as the command line."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import pytest
from conftest import SMALL, SPLITS, cli, files_under

import symile_mimic
from symile_mimic import _native


def test_build_is_byte_identical_to_the_command_line(demo: Path, tmp_path: Path) -> None:
    out = tmp_path / "cli"
    flags = [f"--{k}={v}" for k, v in SMALL.items()]
    cli("build", "--out", str(out), "--quiet", *flags)
    # The demo input is generated into each output, the build manifests record
    # absolute paths and the lock file the writer's process. Everything else,
    # SHA256SUMS.txt included, must be equal.
    skip = [".symile-build", ".symile-lock"]
    ours, theirs = files_under(demo, skip), files_under(out, skip)
    assert sorted(ours) == sorted(theirs)
    assert any(name.endswith(".safetensors") for name in ours)
    different = [name for name in ours if ours[name] != theirs[name]]
    assert different == []
    shutil.rmtree(out)


def test_build_returns_the_outcome(demo: Path, demo_cache: Path) -> None:
    outcome = symile_mimic.build(out=demo, quiet=True, demo_cache=demo_cache, **SMALL)
    assert outcome["command"] == "build"
    assert outcome["stages_skipped"] == ["cohort", "splits", "tensors"]
    assert outcome["cohort_rows"] > 0
    assert Path(outcome["out"]) == demo


def test_verify_passes_on_the_build(demo: Path) -> None:
    report = symile_mimic.verify(demo, quiet=True)
    assert report["command"] == "verify"
    assert report["failed"] == [] and report["passed"]


def test_stages_run_alone(demo: Path, tmp_path: Path) -> None:
    outcome = symile_mimic.splits(
        dataset_path=demo / "symile_mimic_data.csv",
        save_dir=tmp_path,
        train_n=20,
        val_n=5,
        candidate_n=3,
        use_seed=True,
        seed=3,
        quiet=True,
    )
    assert outcome["command"] == "splits"
    assert (tmp_path / "train.csv").read_text().count("\n") == 21


def test_keywords_become_the_commands_flags() -> None:
    argv = _native.argv(
        "splits",
        {"dataset_path": Path("a b.csv"), "save_dir": "-out", "train_n": 10, "use_seed": False, "no_checksums": True,
         "negatives": None, "threads": 2},
    )
    assert argv == [
        "symile-mimic", "splits", "--dataset_path=a b.csv", "--save_dir=-out", "--train_n=10", "--use_seed=false",
        "--no-checksums", "--threads=2",
    ]
    # A false switch is left out; a positional goes after `--`; kebab-case flags take snake-case keywords.
    assert _native.argv("verify", {"dir": "-d", "expect_published": False}) == ["symile-mimic", "verify", "--", "-d"]
    assert _native.argv("build", {"crop_rng": "torch", "force": True}) == [
        "symile-mimic", "build", "--crop-rng=torch", "--force",
    ]


def test_unknown_keyword_lists_the_valid_ones() -> None:
    with pytest.raises(TypeError) as e:
        symile_mimic.splits(dataset_pth="x.csv")
    msg = str(e.value)
    assert "'dataset_pth'" in msg and "dataset_path" in msg and "use_seed" in msg and "threads" in msg


def test_unknown_command() -> None:
    with pytest.raises(symile_mimic.Error, match="unknown command 'nope': expected one of cohort, splits"):
        symile_mimic.run("nope")


def test_every_command_is_callable_by_name() -> None:
    cmds = symile_mimic.commands()
    assert {"cohort", "splits", "tensors", "build", "verify", "inspect"} <= set(cmds)
    for name in cmds:
        assert callable(getattr(symile_mimic, name))
    flags = {f["keyword"]: f for f in cmds["splits"]["flags"]}
    assert flags["use_seed"]["default"] == "true" and not flags["use_seed"]["switch"]
    with pytest.raises(AttributeError):
        symile_mimic.no_such_command  # noqa: B018


def test_missing_and_invalid_flags_raise_the_commands_message() -> None:
    # Flags are named as keywords: a Python caller never typed --save_dir.
    with pytest.raises(symile_mimic.Error, match=r"required arguments were not provided: save_dir=$"):
        symile_mimic.cohort(mimiciv_hosp_dir="h", cxr_data_dir="c", ecg_data_dir="e")
    with pytest.raises(symile_mimic.Error, match=r'^invalid value \'ten\' for \'train_n=\': expected a whole number, found "ten"$'):
        symile_mimic.splits(dataset_path="d.csv", save_dir="o", train_n="ten", val_n=1, candidate_n=2)
    with pytest.raises(symile_mimic.Error, match=r"^invalid value 'hdf5' for 'format=' \[possible values: safetensors, npy, pt\]$"):
        symile_mimic.tensors(data_dir="d", cxr_data_dir="c", ecg_data_dir="e", format="hdf5")
    assert issubclass(symile_mimic.Error, ValueError)


def test_bad_input_raises_the_command_lines_error(demo: Path, tmp_path: Path) -> None:
    bad = tmp_path / "cohort.csv"
    lines = (demo / "symile_mimic_data.csv").read_text().splitlines(keepends=True)
    lines[3] = "not,a,row\n"
    bad.write_text("".join(lines))
    flags = {"dataset_path": bad, "save_dir": tmp_path / "out", "train_n": 20, "val_n": 5, "candidate_n": 3}
    with pytest.raises(symile_mimic.Error) as e:
        symile_mimic.splits(quiet=True, **flags)
    msg = str(e.value)
    assert msg.startswith(f"{bad}:4: "), msg
    # Exactly what the command line prints after "error: ".
    run = cli("splits", *[f"--{k}={v}" for k, v in flags.items()], "--quiet", check=False)
    assert run.returncode == 2
    assert run.stderr.strip() == f"error: {msg}"
    # Nothing half-written.
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").glob("*.csv"))


def test_missing_input_names_the_file(tmp_path: Path) -> None:
    with pytest.raises(symile_mimic.Error, match=str(tmp_path / "absent.csv")):
        symile_mimic.splits(
            dataset_path=tmp_path / "absent.csv", save_dir=tmp_path, train_n=1, val_n=1, candidate_n=2, quiet=True
        )


def test_every_step_reports_its_final_count(demo_input: Path, tmp_path: Path) -> None:
    """No bar ends at 0 for a step that did work: the last report of each step is its real count."""
    last: Dict[str, Tuple[int, Optional[int]]] = {}
    order: List[str] = []

    def record(step: str, done: int, total: Optional[int]) -> None:
        if not order or order[-1] != step:
            order.append(step)
        last[step] = (done, total)

    report = symile_mimic.cohort(mimic_root=demo_input, save_dir=tmp_path / "c", quiet=True, progress=record)
    want = _input_steps(report)
    for step, count in want.items():
        assert last[step][0] == count > 0, (step, last[step], count)
    for step, (done, total) in last.items():
        assert total is None or done == total, (step, done, total)
    assert order[:2] == ["patients", "admissions"]
    # The default tqdm bars get the same calls and so end at the same counts.
    from symile_mimic._progress import TqdmBars

    class Bar:
        def __init__(self, total: Optional[int], desc: str, leave: bool) -> None:
            self.n, self.total, self.desc = 0, total, desc
            closed.append(self)

        def update(self, k: int) -> None:
            self.n += k

        def close(self) -> None:
            pass

    closed: List[Bar] = []
    bars = TqdmBars(Bar)
    symile_mimic.cohort(mimic_root=demo_input, save_dir=tmp_path / "d", quiet=True, progress=bars)
    bars.close()
    ends = {b.desc: b.n for b in closed}
    for step, count in want.items():
        assert ends[step] == count, (step, ends[step], count)


class _Bar:
    """A stand-in for tqdm: records where each bar ends."""

    closed: List["_Bar"] = []

    def __init__(self, total: Optional[int], desc: str, leave: bool) -> None:
        self.n, self.total, self.desc = 0, total, desc
        _Bar.closed.append(self)

    def update(self, k: int) -> None:
        self.n += k

    def close(self) -> None:
        pass


def _input_steps(report: Dict) -> Dict[str, int]:
    """Each input table's progress step and the rows the cohort report says it read."""
    rows = report["input_rows"]
    return {
        "patients": rows["patients"],
        "admissions": rows["admissions"],
        "CXR metadata": rows["cxr_metadata"],
        "CheXpert labels": rows["cxr_chexpert"],
        "ECG record list": rows["ecg_record_list"],
        "labevents": rows["labevents"],
    }


def _csv_rows(path: Path) -> int:
    return path.read_text().count("\n") - 1


def _ends(run) -> Tuple[Dict[str, Tuple[int, Optional[int]]], Dict[str, int]]:
    """The last report of each step through a callback, and where the default bars end, for ``run(progress)``."""
    from symile_mimic._progress import TqdmBars

    last: Dict[str, Tuple[int, Optional[int]]] = {}
    run(lambda step, done, total: last.__setitem__(step, (done, total)))
    _Bar.closed = []
    bars = TqdmBars(_Bar)
    run(bars)
    bars.close()
    return last, {b.desc: b.n for b in _Bar.closed}


def test_every_bar_of_splits_tensors_and_build_ends_at_its_real_count(demo_input: Path, tmp_path: Path) -> None:
    """Each step's last report (and each default bar) is the step's real count: the rows of its
    input table, the candidates it examined, the rows of the split it wrote."""
    out = tmp_path / "build"

    def build(progress) -> None:
        # force: the second run (for the bars) redoes every stage rather than skipping them.
        symile_mimic.build(out=out, mimic_root=demo_input, quiet=True, force=True, progress=progress, **SMALL)

    last, bars = _ends(build)
    report = json.loads((out / "cohort_report.json").read_text())
    split_rows = {s: _csv_rows(out / f"{s}.csv") for s in SPLITS}
    want = {
        **_input_steps(report),
        # Every admission that can reach the cohort has its images and ECGs looked at.
        "CXR in window": report["attrition"]["with_labs"],
        **split_rows,
    }
    assert set(want) <= set(last), (sorted(last), sorted(want))
    for step, count in want.items():
        assert last[step][0] == count > 0, (step, last[step], count)
        assert bars[step] == count, (step, bars[step], count)
    for step, (done, total) in last.items():
        assert total is None or done == total, (step, done, total)
        assert bars[step] == done, (step, bars[step], done)
    assert last["ECG validity"][0] > 0

    # Stage 2 alone has no long step: it reports none, so no bar can stop short.
    resplit = tmp_path / "resplit"

    def splits(progress) -> None:
        symile_mimic.splits(dataset_path=out / "symile_mimic_data.csv", save_dir=resplit, quiet=True,
                            progress=progress)

    last, bars = _ends(splits)
    assert last == {} and bars == {}

    # Stage 3 alone: one step per split, ending at the split's rows.
    def tensors(progress) -> None:
        symile_mimic.tensors(data_dir=resplit, mimic_root=demo_input, quiet=True, progress=progress, **SMALL)

    last, bars = _ends(tensors)
    want = {s: _csv_rows(resplit / f"{s}.csv") for s in SPLITS}
    assert {s: last[s] for s in SPLITS} == {s: (n, n) for s, n in want.items()}
    assert bars == want


def test_progress_callback(demo: Path, tmp_path: Path) -> None:
    calls = []
    symile_mimic.verify(demo, quiet=True, progress=lambda *a: calls.append(a))
    assert calls, "no progress reported"
    for step, done, total in calls:
        assert isinstance(step, str) and isinstance(done, int) and (total is None or isinstance(total, int))
        assert total is None or done <= total


def test_an_exception_in_the_callback_stops_the_run(demo: Path) -> None:
    def boom(step: str, done: int, total: object) -> None:
        raise RuntimeError("from the callback")

    with pytest.raises(RuntimeError, match="from the callback"):
        symile_mimic.verify(demo, quiet=True, progress=boom)


def test_ctrl_c_stops_the_work_and_raises_keyboard_interrupt(demo_input: Path, tmp_path: Path) -> None:
    """A SIGINT during a build: KeyboardInterrupt within about a second, nothing half-written."""
    out = tmp_path / "out"
    script = textwrap.dedent(
        f"""
        import os, signal, sys, threading, time
        import symile_mimic
        started = []
        def progress(step, done, total):
            # Stage 3 writes the splits at once: the first split step is live.
            if step in ("train", "val", "val_retrieval", "test") and not started:
                started.append(time.monotonic())
                threading.Timer(0.3, os.kill, (os.getpid(), signal.SIGINT)).start()
        try:
            symile_mimic.build(out={str(out)!r}, mimic_root={str(demo_input)!r}, quiet=True,
                               cxr_scale=320, cxr_crop=320, threads=1, progress=progress,
                               assume_free_bytes=10**12)
        except KeyboardInterrupt:
            print("interrupted after", round(time.monotonic() - started[0], 2))
            sys.exit(0)
        print("completed")
        """
    )
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith("interrupted after"), run.stdout + run.stderr
    assert float(run.stdout.split()[-1]) < 2.5, run.stdout
    leftovers = [p for p in out.rglob("*") if p.name.startswith(".symile-tmp.")]
    assert leftovers == []
    # The interrupted stage committed nothing: no tensor file exists.
    assert not any(out.rglob("*.safetensors"))
