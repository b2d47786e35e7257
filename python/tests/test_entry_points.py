"""The ``symile-mimic`` script and ``python -m symile_mimic`` behave as the binary."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from conftest import cli

import symile_mimic


def test_version() -> None:
    run = cli("--version")
    assert run.stdout.strip() == f"symile-mimic {symile_mimic.__version__}"
    run = subprocess.run([sys.executable, "-m", "symile_mimic", "--version"], capture_output=True, text=True, check=True)
    assert run.stdout.strip() == f"symile-mimic {symile_mimic.__version__}"


def test_help_lists_the_commands() -> None:
    run = cli("--help")
    for command in ["cohort", "splits", "tensors", "build", "verify"]:
        assert command in run.stdout


def test_a_failing_run_exits_2_with_the_message(tmp_path: Path) -> None:
    absent = tmp_path / "absent.csv"
    args = ["splits", "--dataset_path", str(absent), "--save_dir", str(tmp_path), "--train_n", "1", "--val_n", "1",
            "--candidate_n", "2"]
    for argv in ([sys.executable, "-m", "symile_mimic", *args], None):
        run = subprocess.run(argv, capture_output=True, text=True) if argv else cli(*args, check=False)
        assert run.returncode == 2
        assert run.stderr.startswith("error: ") and str(absent) in run.stderr
        assert run.stderr.count("\n") == 1, run.stderr


def test_a_usage_error_exits_2() -> None:
    run = cli("splits", "--train_n", "x", check=False)
    assert run.returncode == 2 and "invalid value 'x' for '--train_n <N>': expected a whole number" in run.stderr


def test_ctrl_c_exits_130_like_the_binary(demo_input: Path, tmp_path: Path) -> None:
    """The entry point leaves SIGINT to the command, which stops cleanly and exits 130."""
    import signal
    import time

    from conftest import entry_point

    out = tmp_path / "out"
    proc = subprocess.Popen(
        [entry_point(), "build", "--out", str(out), "--mimic-root", str(demo_input), "--threads", "1",
         # Interrupted long before its 1.7 GB are written: do not let a full disk fail it first.
         "--assume-free-bytes", str(10**12)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    # Wait until the build has taken its output directory, then interrupt it.
    deadline = time.monotonic() + 60
    while not (out / ".symile-lock").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.5)
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr
    assert "interrupted by SIGINT (Ctrl-C)" in stderr
    assert not [p for p in out.rglob("*") if p.name.startswith(".symile-tmp.")]
