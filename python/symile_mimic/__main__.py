"""``python -m symile_mimic``: the ``symile-mimic`` command."""

from ._cli import main

raise SystemExit(main())
