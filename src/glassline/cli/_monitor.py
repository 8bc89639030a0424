"""``glassline monitor reference|check`` and ``glassline handover``: monitoring a published model from the audit log."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer

from glassline.cli._app import app, console
from glassline.cli._serve import DbOption, HomeOption

__all__ = ["handover", "monitor_check", "monitor_reference"]

monitor_app = typer.Typer(help="Monitor a published model from the service's audit log.", no_args_is_help=True)
app.add_typer(monitor_app, name="monitor")

ModelOption = Annotated[
    str,
    typer.Option("--model", "-m", help="NAME, NAME@ALIAS or NAME/VERSION of a published model.", show_default=False),
]
TrackingOption = Annotated[
    str | None, typer.Option("--tracking-uri", help="MLflow tracking URI. [default: the workspace's]")
]


@contextmanager
def _open(model: str, home: Path | None, db: str | None, tracking: str | None) -> Iterator[tuple[Any, Any]]:
    """The workspace's audit log and the loaded *model*; the log is closed and its engine disposed after."""
    from glassline.audit import AuditLog, connect
    from glassline.registry import database_url, load_model

    loaded = load_model(model, home=home, tracking=tracking)
    engine = connect(database_url(home, db))
    log = AuditLog(engine)
    try:
        yield log, loaded
    finally:
        log.close()
        engine.dispose()


@monitor_app.command("reference")
def monitor_reference(
    model: ModelOption,
    records: Annotated[
        str,
        typer.Option(
            "--records",
            help="FIRST:LAST audit sequence numbers of the production reference window.",
            show_default=False,
        ),
    ],
    db: DbOption = None,
    home: HomeOption = None,
    tracking_uri: TrackingOption = None,
) -> None:
    """Declare a production reference window (recorded in the audit log as 'monitor_reference')."""
    from glassline.monitor import set_reference

    with _open(model, home, db, tracking_uri) as (log, loaded):
        record = set_reference(log, loaded, records)
    p = record.payload
    console.print(
        f"reference of {loaded.name} v{loaded.version}: records {p['first_seq']}–{p['last_seq']} ({p['rows']} rows); "
        f"audit record {record.seq}",
        highlight=False,
    )


@monitor_app.command("check")
def monitor_check(
    model: ModelOption,
    window: Annotated[int, typer.Option("--window", "-n", help="Rows per window (10 to 100).")] = 30,
    since: Annotated[
        str | None, typer.Option("--since", help="The rows since this ISO 8601 time (instead of the newest --window).")
    ] = None,
    all_windows: Annotated[
        bool, typer.Option("--all", help="Every consecutive non-overlapping window after the reference.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="A JSON list of window reports on stdout.")] = False,
    fail_on_alarm: Annotated[
        bool, typer.Option("--fail-on-alarm", help="Exit with code 3 when a reported window has an alarm.")
    ] = False,
    alpha: Annotated[float, typer.Option("--alpha", help="Family-wise false-alarm rate per window.")] = 0.05,
    db: DbOption = None,
    home: HomeOption = None,
    tracking_uri: TrackingOption = None,
) -> None:
    """Test the newest window (or every window with --all) for drift, root cause and performance; alarms are
    written to the audit log ('monitor_alarm')."""
    from glassline.exceptions import QueryError
    from glassline.monitor import Monitor

    if all_windows and since is not None:
        raise QueryError("--all and --since: give one of them (--all reports every window after the reference)")
    with _open(model, home, db, tracking_uri) as (log, loaded):
        monitor = Monitor(log, loaded, alpha=alpha)
        reports = monitor.check_all(window) if all_windows else [monitor.check(window, since=since)]
    if as_json:
        typer.echo(json.dumps([r.to_dict() for r in reports], ensure_ascii=False, indent=1))
    else:
        if not reports:
            console.print(f"{loaded.name}: no complete window of {window} rows after the reference", highlight=False)
        for report in reports:
            for line in report.lines():
                console.print(line, highlight=False, markup=False)
    if fail_on_alarm and any(r.alarmed for r in reports):
        raise typer.Exit(3)


@app.command()
def handover(
    model: ModelOption,
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Folder for handover.md and handover.html.", show_default=False)
    ],
    db: DbOption = None,
    home: HomeOption = None,
    tracking_uri: TrackingOption = None,
) -> None:
    """Write the handover pack for the person who will monitor the model (Markdown and HTML)."""
    from glassline.monitor import write_handover

    with _open(model, home, db, tracking_uri) as (log, loaded):
        paths = write_handover(log, loaded, out)
    console.print(f"handover pack: {paths['markdown']} and {paths['html']}", highlight=False)
