"""The ``symile-mimic`` command, installed with the package."""

from __future__ import annotations

import os
import signal
import sys
from typing import List, Optional

from . import _native


def main(argv: Optional[List[str]] = None) -> int:
    """Runs the command line with ``argv`` (default: ``sys.argv[1:]``) and returns
    its exit status: the same flags, output and status as the Rust binary (0; 2 for
    an error or a failed ``verify``; 130/143 after Ctrl-C/SIGTERM)."""
    args = sys.argv[1:] if argv is None else argv
    # The command stops cleanly on SIGINT/SIGTERM itself, as the binary does; with
    # Python's handler left in place a Ctrl-C would end in a traceback instead.
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, signal.SIG_DFL)
    sys.stdout.flush()
    return int(_native.main([b"symile-mimic", *(os.fsencode(a) for a in args)]))
