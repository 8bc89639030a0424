"""The ``--cluster`` option the commands that fan work out share (see :mod:`glassline._cluster`)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

import typer

from glassline._cluster import CLUSTER_ENV, ActiveCluster, cluster

__all__ = ["ClusterOption", "using_cluster"]

#: ``--cluster local|dask|tcp://HOST:PORT`` (env ``GLASSLINE_CLUSTER``); default ``local``
ClusterOption = Annotated[
    str | None,
    typer.Option(
        "--cluster",
        envvar=CLUSTER_ENV,
        help="Where the parallel work runs: 'local' (this machine's processes, --jobs), 'dask' (a Dask "
        "LocalCluster started for the run) or 'tcp://HOST:PORT' (an existing Dask scheduler). Default: local.",
        show_default=False,
    ),
]


@contextmanager
def using_cluster(value: str | None) -> Iterator[ActiveCluster]:
    """The command's body runs inside :func:`glassline.cluster` for *value* (None: ``local``)."""
    with cluster(value or "local") as active:
        yield active
