"""Progress reporting for the in-process commands."""

from __future__ import annotations

from typing import Any, Callable, Optional

#: ``progress(step, done, total)``: a step (``"cohort: labevents"``, ...) has ``done``
#: of ``total`` units (``None`` when the count is not known in advance).
ProgressCallback = Callable[[str, int, Optional[int]], Any]


class TqdmBars:
    """One tqdm bar per step, closed when the next step starts. Steps are reported in
    order, each ending at its final count (a step that ran between two reports is
    reported once, with that count), so every bar ends at its step's real total."""

    def __init__(self, tqdm: Any) -> None:
        self._tqdm = tqdm
        self._bar: Optional[Any] = None
        self._current: Optional[str] = None

    def __call__(self, step: str, done: int, total: Optional[int]) -> None:
        if self._bar is None or step != self._current:
            if self._bar is not None:
                self._bar.close()
            self._bar = self._tqdm(total=total, desc=step, leave=False)
            self._current = step
        self._bar.update(done - self._bar.n)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()


def default_progress() -> Optional[TqdmBars]:
    """tqdm bars when tqdm is installed, else nothing (the log lines still show)."""
    try:
        from tqdm.auto import tqdm  # type: ignore[import-untyped,unused-ignore]
    except ImportError:
        return None
    return TqdmBars(tqdm)
