"""``glassline publish``, ``serve``, ``token create|list|revoke``, ``audit verify|show|anchor``: registry, log."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from glassline.cli._app import app, console

__all__ = [
    "audit_anchor",
    "audit_show",
    "audit_verify",
    "publish",
    "serve",
    "token_create",
    "token_list",
    "token_revoke",
]

HomeOption = Annotated[
    Path | None,
    typer.Option(
        "--home",
        help="Workspace folder for the MLflow store, tokens and audit log. [default: $GLASSLINE_HOME or ./.glassline]",
    ),
]
DbOption = Annotated[
    str | None,
    typer.Option(
        "--db",
        help="Database URL for tokens and the audit log (postgresql+psycopg://…). [default: workspace sqlite]",
    ),
]


@app.command()
def publish(
    results_dir: Annotated[
        Path, typer.Argument(help="A results folder written by 'glassline fit'.", show_default=False)
    ],
    target: Annotated[str, typer.Option("--target", "-t", help="The response the model predicts.", show_default=False)],
    scenario: Annotated[str, typer.Option("--scenario", "-s", help="The scenario (input set).", show_default=False)],
    family: Annotated[
        str | None, typer.Option("--family", "-f", help="Model family. [default: the best by grouped CV]")
    ] = None,
    name: Annotated[
        str | None, typer.Option("--name", "-n", help="Registered model name. [default: TARGET-SCENARIO]")
    ] = None,
    study: Annotated[
        Path | None,
        typer.Option(
            "--study",
            help="The study file the results were fitted from. Default: the copy study.toml in RESULTS_DIR.",
        ),
    ] = None,
    alias: Annotated[
        str | None, typer.Option("--alias", help="Also point this alias (e.g. 'prod') at the new version.")
    ] = None,
    tracking_uri: Annotated[
        str | None, typer.Option("--tracking-uri", help="Any MLflow tracking URI. [default: sqlite in the workspace]")
    ] = None,
    home: HomeOption = None,
    db: DbOption = None,
    distance_level: Annotated[
        float | None,
        typer.Option(
            "--distance-level",
            help="Level α of the validity domain's distance check: configurations never seen are flagged at most "
            "this often (calibrated on held-out configurations). [default: 0.05]",
        ),
    ] = None,
) -> None:
    """Register a fitted pipeline as an MLflow model version with the glassline bundle (domain, SHAP, card);
    the audit log records it."""
    from glassline.registry import DISTANCE_LEVEL
    from glassline.registry import publish as publish_model

    with console.status("publishing to MLflow"):
        published = publish_model(
            results_dir,
            target,
            scenario,
            family=family,
            name=name,
            study=study,
            tracking=tracking_uri,
            home=home,
            alias=alias,
            db=db,
            distance_level=DISTANCE_LEVEL if distance_level is None else distance_level,
        )
    console.print(f"published {published.name} version {published.version} (run {published.run_id})")
    console.print(f"{published.name}/{published.version}", highlight=False)


def _providers(app: Any) -> Any:
    """The dashboards' providers over this service's own paths: the counterfactual route's
    (:class:`glassline.serve._counterfactual.CounterfactualPath`, audited under the page user's name), the
    background monitor's newest window report (when monitoring is on) and the handover pack."""
    import json

    from glassline.ui import Providers

    paths = app.state.counterfactuals

    def counterfactual(name: str, request: dict[str, Any], actor: str) -> dict[str, Any]:
        answer = paths.run_one(name, json.dumps(request).encode(), actor)
        body: dict[str, Any] = json.loads(answer.content)
        if answer.status >= 400:
            detail = body.get("detail")
            words = detail if isinstance(detail, str) else "; ".join(str(d.get("msg", d)) for d in detail or [])
            raise ValueError(f"{words} (request {body.get('request_id', '?')})")
        return body

    service = app.state.service
    runner = app.state.monitor
    handovers: dict[str, tuple[int, str]] = {}

    def handover(name: str) -> str | None:
        from glassline.monitor import handover_markdown

        served = service.models.get(name)
        if served is None:
            return None
        report = runner.latest_report(name)
        key = -1 if report is None else int(report["window"]["last_seq"])
        cached = handovers.get(name)
        if cached is None or cached[0] != key:  # written again only when a new window was tested
            handovers[name] = cached = (key, handover_markdown(service.audit, served.loaded))
        return cached[1]

    return Providers(
        counterfactual=counterfactual,
        monitor_report=runner.latest_report if runner.enabled else None,
        handover=handover,
    )


@app.command()
def serve(
    model: Annotated[
        list[str],
        typer.Option(
            "--model",
            "-m",
            help="NAME, NAME@ALIAS or NAME/VERSION; repeat it to serve several models (POST /v1/models/NAME/predict).",
            show_default=False,
        ),
    ],
    host: Annotated[str, typer.Option("--host", help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="Port.", min=1, max=65535)] = 8000,
    fallback: Annotated[
        str,
        typer.Option("--fallback", help="Outside the validity domain: refuse (422), flag, or default (safe value)."),
    ] = "refuse",
    anonymous: Annotated[
        str | None,
        typer.Option(
            "--anonymous",
            help="Allow requests without a token, with this role (operator, technician, engineer, manager, quality, "
            "admin). [default: none]",
        ),
    ] = None,
    max_batch: Annotated[int, typer.Option("--max-batch", help="Most rows per predict request.", min=1)] = 1000,
    tracking_uri: Annotated[
        str | None, typer.Option("--tracking-uri", help="MLflow tracking URI. [default: the workspace's]")
    ] = None,
    db: DbOption = None,
    home: HomeOption = None,
    ui: Annotated[
        bool, typer.Option("--ui/--no-ui", help="Serve the role dashboards at /ui/ (sign in with a token).")
    ] = True,
    results: Annotated[
        Path | None,
        typer.Option(
            "--results",
            help="The results folder the models were fitted in: the dashboards show its model comparison, the "
            "study's graded levers (explanations/claims.csv beside it) and the AI-Act evidence map.",
        ),
    ] = None,
    alarm_budget: Annotated[
        int, typer.Option("--alarm-budget", min=0, help="Monitoring alarms per model and week the manager page allows.")
    ] = 3,
    monitor_window: Annotated[
        int,
        typer.Option(
            "--monitor-window",
            help="Test each model's next window of this many predictions (10-100) in the background; 0: off.",
        ),
    ] = 30,
) -> None:
    """Serve registered models over HTTP: predictions with attributions, intervals, fallback, audit log; role
    dashboards at /ui/."""
    from glassline.audit import Role
    from glassline.exceptions import SpecError
    from glassline.serve import Fallback, run_server

    try:
        policy = Fallback(fallback)
    except ValueError:
        raise SpecError(f"--fallback: expected one of {[f.value for f in Fallback]}, got {fallback!r}") from None
    role = None
    if anonymous is not None:
        try:
            role = Role(anonymous)
        except ValueError:
            raise SpecError(f"--anonymous: expected one of {[r.value for r in Role]}, got {anonymous!r}") from None
    if results is not None and not results.is_dir():
        raise SpecError(f"--results: expected a results folder written by 'glassline fit', got {str(results)!r}")
    configure = None
    if ui:
        from glassline.ui import UiConfig, create_ui

        def configure(app: Any) -> None:
            create_ui(app, _providers(app), config=UiConfig(results=results, alarm_budget=alarm_budget))

    dashboards = f"; dashboards: http://{host}:{port}/ui/" if ui else ""
    console.print(
        f"loading {', '.join(model)}; then serving on http://{host}:{port} (docs: /docs; fallback: {policy.value}"
        f"{dashboards})",
        highlight=False,
    )
    run_server(
        model,
        host=host,
        port=port,
        home=home,
        tracking=tracking_uri,
        db=db,
        fallback=policy,
        anonymous_role=role,
        max_batch=max_batch,
        configure=configure,
        monitor_window=_monitor_window(monitor_window),
    )


def _monitor_window(window: int) -> int | None:
    from glassline.exceptions import SpecError
    from glassline.monitor import MAX_WINDOW, MIN_WINDOW

    if window == 0:
        return None
    if not (MIN_WINDOW <= window <= MAX_WINDOW):
        raise SpecError(f"--monitor-window: expected 0 (off) or {MIN_WINDOW} to {MAX_WINDOW} rows, got {window}")
    return window


token_app = typer.Typer(help="API tokens for the service.", no_args_is_help=True)
audit_app = typer.Typer(help="The service's audit log.", no_args_is_help=True)
app.add_typer(token_app, name="token")
app.add_typer(audit_app, name="audit")


@token_app.command("create")
def token_create(
    role: Annotated[
        str,
        typer.Option(
            "--role", "-r", help="operator, technician, engineer, manager, quality or admin.", show_default=False
        ),
    ],
    label: Annotated[str, typer.Option("--label", help="Who or what the token is for.")] = "",
    expires: Annotated[
        str | None,
        typer.Option("--expires", help="Lifetime: Nd, Nh or Nm (30d, 12h, 90m). [default: valid until revoked]"),
    ] = None,
    db: DbOption = None,
    home: HomeOption = None,
) -> None:
    """Create an API token; it is printed once, on the last line (only its hash is stored)."""
    from glassline.audit import AuditLog, Role, TokenStore, connect, parse_lifetime
    from glassline.exceptions import SpecError, StoreError
    from glassline.registry import database_url
    from glassline.registry._publish import default_actor

    try:
        chosen = Role(role)
    except ValueError:
        raise SpecError(f"--role: expected one of {[r.value for r in Role]}, got {role!r}") from None
    lifetime = None if expires is None else parse_lifetime(expires, field="--expires")
    engine = connect(database_url(home, db))
    try:
        store = TokenStore(engine)
        issued = store.issue(chosen, label, lifetime=lifetime)
        try:
            AuditLog(engine).append("token_created", default_actor(), issued.payload())
        except StoreError:
            store.revoke(issued.id)  # no token without its audit record
            raise
    finally:
        engine.dispose()
    until = "" if issued.expires is None else f", valid until {issued.expires.isoformat(timespec='seconds')}"
    console.print(
        f"created {chosen.value} token {issued.id}{f' for {label}' if label else ''}{until}; "
        "store it now, it is not shown again:",
        highlight=False,
    )
    print(issued.token)


@token_app.command("list")
def token_list(
    as_json: Annotated[bool, typer.Option("--json", help="A JSON array instead of a table.")] = False,
    db: DbOption = None,
    home: HomeOption = None,
) -> None:
    """List every token: id, label, role, created, expires, revoked (the tokens themselves are never stored)."""
    import json

    from rich.markup import escape
    from rich.table import Table

    from glassline.audit import TokenStore, connect
    from glassline.registry import database_url

    engine = connect(database_url(home, db))
    try:
        tokens = TokenStore(engine).list()
    finally:
        engine.dispose()
    if as_json:
        print(json.dumps([t.as_dict() for t in tokens], ensure_ascii=False))
        return
    if not tokens:
        console.print("no tokens; create one with 'glassline token create --role operator'")
        return
    table = Table(title=f"{len(tokens)} token(s), times in UTC", title_justify="left")
    for column in ("id", "label", "role", "created", "expires", "revoked"):
        table.add_column(column, overflow="fold")
    for t in tokens:
        row = t.as_dict()
        table.add_row(
            *(escape("" if row[c] is None else str(row[c]).replace("T", " ").replace("+00:00", "")) for c in row)
        )
    console.print(table)


@token_app.command("revoke")
def token_revoke(
    token_id: Annotated[str, typer.Argument(metavar="ID", help="The token's id (glassline token list).")],
    db: DbOption = None,
    home: HomeOption = None,
) -> None:
    """Revoke a token: every service on the database refuses it within a second."""
    from glassline.audit import ROLE_CACHE_SECONDS, AuditLog, TokenStore, connect
    from glassline.exceptions import SpecError
    from glassline.registry import database_url
    from glassline.registry._publish import default_actor

    if not token_id.strip().isdigit():
        raise SpecError(
            f"ID: expected a token id, a whole number such as 3 (see 'glassline token list'), got {token_id!r}"
        )
    number = int(token_id)
    engine = connect(database_url(home, db))
    try:
        store = TokenStore(engine)
        before = {t.id: t for t in store.list()}.get(number)
        info = store.revoke(number)
        if before is not None and before.revoked is None:
            AuditLog(engine).append(
                "token_revoked", default_actor(), {"id": info.id, "role": info.role.value, "label": info.label}
            )
    finally:
        engine.dispose()
    when = info.revoked.isoformat(timespec="seconds") if info.revoked else ""
    already = before is not None and before.revoked is not None
    console.print(
        f"token {info.id} ({info.role.value}{f', {info.label}' if info.label else ''}) "
        + (
            f"was already revoked at {when}"
            if already
            else f"revoked at {when}; refused everywhere within {ROLE_CACHE_SECONDS:g} s"
        ),
        highlight=False,
    )


@audit_app.command("verify")
def audit_verify(
    anchor: Annotated[
        Path | None,
        typer.Option(
            "--anchor",
            help="An anchor file ('glassline audit anchor'): also fail when records at or before it are missing "
            "or changed. Signed anchors are checked with $GLASSLINE_AUDIT_KEY.",
        ),
    ] = None,
    db: DbOption = None,
    home: HomeOption = None,
) -> None:
    """Check the audit log's hash chain; exit 1 and name the first broken record if it is broken."""
    from glassline.audit import AuditLog, connect, read_anchor, verify_chain
    from glassline.exceptions import StoreError
    from glassline.registry import database_url

    against = None if anchor is None else read_anchor(anchor)
    engine = connect(database_url(home, db))
    try:
        report = verify_chain(AuditLog(engine), anchor=against)
    finally:
        engine.dispose()
    if not report.ok:
        raise StoreError(str(report) + ("" if anchor is None else f" (anchor {anchor})"))
    console.print(str(report), highlight=False)


@audit_app.command("anchor")
def audit_anchor(
    out: Annotated[
        Path, typer.Option("--out", "-o", help="The anchor file to write (keep it apart from the database).")
    ],
    db: DbOption = None,
    home: HomeOption = None,
) -> None:
    """Verify the chain, then write its head (record number, hash, count, time; an HMAC when $GLASSLINE_AUDIT_KEY
    is set) to a small JSON file, for 'glassline audit verify --anchor FILE' to check later."""
    from glassline.audit import AuditLog, connect, write_anchor
    from glassline.registry import database_url

    engine = connect(database_url(home, db))
    try:
        written = write_anchor(AuditLog(engine), out)
    finally:
        engine.dispose()
    signed = "signed with $GLASSLINE_AUDIT_KEY" if written.hmac else "unsigned: $GLASSLINE_AUDIT_KEY is not set"
    console.print(
        f"anchored record {written.seq} ({written.count} records, {signed}) in {out}; keep it apart from the database",
        highlight=False,
    )


@audit_app.command("show")
def audit_show(
    last: Annotated[int, typer.Option("--last", "-n", min=1, help="How many records (the newest).")] = 20,
    kind: Annotated[
        str | None,
        typer.Option(
            "--kind",
            help="Only this kind: prediction, prediction_refused, override, feedback, stop, start, model_loaded, "
            "model_published, token_created, token_revoked.",
        ),
    ] = None,
    request_id: Annotated[str | None, typer.Option("--request", help="Only the records of one request id.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per record instead of a table.")] = False,
    db: DbOption = None,
    home: HomeOption = None,
) -> None:
    """Show the newest audit records (oldest of them first): who did what, when, for which request."""
    import json

    from rich.markup import escape
    from rich.table import Table

    from glassline.audit import AuditLog, connect
    from glassline.registry import database_url

    engine = connect(database_url(home, db))
    try:
        records = AuditLog(engine).tail(last, kind=kind, request_id=request_id)
    finally:
        engine.dispose()
    if as_json:
        for r in records:
            print(json.dumps({**r.__dict__}, ensure_ascii=False, sort_keys=True))
        return
    if not records:
        console.print(
            "no audit records" + (f" of kind {kind!r}" if kind else "") + (f" for {request_id}" if request_id else "")
        )
        return
    table = Table(title=f"audit log: {len(records)} record(s)", title_justify="left")
    for column in ("seq", "time (UTC)", "kind", "actor", "request", "what"):
        table.add_column(column, overflow="fold")
    for r in records:
        what = _summary(r.kind, r.payload)
        table.add_row(
            str(r.seq),
            r.created_at[:23].replace("T", " "),
            r.kind,
            escape(r.actor),
            (r.request_id or "")[:12],
            escape(what if len(what) <= 160 else what[:157] + "…"),
        )
    console.print(table)


def _summary(kind: str, payload: dict[str, Any]) -> str:
    """One line saying what an audit record is about (the whole record: ``audit show --json``)."""
    import json

    p = payload
    model = p.get("model")
    of = (
        f"{model.get('name')} v{model.get('version')}: "
        if isinstance(model, dict) and kind.startswith("prediction")
        else ""
    )
    if kind == "prediction":
        predictions = [f"{v:.4g}" for v in p.get("predictions", []) if isinstance(v, int | float)]
        fallbacks = sorted({str(f) for f in p.get("fallback", []) if f})
        return (
            of
            + f"{len(predictions)} row(s) → {', '.join(predictions[:5])}{' …' if len(predictions) > 5 else ''}"
            + (f" (fallback {', '.join(fallbacks)})" if fallbacks else "")
        )
    if kind == "prediction_refused":
        reason = p.get("reason") or ("outside_domain" if "outside" in p else "non_finite")
        why = {
            "outside_domain": "outside the domain",
            "non_finite": "no finite prediction",
            "invalid_request": "invalid request",
            "stopped": "service stopped",
        }.get(str(reason), str(reason))
        return f"{of}{len(p.get('rows', []))} row(s) refused: {why}"
    if kind in {"model_published", "model_loaded"}:
        alias = f" @{p['alias']}" if p.get("alias") else ""
        what = f" ({p['family']}: {p['target']} / {p['scenario']})" if "family" in p else ""
        extra = f", fallback {p['fallback']}" if "fallback" in p else ""
        return f"{p.get('name')} v{p.get('version')}{alias}{what}{extra}"
    if kind == "override":
        return f"row {p.get('row')} := {p.get('value')} ({p.get('reason')})"
    if kind == "feedback":
        return f"row {p.get('row')} measured {p.get('measured')}"
    if kind in {"stop", "start"}:
        return str(p.get("reason", ""))
    if kind == "token_created":
        until = f", expires {p['expires']}" if p.get("expires") else ""
        which = f" {p['id']}" if "id" in p else ""
        return f"{p.get('role')} token{which}{' for ' + str(p['label']) if p.get('label') else ''}{until}"
    if kind == "token_revoked":
        return f"{p.get('role')} token {p.get('id')} revoked{' (' + str(p['label']) + ')' if p.get('label') else ''}"
    text = json.dumps(p, ensure_ascii=False, sort_keys=True)
    return text if len(text) <= 160 else text[:157] + "…"
