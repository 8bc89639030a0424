"""The one place where glassline's parallel work runs: this machine's processes, or a Dask cluster.

Every stage that fans work out (the fit stage's model-grid tasks, the explain stage's bootstrap refits,
SHAP values, figures and influence refits, the EIS batch fits, batch prediction) calls
:func:`map_tasks` (or :func:`pool_executor` for a ``concurrent.futures`` pool). Where the work goes is
chosen once, for a block of code, with :func:`cluster`::

    with glassline.cluster("dask"):              # a LocalCluster started for the block
        glassline.compare(study, "prepared/")
    with glassline.cluster("tcp://10.0.0.5:8786"):  # an existing scheduler
        ...

or by the ``--cluster local|dask|tcp://HOST:PORT`` option of the CLI, or the ``GLASSLINE_CLUSTER``
environment variable (read by :func:`cluster` when it gets no value, and by :func:`map_tasks` when no
:func:`cluster` block is active).

``local`` (the default) is today's behaviour: joblib worker processes on this machine (``n_jobs``).
On Dask, tasks are **chunked** (:func:`chunk_plan`): the first item runs in this process and is timed; the
rest are dealt in a fixed shuffled order (so each chunk mixes cheap and costly items, e.g. model families)
into chunks by guided self-scheduling: each chunk takes ``1/(2·workers)`` of the items not yet dealt, but
no fewer than ``ceil(MIN_TASK_SECONDS / seconds_per_item)`` items, so a task runs at least
:data:`MIN_TASK_SECONDS` (0.5 s) against Dask's ~20 ms overhead per task. That floor is capped at
``1/CHUNKS_PER_WORKER`` of a worker's share of the items, so the last chunks stay small and the workers
finish together even when the one timed item misjudges the rest. Inside a task, BLAS,
OpenMP and xgboost run on one thread (:func:`threadpoolctl.threadpool_limits`), as Dask's threaded
workers do not limit them. Every task carries its own seed, so the results are the same wherever and
in whatever order the tasks run; the order of the returned results is the order of the items (unless
``ordered=False``).

Dask (``dask[dataframe]`` and ``distributed``) is an optional dependency: ``pip install
'glassline[cluster]'``.
"""

from __future__ import annotations

import contextvars
import itertools
import math
import os
import re
import socket
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from multiprocessing.context import BaseContext
from typing import Any, TypeVar

from glassline.exceptions import ClusterError

__all__ = [
    "CHUNKS_PER_WORKER",
    "CLUSTER_ENV",
    "MIN_TASK_SECONDS",
    "ActiveCluster",
    "active_cluster",
    "chunk_plan",
    "chunk_size",
    "cluster",
    "map_tasks",
    "parse_cluster",
    "pool_executor",
    "require_dask",
]

#: environment variable naming where work runs when no ``--cluster`` / :func:`cluster` says it
CLUSTER_ENV = "GLASSLINE_CLUSTER"
#: the least time one Dask task runs (items are chunked to reach it); Dask's overhead is ~20 ms per task
MIN_TASK_SECONDS = 0.5
#: balance: the least chunk size is capped at 1/CHUNKS_PER_WORKER of a worker's share of the items
CHUNKS_PER_WORKER = 4
#: guided self-scheduling: a chunk takes 1/(GUIDED · workers) of the items not yet dealt
_GUIDED = 2
#: the seed of the fixed order the items are dealt in (scheduling only: every task carries its own seed)
_DEAL_SEED = 19

_ADDRESS = re.compile(r"^tcp://(\[[0-9A-Fa-f:]+\]|[A-Za-z0-9.\-]+):(\d{1,5})$")
_MISSING = (
    "--cluster {spec}: Dask is not installed (needs 'dask[dataframe]' and 'distributed'); "
    "install them with: pip install 'glassline[cluster]'"
)

R = TypeVar("R")


def parse_cluster(value: str | None) -> str:
    """Check a ``--cluster`` value: ``local``, ``dask`` or ``tcp://HOST:PORT`` (None or "": ``local``).

    Raises :class:`~glassline.exceptions.ClusterError` naming what was expected and what came.
    """
    text = (value or "").strip()
    if not text:
        return "local"
    if text.lower() in ("local", "dask"):
        return text.lower()
    match = _ADDRESS.match(text)
    if match and 0 < int(match.group(2)) < 65536:
        return text
    raise ClusterError(
        f"--cluster / {CLUSTER_ENV}: expected 'local', 'dask' or a scheduler address 'tcp://HOST:PORT' "
        f"(port 1-65535), got {value!r}"
    )


def require_dask(spec: str = "dask") -> None:
    """Raise a one-line :class:`~glassline.exceptions.ClusterError` when Dask is not installed."""
    try:
        import dask.dataframe  # noqa: F401
        import distributed  # noqa: F401
    except ImportError as error:
        raise ClusterError(_MISSING.format(spec=spec)) from error


@dataclass
class ActiveCluster:
    """Where work runs inside a :func:`cluster` block: ``spec`` and, on Dask, the connected client.

    ``tasks`` / ``chunks`` count the items and the Dask tasks this block has run (for the benchmarks and
    run records).
    """

    spec: str
    client: Any = None
    tasks: int = 0
    chunks: int = 0
    _local: Any = field(default=None, repr=False)

    @property
    def is_dask(self) -> bool:
        return self.client is not None

    def on_this_host(self) -> bool:
        """Whether the workers share this machine's disk: a LocalCluster, or a scheduler on this host."""
        if self.client is None or self.spec == "dask":
            return True
        match = _ADDRESS.match(self.spec)
        host = match.group(1) if match else ""
        return host in ("127.0.0.1", "localhost", "[::1]", socket.gethostname(), socket.getfqdn())

    def workers(self) -> int:
        """Worker count: Dask workers (threads summed), or this machine's cores for ``local``."""
        if self.client is None:
            return _cores()
        info = self.client.scheduler_info(n_workers=-1)
        return max(1, sum(int(w.get("nthreads", 1)) for w in info.get("workers", {}).values()))


_ACTIVE: contextvars.ContextVar[ActiveCluster | None] = contextvars.ContextVar("glassline_cluster", default=None)


def active_cluster() -> ActiveCluster | None:
    """The :class:`ActiveCluster` of the innermost :func:`cluster` block, or None outside any."""
    return _ACTIVE.get()


@contextmanager
def cluster(spec: Any = None, *, workers: int | None = None) -> Iterator[ActiveCluster]:
    """Run the parallel work of the block where *spec* says (default: ``$GLASSLINE_CLUSTER``, else ``local``).

    ``local``: this machine's processes (each call's ``n_jobs``). ``dask``: a ``distributed.LocalCluster``
    with *workers* single-threaded worker processes (default: the cores) started for the block and shut
    down after it. ``tcp://HOST:PORT``: the scheduler at that address (its workers must have glassline
    installed). A connected ``distributed.Client`` is used as it is (and left open). Blocks nest; the
    innermost wins.

    Raises
    ------
    ClusterError
        An invalid *spec*, Dask not installed, or no scheduler answering at the address (one line each).
    """
    if spec is not None and not isinstance(spec, str):
        if not hasattr(spec, "submit") or not hasattr(spec, "scheduler_info"):
            raise ClusterError(f"cluster: expected 'local', 'dask', 'tcp://HOST:PORT' or a Dask Client, got {spec!r}")
        given = ActiveCluster(str(getattr(spec.scheduler, "address", "dask")), client=spec)
        token = _ACTIVE.set(given)
        try:
            yield given
        finally:
            _ACTIVE.reset(token)
        return
    chosen = parse_cluster(os.environ.get(CLUSTER_ENV) if spec is None else spec)
    if workers is not None and workers < 1:
        raise ClusterError(f"workers: expected a positive number of Dask workers, got {workers}")
    if chosen == "local":
        active = ActiveCluster("local")
        token = _ACTIVE.set(active)
        try:
            yield active
        finally:
            _ACTIVE.reset(token)
        return
    require_dask(chosen)
    import dask
    import distributed

    engine: Any = distributed  # untyped library: its calls are Any
    Client, LocalCluster = engine.Client, engine.LocalCluster
    local: Any = None
    with dask.config.set({"distributed.worker.daemon": False, "logging.distributed": "error"}):
        if chosen == "dask":
            local = LocalCluster(
                n_workers=workers or _cores(),
                threads_per_worker=1,
                processes=True,
                dashboard_address=":0",  # a free port: never clash with another cluster's 8787
                silence_logs=40,
            )
            client = Client(local, set_as_default=False)
        else:
            try:
                client = Client(chosen, timeout="10s", set_as_default=False)
            except (OSError, TimeoutError) as error:
                raise ClusterError(
                    f"--cluster {chosen}: no Dask scheduler answered at that address within 10 s "
                    f"(start one with `dask scheduler`, or check the host and port): {error}"
                ) from None
    active = ActiveCluster(chosen, client=client, _local=local)
    token = _ACTIVE.set(active)
    try:
        yield active
    finally:
        _ACTIVE.reset(token)
        client.close()
        if local is not None:
            local.close()


def chunk_size(seconds_per_item: float, n_items: int, *, min_seconds: float = MIN_TASK_SECONDS) -> int:
    """Items per Dask task so that one task runs at least *min_seconds* (1 ≤ size ≤ *n_items*)."""
    if n_items <= 0:
        return 1
    per = max(seconds_per_item, 1e-6)
    return int(min(n_items, max(1, math.ceil(min_seconds / per))))


def chunk_plan(
    seconds_per_item: float, n_items: int, workers: int, *, min_seconds: float = MIN_TASK_SECONDS
) -> list[int]:
    """The sizes of the Dask tasks for *n_items* items on *workers* workers (they sum to *n_items*).

    Guided self-scheduling: each chunk takes ``ceil(left / (2 · workers))`` of the items not yet dealt,
    but at least the *floor*: :func:`chunk_size` (a task runs ≥ *min_seconds* at *seconds_per_item*), capped
    at ``ceil(n_items / (CHUNKS_PER_WORKER · workers))`` so that no chunk after the first ``2 · workers``
    holds more than ``1/CHUNKS_PER_WORKER`` of a worker's share. An estimate of
    *seconds_per_item* that is off (one timed item standing for all) then costs at most the last chunks'
    balance, never a worker idle through most of the run.
    """
    if n_items <= 0:
        return []
    workers = max(1, workers)
    floor = min(
        chunk_size(seconds_per_item, n_items, min_seconds=min_seconds),
        max(1, math.ceil(n_items / (CHUNKS_PER_WORKER * workers))),
    )
    sizes: list[int] = []
    left = n_items
    while left > 0:
        size = min(left, max(floor, math.ceil(left / (_GUIDED * workers))))
        sizes.append(size)
        left -= size
    return sizes


def map_tasks(
    func: Callable[..., R],
    items: Iterable[Sequence[Any]],
    *,
    n_jobs: int = 1,
    ordered: bool = True,
    min_seconds: float = MIN_TASK_SECONDS,
    prefer: str | None = "processes",
    chunk: int | None = None,
    writes_files: bool = False,
) -> Iterator[R]:
    """Yield ``func(*item)`` for every item, run where the active :func:`cluster` says.

    *func* must be a module-level function (it is pickled to worker processes). ``local``: in this
    process when *n_jobs* is 1, else joblib's process pool with *n_jobs* workers (-1: all cores). Dask:
    guided chunks of at least *min_seconds* per task (:func:`chunk_plan`, the module docstring); *n_jobs*
    is not used. *ordered*: results in the items' order (else as they finish). *chunk*: items per Dask
    task, when the caller knows its items are long enough (then nothing is timed and every item goes to
    the workers, in the items' order).
    *writes_files*: the tasks write files under this machine's paths; on a scheduler of another host they
    run on this machine's processes instead (a LocalCluster and a scheduler on this host share its disk).
    """
    work = [tuple(item) for item in items]
    active = _ACTIVE.get()
    if active is None and parse_cluster(os.environ.get(CLUSTER_ENV)) != "local":
        with cluster() as opened:
            yield from _dask_map(opened, func, work, ordered=ordered, min_seconds=min_seconds, chunk=chunk)
        return
    if active is not None and active.is_dask and writes_files and not active.on_this_host():
        active = None
    if active is None or not active.is_dask:
        if active is not None:
            active.tasks += len(work)
        if n_jobs == 1 or len(work) < 2:
            yield from (func(*args) for args in work)
            return
        from joblib import Parallel, delayed

        mode = "generator" if ordered else "generator_unordered"
        yield from Parallel(n_jobs=n_jobs, prefer=prefer, return_as=mode)(delayed(func)(*args) for args in work)
        return
    yield from _dask_map(active, func, work, ordered=ordered, min_seconds=min_seconds, chunk=chunk)


def _dask_map(
    active: ActiveCluster,
    func: Callable[..., R],
    work: list[tuple[Any, ...]],
    *,
    ordered: bool,
    min_seconds: float,
    chunk: int | None = None,
) -> Iterator[R]:
    import distributed

    as_completed: Any = distributed.as_completed

    active.tasks += len(work)
    if not work:
        return
    if chunk is not None:
        # the caller's items are long enough: fixed chunks, in the items' order
        offset, size = 0, max(1, chunk)
        dealt = [list(range(i, min(i + size, len(work)))) for i in range(0, len(work), size)]
    else:
        # the first item runs here, timed: it sets the least chunk size of the rest
        start = time.perf_counter()
        first = _run_chunk(func, work[:1])[0]
        seconds = time.perf_counter() - start
        yield first
        offset = 1
        if len(work) == 1:
            return
        dealt = _deal(len(work) - 1, chunk_plan(seconds, len(work) - 1, active.workers(), min_seconds=min_seconds))
    active.chunks += len(dealt)
    client = active.client
    futures = {
        client.submit(_run_chunk, func, [work[offset + i] for i in indices], pure=False): indices for indices in dealt
    }
    try:
        if ordered and chunk is not None:
            for future in futures:
                yield from future.result()
            return
        done: dict[int, R] = {}
        following = 0  # the next index to yield in order
        for future in as_completed(list(futures), loop=client.loop):
            results = future.result()
            if not ordered:
                yield from results
                continue
            done.update(zip(futures[future], results, strict=True))
            while following in done:
                yield done.pop(following)
                following += 1
    finally:
        pending = [future for future in futures if not future.done()]
        if pending:  # the caller stopped early (an error, a closed generator): stop the rest
            client.cancel(pending)


def _deal(n_items: int, sizes: Sequence[int]) -> list[list[int]]:
    """The item indices of each chunk: the items in a fixed shuffled order cut into *sizes* (each chunk's
    indices sorted). Neighbouring items are often alike in cost (one model family's folds), so a cut in
    the given order would make some chunks far longer than others."""
    import numpy as np

    order = np.random.default_rng(_DEAL_SEED).permutation(n_items)
    cuts = np.cumsum([0, *sizes])
    return [sorted(int(i) for i in order[a:b]) for a, b in itertools.pairwise(cuts)]


def _run_chunk(func: Callable[..., R], chunk: Sequence[tuple[Any, ...]]) -> list[R]:
    """Run one Dask task's items with BLAS, OpenMP and xgboost on one thread."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):
        return [func(*args) for args in chunk]


@contextmanager
def pool_executor(max_workers: int, mp_context: BaseContext | None = None) -> Iterator[Executor]:
    """A ``concurrent.futures`` executor where the active :func:`cluster` says.

    ``local``: a ``ProcessPoolExecutor`` of *max_workers* processes (*mp_context*); Dask: the client's
    executor (``submit`` / ``as_completed`` as usual; each submitted call is one Dask task, so submit
    chunks that run ≥ :data:`MIN_TASK_SECONDS`).
    """
    active = _ACTIVE.get()
    if active is None and parse_cluster(os.environ.get(CLUSTER_ENV)) != "local":
        with cluster() as opened, opened.client.get_executor(pure=False) as executor:
            yield executor
        return
    if active is not None and active.is_dask:
        with active.client.get_executor(pure=False) as executor:
            yield executor
        return
    with ProcessPoolExecutor(max_workers=max_workers, mp_context=mp_context) as pool:
        yield pool


def _cores() -> int:
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)
