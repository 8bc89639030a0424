"""The progress callback every long step takes: ``progress(label, done, total)``.

Library functions accept an optional callable of this shape; the CLI passes one that draws a rich
progress bar, tests and scripts pass their own or None.
"""

from collections.abc import Callable

__all__ = ["ProgressCallback"]

#: ``progress(label, done, total)``: *label* names the step, *done* of *total* units are finished.
ProgressCallback = Callable[[str, int, int], None]
