"""Progress reporting for the in-process commands."""

from __future__ import annotations

from typing import Any, Callable, Dict, Optional

#: ``progress(step, done, total)``: a step (``"cohort: labevents"``, ...) has ``done``
#: of ``total`` units (``None`` when the count is not known in advance).
ProgressCallback = Callable[[str, int, Optional[int]], Any]


class TqdmBars:
    """One tqdm bar per step, closed when the next step starts."""

    def __init__(self, tqdm: Any) -> None:
        self._tqdm = tqdm
        self._bars: Dict[str, Any] = {}
        self._current: Optional[str] = None

    def __call__(self, step: str, done: int, total: Optional[int]) -> None:
        bar = self._bars.get(step)
        if bar is None:
            if self._current is not None:
                self._bars[self._current].close()
            bar = self._bars[step] = self._tqdm(total=total, desc=step, leave=False)
            self._current = step
        bar.update(done - bar.n)

    def close(self) -> None:
        for bar in self._bars.values():
            bar.close()


def default_progress() -> Optional[TqdmBars]:
    """tqdm bars when tqdm is installed, else nothing (the log lines still show)."""
    try:
        from tqdm.auto import tqdm  # type: ignore[import-untyped,unused-ignore]
    except ImportError:
        return None
    return TqdmBars(tqdm)
