"""The demo end to end: wall time per stage and the report's size (issue 7: ≤ 120 s on 2 cores, ≤ 15 MB).

There is no peer that runs this chain; the figures are absolute and the goal is the issue's.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from glassline.demo import run_demo

GOAL_SECONDS = 120.0
GOAL_MB = 15.0


def run() -> str:
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        result = run_demo(Path(tmp) / "demo", n_jobs=2)
        total = time.perf_counter() - start
        size = result.paths["report"].stat().st_size / 1e6
    stages = result.extra["seconds"]
    rows = "\n".join(f"| {name} | {seconds:.1f} |" for name, seconds in stages.items())
    return "\n".join(
        [
            "## Demo end to end (`run_demo`, shipped electrode study, all families and targets, 2 workers)",
            "",
            "| stage | seconds |",
            "|---|---|",
            rows,
            f"| **total** | **{total:.1f}** |",
            "",
            f"Report size: {size:.1f} MB. Goals: ≤ {GOAL_SECONDS:.0f} s — "
            f"{'met' if total <= GOAL_SECONDS else 'NOT met'}; ≤ {GOAL_MB:.0f} MB — "
            f"{'met' if size <= GOAL_MB else 'NOT met'}.",
        ]
    )


if __name__ == "__main__":
    print(run())
