"""Run every benchmark module and rewrite benchmarks/RESULTS.md.

Each ``benchmarks/bench_*.py`` defines ``run() -> str``, returning one Markdown section with the
figures it measured against its named peer in the same run, as ratios. ``make bench`` calls this.

``python benchmarks/run.py NAME ...`` runs only the modules whose name contains a NAME and replaces just
their sections in RESULTS.md (each section says the date it was measured); the others are kept as written.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import platform
import re
import sys
import time
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

HERE = Path(__file__).resolve().parent
PACKAGES = ("glassline", "numpy", "scipy", "pandas", "scikit-learn", "impedance", "pyoptex", "pyDOE3")


def _versions() -> str:
    rows = []
    for name in PACKAGES:
        try:
            rows.append(f"{name} {version(name)}")
        except PackageNotFoundError:
            continue
    return ", ".join(rows)


def main(selected: list[str]) -> int:
    modules = sorted(HERE.glob("bench_*.py"))
    if selected:
        modules = [m for m in modules if any(s in m.stem for s in selected)]
    sections: dict[str, str] = {}
    for path in modules:
        spec = importlib.util.spec_from_file_location(path.stem, path)
        if spec is None or spec.loader is None:
            continue
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module  # dataclasses look their module up while the class is built
        spec.loader.exec_module(module)
        start = time.perf_counter()
        print(f"running {path.name} …", flush=True)
        with _LoadWatch() as load:
            section = module.run()
        print(section, flush=True)
        took = (
            f"_{path.name} took {time.perf_counter() - start:.1f} s on {dt.date.today().isoformat()} ({load.words()})._"
        )
        sections[path.name] = f"{section.rstrip()}\n\n{took}\n"
    if selected:  # keep the sections of the modules not run this time
        sections = {**_written_sections(HERE / "RESULTS.md"), **sections}
    header = (
        "# Benchmark results\n\n"
        f"Written by `make bench` (last run {dt.date.today().isoformat()}; each section ends with the date "
        f"it was measured); Python {platform.python_version()} on "
        f"{platform.machine()}, {_cpu_count()} cores.\n\nVersions: {_versions()}.\n\n"
        "Every figure below was measured in the same run as its peer; ratios > 1 favour glassline "
        "unless a column says otherwise.\n\n"
    )
    body = "\n".join(sections[name] for name in sorted(sections))
    (HERE / "RESULTS.md").write_text(header + body, encoding="utf-8")
    print(f"wrote {HERE / 'RESULTS.md'}")
    return 0


def _written_sections(path: Path) -> dict[str, str]:
    """The sections of an existing RESULTS.md by module file name (each ends with its "_bench_x.py took" line)."""
    if not path.exists():
        return {}
    text = path.read_text(encoding="utf-8")
    found: dict[str, str] = {}
    first = re.search(r"^## ", text, flags=re.MULTILINE)
    if first is None:
        return {}
    for block in re.split(r"(?<=\._\n)", text[first.start() :]):
        took = re.search(r"^_(bench_\w+\.py) took ", block, flags=re.MULTILINE)
        if took and block.strip():
            found[took.group(1)] = block.lstrip("\n")
    return found


class _LoadWatch:
    """The machine's 1-minute load average sampled every few seconds while a module runs: a time measured
    while other work shared the cores is slower than on a quiet machine, and the section says so."""

    def __init__(self, every: float = 5.0) -> None:
        import threading

        self.every = every
        self.samples: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def _watch(self) -> None:
        import os

        while True:
            self.samples.append(os.getloadavg()[0])
            if self._stop.wait(self.every):
                return

    def __enter__(self) -> _LoadWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def words(self) -> str:
        if not self.samples:
            return "load not sampled"
        mean = sum(self.samples) / len(self.samples)
        peak = max(self.samples)
        return f"1-minute load average during the run: mean {mean:.1f}, max {peak:.1f}, on {_cpu_count()} cores"


def _cpu_count() -> int:
    import os

    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
