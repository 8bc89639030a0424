"""The dashboards' routes under ``/ui/``: sign-in, the five role pages, partial updates, the audit log.

:func:`create_ui` mounts them on a service app (:func:`glassline.serve.create_app`). Pages are rendered on the
server (Jinja2); htmx swaps the partials (a prediction's waterfall, a suggestion, a what-if curve) and plotly
draws the charts, both served from the package. Every response carries a content security policy that allows
nothing but this origin.
"""

from __future__ import annotations

import logging
import math
import secrets
import threading
import time
from dataclasses import dataclass
from functools import partial
from importlib.resources import files
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

import numpy as np
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, FileSystemLoader, select_autoescape
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from glassline.audit import KINDS, AuditRecord, Role
from glassline.exceptions import StoreError
from glassline.serve import ServedModel
from glassline.serve._schemas import OverrideRequest, StopRequest
from glassline.serve._service import Service
from glassline.ui import _data as data
from glassline.ui._figures import (
    control_charts,
    dependence_figures,
    importance_figure,
    waterfall_figure,
    whatif_figure,
)
from glassline.ui._providers import Providers
from glassline.ui._rights import HOME, PAGES, allowed_pages, may
from glassline.ui._session import COOKIE, LOGIN_COOKIE, Session, Sessions, csrf_ok
from glassline.ui._strings import ENGLISH, text

if TYPE_CHECKING:
    from glassline.report import StudyLever

__all__ = ["UiConfig", "create_ui"]

_LOG = logging.getLogger("glassline.ui")
#: While a page was asked for in the last this many seconds, new records are read in the background ...
REFRESH_IDLE_SECONDS = 30.0
#: ... every this many seconds.
REFRESH_EVERY_SECONDS = 0.5

_PACKAGE = Path(str(files("glassline.ui")))

#: Nothing but this origin: scripts and styles from /ui/static, images as data URIs (plotly), no frames.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


@dataclass(frozen=True)
class UiConfig:
    """How the dashboards behave.

    *results*: the results folder of the study the served models came from (``glassline fit``'s output), for
    the model comparison and the AI-Act evidence map; *alarm_budget*: the monitoring alarms per model and week
    the manager page compares with; *rows*: predictions per model on the operator page; *chart_rows*: rows in
    the control charts and the engineer's figures; *session_seconds*: a session's lifetime; *secure_cookie*:
    send the cookie over HTTPS only (set it behind a TLS proxy); *refresh_seconds*: the charts and figures
    built from many rows (control charts, global explanation, dependence, performance, levers) are built again
    when new records arrived, but at most once in this many seconds (tables and traffic lights are always
    current).
    """

    results: Path | None = None
    alarm_budget: int = 3
    rows: int = 20
    chart_rows: int = 200
    session_seconds: float = 8 * 3600
    secure_cookie: bool = False
    refresh_seconds: float = 5.0


class _Ui:
    """The state the routes share: the service, providers, sessions, templates and caches."""

    def __init__(self, service: Service, providers: Providers, config: UiConfig) -> None:
        self.service = service
        self.providers = providers
        self.config = config
        self.sessions = Sessions(service.audit.engine, lifetime=config.session_seconds)
        self.env = Environment(
            loader=FileSystemLoader(str(_PACKAGE / "templates")),
            autoescape=select_autoescape(["html"]),
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.env.globals.update(t=text, fmt=data.fmt, urlencode=urlencode, kind_words=_kind_words)
        self.chain = data.ChainCache()
        self.recent = data.RecentRows()
        self.feed = data.Feed(service.models, keep=max(config.rows, config.chart_rows))
        self.derived = data.Derived(min_age=config.refresh_seconds)
        self._viewed = -math.inf
        self._refresher: threading.Thread | None = None
        self._refresher_lock = threading.Lock()
        self._reference: dict[str, Any] = {}
        self._evidence: tuple[float, list[dict[str, Any]]] | None = None
        self._levers: dict[str, tuple[float, list[StudyLever] | None]] = {}
        self._comparison: tuple[float, tuple[list[dict[str, Any]], list[str], str]] | None = None

    # ------------------------------------------------------------------ background refresh
    def viewed(self) -> None:
        """A page was asked for: while pages are viewed (one asked for in the last ``REFRESH_IDLE_SECONDS``), a
        background thread reads the new records every ``REFRESH_EVERY_SECONDS`` in small slices, so that a page
        finds its rows, the chain's status and the week's rows already up to date."""
        self._viewed = time.monotonic()
        with self._refresher_lock:
            if self._refresher is None or not self._refresher.is_alive():
                self._refresher = threading.Thread(target=self._refresh, name="glassline-ui-refresh", daemon=True)
                self._refresher.start()

    def _refresh(self) -> None:
        log = self.service.audit
        while time.monotonic() - self._viewed < REFRESH_IDLE_SECONDS:
            time.sleep(REFRESH_EVERY_SECONDS)
            try:
                before = self.feed.seq
                if self.feed.refresh(log) == before:
                    continue  # nothing written: nothing to read
                self.chain.status(log)
                since = data.week_ago()
                for model in self.models.values():
                    self.recent.since(log, model, since)
            except Exception as exc:  # the pages read the same data and show the error; keep trying
                _LOG.warning("dashboard refresh failed: %s", exc)

    # ------------------------------------------------------------------ sessions
    def session(self, request: Request) -> Session | None:
        """The request's live session with its token's current role (None: not signed in, or the token was
        revoked or has expired, which ends the session). Blocking: call from a worker thread."""
        session = self.sessions.get(request.cookies.get(COOKIE))
        if session is None:
            return None
        role = self.sessions.role(session)
        if role is None:
            self.sessions.forget_token(session.token_sha256)
            return None
        if role is not session.role:
            session = session.with_role(role)
            self.sessions.update(session)
        return session

    def render(
        self, name: str, session: Session | None, *, status: int = 200, page: str = "", **context: Any
    ) -> HTMLResponse:
        if name == "error.html" and context.get("partial"):
            name = "partials/error.html"
        template = self.env.get_template(name)
        body = template.render(
            session=session,
            page=page,
            pages=allowed_pages(session.role) if session else [],
            may=(lambda action: may(session.role, action)) if session else (lambda action: False),
            **context,
        )
        return HTMLResponse(body, status_code=status, headers=SECURITY_HEADERS)

    def forbidden(self, session: Session, needed: Role) -> HTMLResponse:
        return self.render(
            "error.html",
            session,
            status=403,
            title=text("forbidden.title"),
            message=text("forbidden.body", needed=needed.value, role=session.role.value),
            home=HOME[session.role],
        )

    def signed_in(self, request: Request) -> Session | Response:
        """The session, else the sign-in redirect (an htmx request gets a 401 with ``HX-Redirect``)."""
        session = self.session(request)
        if session is None:
            target = "/ui/login?" + urlencode(
                {"next": request.url.path, "expired": "1" * bool(request.cookies.get(COOKIE))}
            )
            if request.headers.get("HX-Request"):
                return Response(status_code=401, headers={"HX-Redirect": target})
            return RedirectResponse(target, status_code=303)
        return session

    def gate(self, request: Request, need: str) -> Session | Response:
        """The session when its role may *need* (a page or action), else the sign-in redirect or a 403 page."""
        self.viewed()
        session = self.signed_in(request)
        if not isinstance(session, Session):
            return session
        if not may(session.role, need):
            from glassline.ui._rights import ACTIONS

            return self.forbidden(session, ACTIONS.get(need) or PAGES[need])
        return session

    def checked(self, session: Session, form: dict[str, Any], request: Request) -> Response | None:
        """None when the form (or the htmx header) carries the session's CSRF token, else a 403 page."""
        sent = form.get("csrf") or request.headers.get("X-CSRF-Token")
        if csrf_ok(session.csrf, sent):
            return None
        return self.render("error.html", session, status=403, title=text("csrf.title"), message=text("csrf.body"))

    # ------------------------------------------------------------------ data
    @property
    def models(self) -> dict[str, ServedModel]:
        return self.service.models

    def state(self) -> dict[str, Any]:
        state = self.service.state.fresh()
        return {
            "stopped": state.stopped,
            "words": text("state.stopped") if state.stopped else text("state.running"),
            "by": text("state.stopped_by", actor=state.stopped_by, reason=state.stop_reason) if state.stopped else "",
        }

    def reference(self, model: ServedModel) -> dict[str, Any]:
        """The model's reference rows (its training background) explained once: per quantity its mean and sd."""
        if model.name not in self._reference:
            values = model.bundle.background.loc[:, list(model.inputs)].to_numpy(dtype=float)
            explained = model.explain(values)
            self._reference[model.name] = {
                "n": len(values),
                "inputs": values,
                "prediction": explained.prediction,
                "shap": explained.values,
            }
        return dict(self._reference[model.name])

    @property
    def study_root(self) -> Path | None:
        """The study folder of the results folder (the folder holding ``results/`` and ``explanations/``)."""
        folder = self.config.results
        if folder is None:
            return None
        return folder.parent if (folder / "results.csv").exists() else folder

    def study_levers(self, model: ServedModel) -> list[StudyLever] | None:
        """The study's graded levers of the model's response (claims.csv; read again at most once a minute);
        None without a results folder or claims."""
        root = self.study_root
        if root is None:
            return None
        now = time.monotonic()
        found = self._levers.get(model.name)
        if found is None or now - found[0] > 60:
            from glassline.report import study_levers

            try:
                value = study_levers(root, model.bundle.study, model.bundle.target)
            except (OSError, ValueError, KeyError, LookupError) as exc:
                _LOG.warning("the study's levers of %s could not be read: %s", model.name, exc)
                value = None
            found = (now, value)
            self._levers[model.name] = found
        return found[1]

    def evidence(self) -> list[dict[str, Any]] | None:
        """The AI-Act evidence map of the results folder's study (read again at most once a minute)."""
        root = self.study_root
        if root is None:
            return None
        now = time.monotonic()
        if self._evidence is None or now - self._evidence[0] > 60:
            from glassline.report import evidence_map

            table = evidence_map(root)
            self._evidence = (now, [{str(k): v for k, v in r.items()} for r in table.to_dict("records")])
        return self._evidence[1]

    def comparison(self) -> tuple[list[dict[str, Any]], list[str], str]:
        """The model comparison table (read again at most once a minute)."""
        now = time.monotonic()
        if self._comparison is None or now - self._comparison[0] > 60:
            self._comparison = (now, _comparison(self))
        return self._comparison[1]

    def monitor(self, name: str) -> tuple[dict[str, Any] | None, str]:
        """The newest monitoring report of *name* and a sentence when there is none (off, none yet, failed)."""
        provider = self.providers.monitor_report
        if provider is None:
            return None, text("monitor.off")
        try:
            report = provider(name)
        except Exception as exc:  # a provider's failure is shown on the page, never a traceback
            return None, text("monitor.failed", error=str(exc) or type(exc).__name__)
        if report is None:
            return None, text("monitor.none_yet")
        return report, ""


def _kind_words(kind: str) -> str:
    key = f"alarm.kind.{kind}"
    return text(key) if key in ENGLISH else kind


def _float(value: str | None, field: str) -> float | None:
    if value is None or str(value).strip() == "":
        return None
    try:
        number = float(value)
    except ValueError:
        raise ValueError(text("cf.not_number", field=field, value=value)) from None
    if not math.isfinite(number):
        raise ValueError(text("cf.not_number", field=field, value=value))
    return number


def _int(value: Any, default: int | None = None) -> int | None:
    try:
        return int(str(value))
    except (TypeError, ValueError):
        return default


def create_ui(app: FastAPI, providers: Providers | None = None, *, config: UiConfig | None = None) -> FastAPI:
    """Mount the dashboards at ``/ui/`` on *app*, a service built by :func:`glassline.serve.create_app`.

    Parameters
    ----------
    app
        The service app; its models, tokens and audit log are the dashboards' data.
    providers
        Monitoring and what-if (:class:`Providers`); a page says that a feature is not enabled where its
        provider is None.
    config
        :class:`UiConfig` (results folder, alarm budget, rows shown, session lifetime).

    Returns
    -------
    FastAPI
        *app*, with the routes added.
    """
    service: Service = app.state.service
    ui = _Ui(service, providers or Providers(), config or UiConfig())
    app.mount("/ui/static", StaticFiles(directory=str(_PACKAGE / "static")), name="ui-static")
    app.include_router(_router(ui))
    app.state.ui = ui
    return app


def _router(ui: _Ui) -> APIRouter:
    router = APIRouter(prefix="/ui", include_in_schema=False)
    service = ui.service
    log = service.audit

    # ------------------------------------------------------------------ sign-in
    @router.get("/")
    def home(request: Request) -> Response:
        session = ui.session(request)
        target = f"/ui/{HOME[session.role]}" if session else "/ui/login"
        return RedirectResponse(target, status_code=303)

    @router.get("/login")
    def login_page(request: Request, expired: str = "", out: str = "", next: str = "") -> Response:
        nonce = secrets.token_urlsafe(32)
        notice = text("login.expired") if expired else (text("logged_out") if out else "")
        response = ui.render("login.html", None, login_csrf=nonce, notice=notice, error="", next=next)
        response.set_cookie(
            LOGIN_COOKIE, nonce, httponly=True, samesite="strict", secure=ui.config.secure_cookie, path="/ui"
        )
        return response

    @router.post("/login")
    async def login(request: Request) -> Response:
        form = await request.form()
        nonce = secrets.token_urlsafe(32)
        target = str(form.get("next") or "")

        def again(error: str, status: int) -> Response:
            response = ui.render(
                "login.html", None, status=status, login_csrf=nonce, notice="", error=error, next=target
            )
            response.set_cookie(
                LOGIN_COOKIE, nonce, httponly=True, samesite="strict", secure=ui.config.secure_cookie, path="/ui"
            )
            return response

        if not csrf_ok(request.cookies.get(LOGIN_COOKIE, ""), str(form.get("csrf") or "")):
            return again(text("login.csrf"), 403)
        client = request.client.host if request.client is not None else "unknown"
        wait = service.bad_tokens.retry_after(client)
        if wait is not None:
            return again(text("login.too_many", seconds=wait), 429)
        token = str(form.get("token") or "").strip()
        role = await run_in_threadpool(service.tokens.role_of, token) if token else None
        if role is None:
            service.bad_tokens.failed(client)
            return again(text("login.bad_token"), 401)
        cookie, _session = await run_in_threadpool(ui.sessions.create, token, role)
        landing = target if target.startswith("/ui/") and target.strip("/").split("/")[-1] in PAGES else ""
        if landing and not may(role, landing.strip("/").split("/")[-1]):
            landing = ""
        response = RedirectResponse(landing or f"/ui/{HOME[role]}", status_code=303)
        response.set_cookie(
            COOKIE,
            cookie,
            max_age=int(ui.config.session_seconds),
            httponly=True,
            samesite="strict",
            secure=ui.config.secure_cookie,
            path="/ui",
        )
        response.delete_cookie(LOGIN_COOKIE, path="/ui")
        return response

    @router.post("/logout")
    async def logout(request: Request) -> Response:
        form = await request.form()
        session = await run_in_threadpool(ui.session, request)
        if session is not None:
            refused = ui.checked(session, dict(form), request)
            if refused is not None:
                return refused
            await run_in_threadpool(ui.sessions.drop, session.id)
        response = RedirectResponse("/ui/login?out=1", status_code=303)
        response.delete_cookie(COOKIE, path="/ui")
        return response

    # ------------------------------------------------------------------ operator
    @router.get("/operator")
    def operator(request: Request) -> Response:
        session = ui.gate(request, "operator")
        if not isinstance(session, Session):
            return session
        ui.feed.refresh(log)
        blocks = []
        for model in ui.models.values():
            spec = data.model_spec(model)
            blocks.append(
                {
                    "model": model,
                    "display": model.bundle.study.response(model.bundle.target).label or model.bundle.target,
                    "spec": spec,
                    "spec_words": spec.describe(model.unit),
                    "rows": ui.feed.latest(model.name, ui.config.rows),
                }
            )
        return ui.render("operator.html", session, page="operator", blocks=blocks, state=ui.state())

    @router.get("/partials/waterfall")
    def waterfall(request: Request, seq: int, row: int = 0) -> Response:
        session = ui.gate(request, "operator")
        if not isinstance(session, Session):
            return session
        found = data.one_row(log, ui.models, seq, row, ui.feed)
        if found is None:
            return ui.render(
                "error.html",
                session,
                status=404,
                partial=True,
                title=text("notfound.title"),
                message=text("record.missing", seq=seq, last=data.last_seq(log)),
            )
        return _prediction_panel(ui, session, found)

    @router.post("/override")
    async def override(request: Request) -> Response:
        form = dict(await request.form())
        session = await run_in_threadpool(ui.gate, request, "override")
        if not isinstance(session, Session):
            return session
        refused = ui.checked(session, form, request)
        if refused is not None:
            return refused
        return await run_in_threadpool(_override, ui, session, form)

    @router.post("/partials/counterfactual")
    async def counterfactual(request: Request) -> Response:
        form = await request.form()
        fields = {k: form.getlist(k) if k == "settable" else form.get(k) for k in form}
        session = await run_in_threadpool(ui.gate, request, "counterfactual")
        if not isinstance(session, Session):
            return session
        refused = ui.checked(session, fields, request)
        if refused is not None:
            return refused
        return await run_in_threadpool(_counterfactual, ui, session, fields)

    # ------------------------------------------------------------------ technician
    @router.get("/technician")
    def technician(request: Request, model: str = "") -> Response:
        session = ui.gate(request, "technician")
        if not isinstance(session, Session):
            return session
        alarms = []
        for served in ui.models.values():
            report, note = ui.monitor(served.name)
            unit = served.bundle.study.response(served.bundle.target).unit or ""
            labels = data.names(served)[0]
            alarms.append(
                {
                    "model": served,
                    "report": report,
                    "note": note,
                    "unit": unit,
                    "grades": _grades(report, labels),
                    "labels": labels,
                }
            )
        chosen = ui.models.get(model) or next(iter(ui.models.values()))
        ui.feed.refresh(log)
        rows = list(reversed(ui.feed.latest(chosen.name, ui.config.chart_rows)))
        charts, n_rows = ui.derived.get(
            "charts",
            chosen.name,
            ui.feed.version(chosen.name)[0],
            lambda: (control_charts(chosen, rows, ui.reference(chosen)), len(rows)),
        )
        return ui.render(
            "technician.html",
            session,
            page="technician",
            alarms=alarms,
            chosen=chosen,
            charts=charts,
            n_rows=n_rows,
            reference_n=ui.reference(chosen)["n"],
            chain=ui.chain.status(log),
            state=ui.state(),
        )

    @router.get("/window")
    def window(request: Request, model: str, first: int, last: int) -> Response:
        session = ui.gate(request, "technician")
        if not isinstance(session, Session):
            return session
        served = ui.models.get(model)
        if served is None or first > last:
            return ui.render(
                "error.html",
                session,
                status=404,
                title=text("notfound.title"),
                message=f"no served model {model!r} or an empty window {first}–{last}",
            )
        rows = list(reversed(data.rows_between(log, served, first, last)))
        return ui.render(
            "window.html",
            session,
            page="technician",
            model=served,
            rows=rows,
            first=first,
            last=last,
            spec_words=data.model_spec(served).describe(served.unit),
        )

    # ------------------------------------------------------------------ engineer
    @router.get("/engineer")
    def engineer(request: Request, model: str = "", done: str = "") -> Response:
        session = ui.gate(request, "engineer")
        if not isinstance(session, Session):
            return session
        return _engineer(ui, session, model, done)

    @router.get("/partials/whatif")
    def whatif(request: Request, model: str, seq: int, row: int = 0, factor: str = "") -> Response:
        session = ui.gate(request, "whatif")
        if not isinstance(session, Session):
            return session
        served = ui.models.get(model)
        found = data.one_row(log, ui.models, seq, row, ui.feed)
        if served is None or found is None or found.model != served.name or factor not in served.inputs:
            return ui.render(
                "error.html",
                session,
                status=404,
                partial=True,
                title=text("notfound.title"),
                message=f"no prediction row {seq}/{row} of model {model!r} with an input {factor!r}",
            )
        figure = whatif_figure(served, found, factor)
        return ui.render("partials/whatif_curve.html", session, figure=figure, model=served, found=found, factor=factor)

    @router.post("/stop")
    async def stop(request: Request) -> Response:
        return await _oversight(ui, request, "stop")

    @router.post("/start")
    async def start(request: Request) -> Response:
        return await _oversight(ui, request, "start")

    # ------------------------------------------------------------------ manager
    @router.get("/manager")
    def manager(request: Request) -> Response:
        session = ui.gate(request, "manager")
        if not isinstance(session, Session):
            return session
        return _manager(ui, session)

    # ------------------------------------------------------------------ quality
    @router.get("/quality")
    def quality(request: Request, kind: str = "", model: str = "", before: str = "") -> Response:
        session = ui.gate(request, "quality")
        if not isinstance(session, Session):
            return session
        return _quality(ui, session, kind, model, _int(before))

    @router.get("/audit.csv")
    def audit_csv(request: Request, kind: str = "", model: str = "") -> Response:
        session = ui.gate(request, "audit_log")
        if not isinstance(session, Session):
            return session
        refused = _unknown_kind(ui, session, kind)
        if refused is not None:
            return refused
        chunks = data.audit_csv(log, kind=kind or None, model=model or None)
        return StreamingResponse(
            chunks,
            media_type="text/csv; charset=utf-8",
            headers={**SECURITY_HEADERS, "Content-Disposition": 'attachment; filename="glassline-audit.csv"'},
        )

    @router.get("/partials/verify")
    def verify(request: Request) -> Response:
        session = ui.gate(request, "audit_log")
        if not isinstance(session, Session):
            return session
        status = data.chain_status(log)
        return ui.render("partials/chain.html", session, chain=status)

    @router.get("/audit/request/{request_id}")
    def by_request(request: Request, request_id: str) -> Response:
        session = ui.signed_in(request)
        if not isinstance(session, Session):
            return session
        record = data.record_for_request(log, request_id)
        if record is None:
            return ui.render(
                "error.html",
                session,
                status=404,
                title=text("notfound.title"),
                message=text("record.request_missing", request_id=request_id),
            )
        return RedirectResponse(f"/ui/audit/{record.seq}", status_code=303)

    @router.get("/audit/{seq}")
    def record(request: Request, seq: int) -> Response:
        session = ui.signed_in(request)
        if not isinstance(session, Session):
            return session
        found = data.get_record(log, seq)
        if found is None:
            return ui.render(
                "error.html",
                session,
                status=404,
                title=text("notfound.title"),
                message=text("record.missing", seq=seq, last=data.last_seq(log)),
            )
        ok, words = data.record_check(log, found)
        return ui.render(
            "record.html",
            session,
            record=found,
            ok=ok,
            words=words,
            payload=data.pretty(found.payload),
            last=data.last_seq(log),
        )

    return router


# ---------------------------------------------------------------------- route bodies
def _prediction_panel(
    ui: _Ui, session: Session, found: data.PredictionRow, *, status: int = 200, **extra: Any
) -> HTMLResponse:
    model = ui.models[found.model]
    spec = data.model_spec(model)
    level = model.bundle.interval.get("level")
    return ui.render(
        "partials/prediction.html",
        session,
        status=status,
        row=found,
        model=model,
        spec=spec,
        figure=waterfall_figure(model, found),
        level=f"{float(level):.0%}" if isinstance(level, int | float) else "",
        cf_enabled=ui.providers.counterfactual is not None,
        **extra,
    )


def _override(ui: _Ui, session: Session, form: dict[str, Any]) -> Response:
    seq, row = _int(form.get("seq")), _int(form.get("row"), 0)
    found = data.one_row(ui.service.audit, ui.models, seq or 0, row or 0, ui.feed)
    if found is None:
        return ui.render(
            "error.html",
            session,
            status=404,
            partial=True,
            title=text("notfound.title"),
            message=text("record.missing", seq=seq, last=data.last_seq(ui.service.audit)),
        )
    try:
        value = _float(str(form.get("value", "")), "value")
        body = OverrideRequest(
            request_id=found.request_id, row=found.row, value=value, reason=str(form.get("reason", "")).strip()
        )
    except (ValueError, ValidationError) as exc:
        message = _validation_words(exc)
        return _prediction_panel(ui, session, found, override_error=message, status=422)
    record = _override_record(ui, session, body)
    found = data.one_row(ui.service.audit, ui.models, found.seq, found.row, ui.feed) or found
    return _prediction_panel(ui, session, found, override_done=text("override.done", seq=record.seq))


def _override_record(ui: _Ui, session: Session, body: OverrideRequest) -> AuditRecord:
    """The API's override path (``POST /v1/override``): the record names the prediction's model."""
    audit = ui.service.audit
    prediction = audit.find(body.request_id)
    model = prediction.payload.get("model", {}) if prediction is not None else {}
    record = audit.append("override", session.actor, {**body.model_dump(), "model": model}, body.request_id)
    ui.service.metrics.inc("overrides_total", model=str(model.get("name", "")))
    return record


def _validation_words(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
    return str(exc)


def _counterfactual(ui: _Ui, session: Session, form: dict[str, Any]) -> Response:
    provider = ui.providers.counterfactual
    if provider is None:
        return ui.render("partials/counterfactual.html", session, error=text("whatif.off"), result=None)
    found = data.one_row(
        ui.service.audit, ui.models, _int(form.get("seq"), 0) or 0, _int(form.get("row"), 0) or 0, ui.feed
    )
    if found is None:
        return ui.render(
            "partials/counterfactual.html",
            session,
            status=404,
            result=None,
            error=text("record.missing", seq=form.get("seq"), last=data.last_seq(ui.service.audit)),
        )
    model = ui.models[found.model]
    try:
        low = _float(form.get("min"), "min")
        high = _float(form.get("max"), "max")
    except ValueError as exc:
        return ui.render("partials/counterfactual.html", session, status=422, error=str(exc), result=None)
    if low is None and high is None:
        return ui.render("partials/counterfactual.html", session, status=422, error=text("cf.need_bound"), result=None)
    require = {k: v for k, v in (("min", low), ("max", high)) if v is not None}
    settable = [s for s in (form.get("settable") or []) if s in model.inputs] or list(model.bundle.study.factor_names)
    settable = [s for s in settable if s in model.inputs]
    request = {
        "row": dict(zip(found.inputs, found.values, strict=True)),
        "require": require,
        "settable": settable,
        "weights": {},
        "interval": str(form.get("interval", "")) in ("1", "on", "true"),
    }
    try:
        answer = provider(model.name, request, session.actor)
    except Exception as exc:  # the provider's failure, named on the page
        return ui.render(
            "partials/counterfactual.html",
            session,
            status=502,
            result=None,
            error=text("whatif.failed", error=str(exc) or type(exc).__name__),
        )
    columns = {c.name: c for c in model.bundle.study.columns()}
    changes = []
    for name, change in (answer.get("changes") or {}).items():
        unit = str(change.get("unit") or (columns[name].unit if name in columns else ""))
        label = (columns[name].label or name) if name in columns else name
        changes.append(
            {"input": label, "from": data.fmt(change.get("from"), unit), "to": data.fmt(change.get("to"), unit)}
        )
    interval = answer.get("interval") or [None, None]
    return ui.render(
        "partials/counterfactual.html",
        session,
        error="",
        result=answer,
        changes=changes,
        prediction=data.fmt(answer.get("prediction"), model.unit),
        low=data.fmt(interval[0], model.unit),
        high=data.fmt(interval[1], model.unit),
        distance=data.fmt(answer.get("distance")),
        request=request,
    )


async def _oversight(ui: _Ui, request: Request, kind: str) -> Response:
    form = dict(await request.form())
    session = await run_in_threadpool(ui.gate, request, "stop")
    if not isinstance(session, Session):
        return session
    refused = ui.checked(session, form, request)
    if refused is not None:
        return refused
    try:
        body = StopRequest(reason=str(form.get("reason", "")).strip())
    except ValidationError as exc:
        return await run_in_threadpool(_engineer, ui, session, "", "", _validation_words(exc), 422)

    def write() -> int:
        """The API's stop/start path (``POST /v1/stop``, ``/v1/start``): a record naming every served model."""
        models = [m.as_dict() for m in ui.service.ids]
        record = ui.service.audit.append(kind, session.actor, {**body.model_dump(), "models": models})
        ui.service.state.apply(record)
        return record.seq

    try:
        seq = await run_in_threadpool(write)
    except StoreError as exc:
        return await run_in_threadpool(_engineer, ui, session, "", "", str(exc), 503)
    return RedirectResponse("/ui/engineer?" + urlencode({"done": f"{kind}:{seq}"}), status_code=303)


def _comparison(ui: _Ui) -> tuple[list[dict[str, Any]], list[str], str]:
    """The model comparison: the study's results table when a results folder is given, else the served
    models' own figures."""
    folder = ui.config.results
    targets = {m.bundle.target for m in ui.models.values()}
    if folder is not None and (folder / "results.csv").exists():
        import pandas as pd

        table = pd.read_csv(folder / "results.csv")
        if "target" in table.columns:
            table = table[table["target"].isin(targets)]
        columns = [c for c in table.columns if not str(c).startswith("Unnamed")][:12]
        rows = [{c: _cell(r[c]) for c in columns} for _, r in table.iterrows()]
        return rows, columns, text("comparison.from_study", file=f"{folder.name}/results.csv")
    rows = []
    columns = ["model", "version", "family", "scenario"]
    for model in ui.models.values():
        metrics = {k: _cell(v) for k, v in model.bundle.metrics.items() if isinstance(v, int | float)}
        rows.append(
            {
                "model": model.name,
                "version": model.version,
                "family": model.bundle.family,
                "scenario": model.bundle.scenario,
                **metrics,
            }
        )
        columns += [k for k in metrics if k not in columns]
    return rows, columns[:12], text("comparison.from_bundle")


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return data.fmt(value)
    return "" if value is None else str(value)


def _engineer(ui: _Ui, session: Session, model: str, done: str, error: str = "", status: int = 200) -> HTMLResponse:
    log = ui.service.audit
    chosen = ui.models.get(model) or next(iter(ui.models.values()))
    ui.feed.refresh(log)
    rows = list(reversed(ui.feed.latest(chosen.name, ui.config.chart_rows)))
    comparison, columns, source = ui.comparison()
    version = ui.feed.version(chosen.name)

    def figures() -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
        return importance_figure(chosen, rows), dependence_figures(chosen, rows)

    enough = len(rows) >= 10  # too few rows: no figure (and nothing cached, so the next row counts at once)
    importance, dependence = ui.derived.get("engineer", chosen.name, version[0], figures) if enough else (None, [])
    performance = ui.derived.get("performance", chosen.name, version[1], lambda: _performance(ui, chosen))
    report, note = ui.monitor(chosen.name)
    done_words = ""
    if done and ":" in done:
        kind, seq = done.split(":", 1)
        done_words = text("oversight.done", kind=kind.capitalize(), seq=seq)
    return ui.render(
        "engineer.html",
        session,
        status=status,
        page="engineer",
        chosen=chosen,
        models_list=list(ui.models.values()),
        state=ui.state(),
        comparison=comparison,
        columns=columns,
        comparison_source=source,
        importance=importance,
        dependence=dependence,
        rows=rows,
        base=rows[-1] if rows else None,
        performance=performance,
        report=report,
        monitor_note=note,
        retraining=_retraining(report),
        cf_enabled=ui.providers.counterfactual is not None,
        spec=data.model_spec(chosen),
        done=done_words,
        error=error,
    )


def _performance(ui: _Ui, model: ServedModel) -> dict[str, Any] | None:
    """Residuals and interval coverage over the newest 200 measured values (feedback) of *model*."""
    log = ui.service.audit
    feedback = ui.feed.feedback(model.name)
    predictions = data.predictions_of(log, [str(r.payload.get("request_id")) for r in feedback])
    pairs = []
    for record in feedback:
        p = record.payload
        prediction = predictions.get(str(p.get("request_id")))
        if prediction is None:
            continue
        row = int(p.get("row", 0))
        predicted = data._number(data._at(prediction.payload.get("predictions"), row))
        interval = data._at(prediction.payload.get("intervals"), row) or [None, None]
        measured = data._number(p.get("measured"))
        if math.isfinite(predicted) and math.isfinite(measured):
            pairs.append((measured, predicted, data._number(interval[0]), data._number(interval[1])))
    if not pairs:
        return None
    table = np.array(pairs, dtype=float)
    error = table[:, 0] - table[:, 1]
    covered = int(np.sum((table[:, 0] >= table[:, 2]) & (table[:, 0] <= table[:, 3])))
    return {
        "words": text(
            "performance.figures",
            n=len(pairs),
            mae=data.fmt(float(np.mean(np.abs(error)))),
            bias=data.fmt(float(np.mean(error))),
            unit=model.unit,
            covered=covered,
            share=f"{covered / len(pairs):.0%}",
        ),
        "first": feedback[0].seq,
        "last": feedback[-1].seq,
    }


def _retraining(report: dict[str, Any] | None) -> str:
    if report is None:
        return ""
    verdict = report.get("retraining")
    if isinstance(verdict, dict) and "retrain" in verdict:
        key = "retraining.yes" if verdict.get("retrain") else "retraining.no"
        return text(key, why=verdict.get("why", ""), since=verdict.get("since", ""))
    kinds = [str(a.get("kind")) for a in report.get("alarms", []) if a.get("kind") in ("performance", "coverage")]
    return text("retraining.none", alarms=", ".join(kinds) or "none")


def _manager(ui: _Ui, session: Session) -> HTMLResponse:
    log = ui.service.audit
    since = data.week_ago()
    alarms = data.kinds_since(log, "monitor_alarm", since)
    blocks = []
    for model in ui.models.values():
        spec = data.model_spec(model)
        rows = list(reversed(ui.recent.since(log, model, since)))
        n = len(rows)
        in_spec = sum(r.light in ("in", "risk") for r in rows)
        sure = sum(r.light == "in" for r in rows)
        lo, hi = data.wilson(in_spec, n)
        own = [a for a in alarms if model.name in {m.name for m in a.models}]
        display = model.bundle.study.response(model.bundle.target).label or model.bundle.target
        blocks.append(
            {
                "model": model,
                "display": display,
                "spec": spec,
                "n": n,
                "first": rows[-1].seq if rows else None,
                "last": rows[0].seq if rows else None,
                "share": (
                    text(
                        "manager.share",
                        share=f"{in_spec / n:.0%}",
                        n=n,
                        low=f"{lo:.0%}",
                        high=f"{hi:.0%}",
                        sure=f"{sure / n:.0%}",
                    )
                    if n and spec.defined
                    else (text("manager.share.none") if not n else text("spec.none"))
                ),
                "alarms": own,
                "over": len(own) > ui.config.alarm_budget,
                "study_levers": (graded := ui.study_levers(model)),
                "lead": _lead_note(model, graded),
                "levers": ui.derived.get(
                    "levers",
                    model.name,
                    (n, rows[0].seq if rows else 0),
                    partial(_levers, model, rows, display),
                ),
            }
        )
    return ui.render(
        "manager.html",
        session,
        page="manager",
        blocks=blocks,
        state=ui.state(),
        budget=ui.config.alarm_budget,
        monitoring=ui.providers.monitor_report is not None or bool(alarms),
        claims_file=f"{ui.study_root.name}/explanations/claims.csv" if ui.study_root is not None else "",
    )


def _grades(report: dict[str, Any] | None, labels: dict[str, str]) -> list[str]:
    """Each alarm's root-cause grade in words, the candidate inputs by their study labels ("" for no grade)."""
    said = []
    for alarm in (report or {}).get("alarms", []):
        grade = alarm.get("root_cause_grade")
        if grade not in ("stated", "hedged"):
            said.append("")
            continue
        named = [labels.get(str(c), str(c)) for c in alarm.get("candidates") or []]
        said.append(text(f"alarm.grade.{grade}", inputs=", ".join(named) or "none"))
    return said


def _lead_note(model: ServedModel, levers: list[StudyLever] | None) -> str:
    """Which model the study's levers are about, when it is not the served one."""
    if not levers:
        return ""
    lead = (levers[0].scenario, levers[0].family)
    served = (str(model.bundle.scenario), str(model.bundle.family))
    if lead == served:
        return ""
    return text("manager.levers.lead", family=lead[1], scenario=lead[0], served=served[1])


def _levers(model: ServedModel, rows: list[data.PredictionRow], target: str) -> list[str]:
    """The three inputs the prediction moves with most on these rows, in words with the direction the data
    show (a clear sign of the value–attribution correlation), else 'depends on the other settings'."""
    if len(rows) < 10:
        return []
    rows = rows[:5000]  # the newest 5,000 rows of the week bound the cost of the bootstrap
    shap = np.array([r.attributions for r in rows], dtype=float)
    values = np.array([r.values for r in rows], dtype=float)
    mean, low, high = data.bootstrap_importance(shap)
    order = np.argsort(-mean)
    columns = {c.name: c for c in model.bundle.study.columns()}
    said = []
    for k in order[:3]:
        name = model.inputs[k] if k < len(model.inputs) else rows[0].inputs[k]
        label = (columns[name].label or name) if name in columns else name
        size = data.fmt(float(mean[k]), model.unit)
        spread = np.std(values[:, k])
        corr = float(np.corrcoef(values[:, k], shap[:, k])[0, 1]) if spread > 0 else math.nan
        key = "manager.lever.mixed"
        if math.isfinite(corr) and abs(corr) >= 0.5:
            key = "manager.lever.up" if corr > 0 else "manager.lever.down"
        said.append(text(key, input=label, target=target.lower(), size=size))
    if len(order) > 1 and low[order[0]] <= high[order[1]]:
        said.append(text("manager.lever.tied"))
    return said


def _unknown_kind(ui: _Ui, session: Session, kind: str) -> HTMLResponse | None:
    """The 400 page for an audit-log filter naming a kind the log does not have (None for a known or no kind)."""
    if not kind or kind in KINDS:
        return None
    return ui.render(
        "error.html",
        session,
        status=400,
        title=text("filter.title"),
        message=text("filter.kind", kind=kind, kinds=", ".join(sorted(KINDS))),
        home="/ui/quality",
    )


def _quality(ui: _Ui, session: Session, kind: str, model: str, before: int | None) -> HTMLResponse:
    log = ui.service.audit
    refused = _unknown_kind(ui, session, kind)
    if refused is not None:
        return refused
    if before is not None and before < 1:
        before = None
    records, older = data.audit_page(log, kind=kind or None, model=model or None, before=before)
    evidence = ui.evidence()
    handovers: dict[str, str | None] = {}
    if ui.providers.handover is not None:
        for name in ui.models:
            try:
                handovers[name] = ui.providers.handover(name)
            except Exception as exc:  # shown on the page
                handovers[name] = text("monitor.failed", error=str(exc) or type(exc).__name__)
    kinds = sorted(KINDS)
    filters = {k: v for k, v in (("kind", kind), ("model", model)) if v}
    return ui.render(
        "quality.html",
        session,
        page="quality",
        models=list(ui.models.values()),
        records=records,
        older=older,
        before=before,
        kinds=kinds,
        kind=kind,
        model_filter=model,
        filters=filters,
        evidence=evidence,
        results=ui.config.results,
        handover_enabled=ui.providers.handover is not None,
        handovers=handovers,
        chain=ui.chain.status(log),
        model_names=data._model_name,
    )
