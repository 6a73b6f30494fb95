"""A text progress bar for transfers, shared by the demo and the command line."""

from __future__ import annotations

from typing import Callable

MIB = 1024 * 1024


class ProgressBar:
    """Prints ``label [#####...] 25%  2.0 of 8.0 MiB`` at every ``1/steps`` of a transfer.

    It is a ``progress(done, total)`` callback: pass it to ``send_*`` or ``download``.
    Steps are printed once each, in order, whatever sizes the callbacks come in."""

    def __init__(self, label: str, say: Callable[[str], None], steps: int = 4) -> None:
        self._label, self._say, self._steps, self._next = label, say, steps, 0

    def __call__(self, done: int, total: int) -> None:
        while total and done * self._steps >= self._next * total and self._next <= self._steps:
            filled = self._next * 20 // self._steps
            percent = self._next * 100 // self._steps
            self._say(
                f"  {self._label:<9} [{'#' * filled}{'.' * (20 - filled)}] {percent:>3}%"
                f"  {done / MIB:.1f} of {total / MIB:.1f} MiB"
            )
            self._next += 1
