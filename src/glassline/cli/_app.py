"""The typer application, its error handling and the progress display every command shares."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)

from glassline._output import describe_os_error
from glassline.exceptions import GlasslineError

__all__ = ["app", "console", "err_console", "main", "progress", "state"]

app = typer.Typer(
    name="glassline",
    help="Explainable process-quality models for manufacturing: design → line data → models → explanations.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)
#: Width of output that does not go to a terminal (a pipe, a log file, a test's capture): wide and never
#: soft-wrapped, so a line that a script or test reads does not depend on the terminal it came from.
PLAIN_WIDTH = 200


def _console(*, stderr: bool = False) -> Console:
    stream = sys.stderr if stderr else sys.stdout
    if stream.isatty():
        return Console(stderr=stderr)
    return Console(stderr=stderr, soft_wrap=True, width=PLAIN_WIDTH)


console = _console()
err_console = _console(stderr=True)


class _State:
    debug: bool = False


state = _State()


@app.callback()
def _root(
    debug: Annotated[bool, typer.Option("--debug", help="Show the full traceback when a command fails.")] = False,
) -> None:
    state.debug = debug


@contextmanager
def progress(description: str, *, quiet: bool = False) -> Iterator[Callable[..., Any]]:
    """A rich progress bar; yields ``update(label, done, total)`` suitable as a library callback.

    Library functions take an optional ``progress(label, done, total)`` callable; the CLI passes this
    one so every long step shows a bar. ``quiet`` (or a non-terminal stderr) keeps the output plain.
    """
    bar = Progress(
        SpinnerColumn(),
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
        disable=quiet or not err_console.is_terminal,
    )
    task = bar.add_task(description, total=None)

    def update(label: str, done: int, total: int) -> None:
        bar.update(task, description=f"{description}: {label}" if label else description, completed=done, total=total)

    with bar:
        yield update


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``glassline`` console script.

    A :class:`~glassline.exceptions.GlasslineError`, a missing file, or any other ``OSError`` (a full
    disk, a read-only file system, a path through a file, …: named with its path) becomes one red line and
    exit code 1; ``--debug`` shows the traceback instead.
    """
    args = sys.argv[1:] if argv is None else argv
    try:
        # standalone mode: typer prints usage errors itself and exits with code 2
        app(args=args, prog_name="glassline")
    except (GlasslineError, OSError) as exc:
        if state.debug or "--debug" in args:
            raise
        err_console.print(f"[bold red]error:[/] {_plain(exc)}", highlight=False, soft_wrap=True)
        raise SystemExit(1) from None
    except MemoryError:
        if state.debug or "--debug" in args:
            raise
        err_console.print(
            "[bold red]error:[/] not enough memory for this request; ask for a smaller one "
            "(fewer runs, levels, files or rows)",
            highlight=False,
            soft_wrap=True,
        )
        raise SystemExit(1) from None
    except (SystemExit, KeyboardInterrupt):
        raise
    except Exception as exc:  # a bug: say so in one line, unless --debug
        if state.debug or "--debug" in args:
            raise
        err_console.print(
            f"[bold red]internal error:[/] {type(exc).__name__}: {_plain(exc)}\n"
            "Run again with --debug for the traceback, and please report it.",
            highlight=False,
            soft_wrap=True,
        )
        raise SystemExit(2) from None


def _plain(exc: BaseException) -> str:
    """The message of *exc* with rich markup escaped."""
    from rich.markup import escape

    if isinstance(exc, GlasslineError):
        return escape(str(exc))
    if isinstance(exc, FileNotFoundError) and exc.filename:
        return escape(f"no such file or folder: {exc.filename}")
    if isinstance(exc, OSError):
        where = " → ".join(str(name) for name in (exc.filename, exc.filename2) if name)
        return escape(f"{where}: {describe_os_error(exc)}" if where else describe_os_error(exc))
    return escape(str(exc))
