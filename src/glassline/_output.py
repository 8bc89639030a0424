"""Writing output files: one check of the path and one message shape when the system refuses a write.

:func:`output_path` checks, before anything is computed or written, that a path can become a file (or a
folder): no part of its parent is a file, it is not a folder where a file is expected; it creates the
missing parent folders. :func:`writing` turns an :class:`OSError` raised while writing (a full disk, a
read-only file system, no permission, …) into an :class:`~glassline.exceptions.OutputError` that names
the path and the reason. The command line turns any other ``OSError`` into the same one-line shape.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from glassline.exceptions import OutputError

__all__ = ["describe_os_error", "output_path", "writing"]

#: Plain-language reasons for the errors a write meets most often (the rest use the system's own text).
_REASONS: dict[int, str] = {
    errno.ENOSPC: "no space left on the device",
    errno.EDQUOT: "the disk quota is exceeded",
    errno.EROFS: "the file system is read-only",
    errno.EACCES: "permission denied",
    errno.EPERM: "operation not permitted",
    errno.EISDIR: "it is a folder; expected a file",
    errno.ENOTDIR: "a part of the path is a file, not a folder",
    errno.EEXIST: "a file of that name is in the way of a folder",
    errno.ENAMETOOLONG: "the name is too long",
    errno.EFBIG: "the file is too large for the file system",
    errno.EIO: "an input/output error of the device",
}


def describe_os_error(exc: OSError) -> str:
    """A short plain reason for *exc*, e.g. ``no space left on the device``."""
    if exc.errno in _REASONS:
        return _REASONS[exc.errno]
    if exc.strerror:
        return exc.strerror[0].lower() + exc.strerror[1:]
    if exc.errno:
        return os.strerror(exc.errno).lower()
    return str(exc) or type(exc).__name__


def output_path(path: str | Path, *, folder: bool = False, what: str = "output") -> Path:
    """Check that *path* can be written as a file (or, with *folder*, as a folder) and create its parents.

    Raises :class:`~glassline.exceptions.OutputError` naming *what* (the option or role, e.g. ``--out``),
    the path and the obstacle: a parent that is a file, a folder where a file is expected, a file where a
    folder is expected, or a parent folder that cannot be created.
    """
    path = Path(path)
    for parent in path.parents:
        if parent.exists() or parent.is_symlink():
            if not parent.is_dir():
                raise OutputError(f"{what} {path}: {parent} is a file, not a folder; choose a path inside a folder")
            break
    if folder:
        if path.exists() and not path.is_dir():
            raise OutputError(f"{what} {path}: it is a file; expected a folder (or a path that does not exist yet)")
    elif path.is_dir():
        raise OutputError(f"{what} {path}: it is a folder; expected a file name")
    with writing(path, what=what):
        path.parent.mkdir(parents=True, exist_ok=True)
        if folder:
            path.mkdir(parents=True, exist_ok=True)
    return path


@contextmanager
def writing(path: str | Path, *, what: str = "output") -> Iterator[Path]:
    """Context in which *path* is written: an ``OSError`` becomes an :class:`~glassline.exceptions.OutputError`.

    The message names *what*, the path and the reason (``--out rion.csv: cannot write: no space left on the
    device``); the original error stays attached as ``__cause__``.
    """
    path = Path(path)
    try:
        yield path
    except OutputError:
        raise
    except OSError as exc:
        where = f" ({exc.filename})" if exc.filename and Path(str(exc.filename)) != path else ""
        raise OutputError(f"{what} {path}: cannot write{where}: {describe_os_error(exc)}") from exc
