"""The dashboards over HTTP without a browser: sign-in, sessions, CSRF, roles, every page, the audit log."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from ui_helpers import Served, serving

from glassline.audit import Role
from glassline.ui import PAGES, may

CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def sign_in(served: Served, role: str) -> httpx.Client:  # the caller closes it
    """A client with a session cookie of *role* (through the sign-in form, as a browser does)."""
    client = httpx.Client(base_url=served.url, timeout=30, follow_redirects=False)
    page = client.get("/ui/login")
    token = CSRF.search(page.text)
    assert token is not None
    answer = client.post("/ui/login", data={"token": served.tokens[role], "csrf": token.group(1)})
    assert answer.status_code == 303, answer.text
    return client


@contextmanager
def signed(served: Served, role: str) -> Iterator[httpx.Client]:
    client = sign_in(served, role)
    try:
        yield client
    finally:
        client.close()


def csrf_of(client: httpx.Client, path: str) -> str:
    found = CSRF.search(client.get(path).text)
    assert found is not None
    return found.group(1)


@pytest.mark.parametrize("role", [r.value for r in Role])
def test_every_page_for_every_role(served: Served, role: str) -> None:
    with signed(served, role) as client:
        _every_page(client, role)


def _every_page(client: httpx.Client, role: str) -> None:
    for page, needed in PAGES.items():
        answer = client.get(f"/ui/{page}")
        if Role(role).allows(needed):
            assert answer.status_code == 200, (role, page, answer.text[:2000])
            assert "Content-Security-Policy" in answer.headers
        else:
            assert answer.status_code == 403, (role, page)
            assert f"needs the role {needed.value}" in answer.text
            assert "Traceback" not in answer.text


def test_sign_in_needs_a_known_token_and_the_form_check(served: Served) -> None:
    with httpx.Client(base_url=served.url, timeout=30) as client:
        token = csrf_of(client, "/ui/login")
        bad = client.post("/ui/login", data={"token": "gl_not-a-token", "csrf": token})
        assert bad.status_code == 401
        assert "unknown, revoked or expired" in bad.text
        token = csrf_of(client, "/ui/login")
        forged = client.post("/ui/login", data={"token": served.tokens["operator"], "csrf": "forged"})
        assert forged.status_code == 403
    with httpx.Client(base_url=served.url, timeout=30) as anonymous:
        answer = anonymous.get("/ui/operator")
        assert answer.status_code == 303
        assert answer.headers["location"].startswith("/ui/login")


def test_session_cookie_is_httponly_strict_and_signed(served: Served) -> None:
    with httpx.Client(base_url=served.url, timeout=30) as client:
        token = csrf_of(client, "/ui/login")
        answer = client.post("/ui/login", data={"token": served.tokens["engineer"], "csrf": token})
        cookie = answer.headers["set-cookie"]
        assert "HttpOnly" in cookie
        assert "SameSite=strict" in cookie
        assert "Max-Age=" in cookie
        assert served.tokens["engineer"] not in cookie
        value = client.cookies["glassline_session"]
        client.cookies.set("glassline_session", value[:-4] + "0000", path="/ui")
        assert client.get("/ui/engineer").status_code == 303  # a forged signature is no session


def test_forms_need_the_session_csrf_token(served: Served) -> None:
    with signed(served, "engineer") as client:
        refused = client.post("/ui/stop", data={"reason": "test", "csrf": "wrong"})
        assert refused.status_code == 403
        assert "check token" in refused.text
        assert "stopped" not in client.get("/ui/engineer").text.split("The service is")[1][:20]


def test_stop_and_start_with_a_reason_through_the_audited_path(served: Served) -> None:
    with signed(served, "engineer") as client, served.client("operator") as api:
        csrf = csrf_of(client, "/ui/engineer")
        missing = client.post("/ui/stop", data={"reason": "", "csrf": csrf})
        assert missing.status_code == 422
        stopped = client.post("/ui/stop", data={"reason": "dryer maintenance", "csrf": csrf})
        assert stopped.status_code == 303
        name = next(iter(served.models))
        assert (
            api.post(f"/v1/models/{name}/predict", json={"rows": [{"x1": 0.5, "x2": 0.5, "x3": 0.5}]}).status_code
            == 503
        )
        page = client.get("/ui/engineer").text
        assert "dryer maintenance" in page
        seq = int(stopped.headers["location"].split("stop%3A")[1])
        record = client.get(f"/ui/audit/{seq}").text
        assert "engineer:" in record
        assert "dryer maintenance" in record
        assert "Verified" in record
        started = client.post("/ui/start", data={"reason": "maintenance done", "csrf": csrf})
        assert started.status_code == 303
        assert (
            api.post(f"/v1/models/{name}/predict", json={"rows": [{"x1": 0.5, "x2": 0.5, "x3": 0.5}]}).status_code
            == 200
        )
    with signed(served, "operator") as operator:
        csrf = csrf_of(operator, "/ui/operator")
        assert operator.post("/ui/stop", data={"reason": "x", "csrf": csrf}).status_code == 403


def test_override_and_counterfactual_partials(served: Served) -> None:
    with signed(served, "operator") as client:
        page = client.get("/ui/operator").text
        seq, row = re.search(r'data-testid="prediction-row" data-seq="(\d+)" data-row="(\d+)"', page).groups()
        panel = client.get(f"/ui/partials/waterfall?seq={seq}&row={row}")
        assert panel.status_code == 200
        assert 'data-testid="waterfall"' in panel.text
        csrf = csrf_of(client, "/ui/operator")
        bad = client.post("/ui/override", data={"seq": seq, "row": row, "value": "abc", "reason": "x", "csrf": csrf})
        assert bad.status_code == 422
        assert "value: expected a number" in bad.text
        done = client.post(
            "/ui/override", data={"seq": seq, "row": row, "value": "2.0", "reason": "lab says so", "csrf": csrf}
        )
        assert done.status_code == 200
        assert "Override recorded as audit record" in done.text
        answer = client.post("/ui/partials/counterfactual", data={"seq": seq, "row": row, "min": "1.0", "csrf": csrf})
        assert answer.status_code == 200, answer.text
        assert 'data-testid="whatif-result"' in answer.text
        _name, request = served.calls[-1]
        assert set(request) == {"row", "require", "settable", "weights", "interval"}
        assert request["require"] == {"min": 1.0}
        none = client.post("/ui/partials/counterfactual", data={"seq": seq, "row": row, "csrf": csrf})
        assert none.status_code == 422
        assert "at least one bound" in none.text


def test_whatif_curve_and_unknown_rows(served: Served) -> None:
    with signed(served, "engineer") as client:
        name = next(iter(served.models))
        page = client.get(f"/ui/engineer?model={name}").text
        seq = re.search(r'name="seq" value="(\d+)"', page).group(1)
        curve = client.get(f"/ui/partials/whatif?model={name}&seq={seq}&row=0&factor=x1")
        assert curve.status_code == 200
        assert "whatif-curve" in curve.text
        missing = client.get(f"/ui/partials/whatif?model={name}&seq={seq}&row=0&factor=nope")
        assert missing.status_code == 404
        assert client.get("/ui/audit/999999").status_code == 404


def test_audit_log_pages_export_and_verify(served: Served) -> None:
    with signed(served, "quality") as client:
        page = client.get("/ui/quality")
        assert page.status_code == 200
        assert "Audit chain OK" in page.text
        older = re.search(r'href="/ui/quality\?before=(\d+)"', page.text)
        assert older is not None, "more than one page of records"
        second = client.get(f"/ui/quality?before={older.group(1)}").text
        seqs = [int(s) for s in re.findall(r'<td><a href="/ui/audit/(\d+)">', second)]
        assert seqs
        assert max(seqs) < int(older.group(1))
        exported = client.get("/ui/audit.csv?kind=prediction")
        assert exported.status_code == 200
        assert exported.headers["content-type"].startswith("text/csv")
        rows = list(csv.DictReader(io.StringIO(exported.text)))
        assert rows
        assert {r["kind"] for r in rows} == {"prediction"}
        assert client.get("/ui/partials/verify").text.count("Audit chain OK") == 1
        record = client.get(f"/ui/audit/{rows[0]['seq']}").text
        assert "Verified: its hash matches its content" in record
        model = next(iter(served.models))
        filtered = list(csv.DictReader(io.StringIO(client.get(f"/ui/audit.csv?model={model}").text)))
        assert filtered
        assert all(model in r["model"].split(", ") for r in filtered)
        for path in ("/ui/quality?kind=predicton", "/ui/audit.csv?kind=predicton"):
            bad = client.get(path)
            assert bad.status_code == 400, path
            assert "There is no record kind &#39;predicton&#39;" in bad.text
            assert "prediction_refused" in bad.text
        assert client.get("/ui/quality?before=0").status_code == 200
        assert client.get("/ui/quality?before=-3").status_code == 200
    with signed(served, "operator") as operator:
        assert operator.get("/ui/audit.csv").status_code == 403


def test_the_manager_reads_the_study_s_graded_levers(served: Served) -> None:
    """The study's levers come from claims.csv with their confidence words; a lever the data cannot assess
    is left out; the levers of this week's predictions follow under their own heading."""
    with signed(served, "manager") as client:
        page = client.get("/ui/manager").text
    assert page.count('data-testid="study-levers"') == len(served.models)
    block = page[page.index('data-testid="study-levers"') :]
    block = block[: block.index("</ul>")]
    assert "Raising <strong>x1</strong> raises signal by" in block
    assert '<span class="word clear">clear</span>' in block
    assert '<span class="word about-equal">about equal</span>' in block
    assert "<strong>x3</strong>" not in block
    assert "What moves this week" in page
    assert "study/explanations/claims.csv" in page  # the artefact the levers came from
    assert "the served model is xgb" in page  # the claims are about the study's lead (mlr)
    assert page.count("the served model is") == len(served.models) - 1  # not for the mlr model


def test_a_revoked_token_ends_its_sessions(served: Served) -> None:
    from glassline.audit import TokenStore, connect

    engine = connect(served.db_url)
    store = TokenStore(engine)
    issued = store.issue(Role.manager, "revoke me")
    with httpx.Client(base_url=served.url, timeout=30) as client:
        token = csrf_of(client, "/ui/login")
        client.post("/ui/login", data={"token": issued.token, "csrf": token})
        assert client.get("/ui/manager").status_code == 200
        store.revoke(issued.id)
        import time

        time.sleep(0.6)  # ROLE_CACHE_SECONDS
        assert client.get("/ui/manager").status_code == 303
    engine.dispose()


def test_roles_keep_the_api_rules() -> None:
    assert Role.operator.allows(Role.operator)
    assert not Role.operator.allows(Role.engineer)
    assert Role.engineer.allows(Role.operator)
    assert not Role.engineer.allows(Role.admin)
    assert Role.technician.allows(Role.operator)
    assert not Role.technician.allows(Role.engineer)
    assert not Role.manager.allows(Role.operator)
    assert not Role.quality.allows(Role.operator)
    assert all(Role.admin.allows(r) for r in Role)
    assert may(Role.operator, "counterfactual")
    assert not may(Role.operator, "stop")
    assert may(Role.quality, "audit_log")
    assert not may(Role.manager, "audit_log")


def test_the_catalogue_has_every_key_in_every_language() -> None:
    from string import Formatter

    from glassline.ui import CATALOGUES

    english = CATALOGUES["en"]
    for language, catalogue in CATALOGUES.items():
        assert set(catalogue) == set(english), language
        for key, value in catalogue.items():
            fields = {f for _, f, _, _ in Formatter().parse(value) if f}
            assert fields == {f for _, f, _, _ in Formatter().parse(english[key]) if f}, (language, key)


def test_glassline_serve_wires_the_real_counterfactual_path(ui_models: list, tmp_path) -> None:  # type: ignore[type-arg]
    """`glassline serve`'s what-if provider answers through the service's counterfactual path: issue 17's shape,
    one `counterfactual` audit record naming the page's user; a bad request is one named error."""
    from glassline.audit import AuditLog, connect
    from glassline.cli._serve import _providers
    from glassline.serve import Fallback, ServedModel, ServiceConfig, create_app

    db_url = f"sqlite:///{(tmp_path / 'glassline.db').as_posix()}"
    served_models = [ServedModel(m) for m in ui_models]
    app = create_app(served_models, ServiceConfig(db_url=db_url, fallback=Fallback.flag))
    providers = _providers(app)
    assert providers.counterfactual is not None
    model = served_models[0]
    row = {name: 0.5 for name in model.inputs}
    who = "operator:abc…"
    request = {"row": row, "require": {"min": 1.0}, "settable": list(model.inputs), "interval": False}
    answer = providers.counterfactual(model.name, request, who)
    shape = {"feasible", "row", "changes", "prediction", "interval", "distance", "n_changed", "request_id"}
    assert shape <= set(answer)
    records = [r for r in AuditLog(connect(db_url)).records() if r.kind == "counterfactual"]
    assert len(records) == 1
    assert records[0].actor == who
    with pytest.raises(ValueError, match="nope"):
        providers.counterfactual(model.name, {**request, "settable": ["nope"]}, who)
    assert providers.monitor_report is None  # create_app monitors only when asked (glassline serve: 30)
    assert providers.handover is not None
    pack = providers.handover(model.name)
    assert pack is not None
    assert model.name in pack
    assert providers.handover("no-such-model") is None


def test_glassline_serve_wires_the_monitor_report(ui_models: list, tmp_path) -> None:  # type: ignore[type-arg]
    """With monitoring on, the technician page's provider is the background monitor's newest report (None before
    the first window)."""
    from glassline.cli._serve import _providers
    from glassline.serve import Fallback, ServedModel, ServiceConfig, create_app

    db_url = f"sqlite:///{(tmp_path / 'glassline.db').as_posix()}"
    app = create_app(
        [ServedModel(m) for m in ui_models], ServiceConfig(db_url=db_url, fallback=Fallback.flag), monitor_window=10
    )
    providers = _providers(app)
    assert providers.monitor_report is not None
    assert providers.monitor_report(ui_models[0].name) is None


@contextmanager
def second_process(served: Served) -> Iterator[httpx.Client]:
    """A client of another service on the same database, as a second `glassline serve` process would be (its
    own token store and session cache: nothing shared in memory with the first)."""
    from glassline.serve import Fallback, ServiceConfig, create_app
    from glassline.ui import UiConfig, create_ui

    app = create_app(list(served.models.values()), ServiceConfig(db_url=served.db_url, fallback=Fallback.flag))
    with serving(create_ui(app, config=UiConfig())) as url, httpx.Client(base_url=url, timeout=30) as client:
        yield client


def test_sessions_are_shared_by_two_processes_on_one_database(served: Served) -> None:
    import time

    from sqlalchemy import create_engine, text

    with signed(served, "technician") as client, second_process(served) as other:
        cookie = client.cookies["glassline_session"]
        other.cookies.set("glassline_session", cookie, path="/ui")
        answer = other.get("/ui/technician")
        assert answer.status_code == 200, answer.text[:500]
        assert other.get("/ui/engineer").status_code == 403  # the same role
        # the CSRF token is the session's, so a form signed in one process is accepted by the other
        token = csrf_of(client, "/ui/technician")
        assert token in answer.text
        # neither the token nor the session id is stored as such
        engine = create_engine(served.db_url)
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT * FROM glassline_ui_sessions")).all()
        engine.dispose()
        stored = " ".join(str(v) for row in rows for v in row)
        assert served.tokens["technician"] not in stored
        assert cookie.split(".")[0] not in stored
        # signing out in the second process ends the session in the first too (its cache lasts 0.5 s)
        assert other.post("/ui/logout", data={"csrf": token}).status_code == 303
        time.sleep(0.6)
        assert client.get("/ui/technician").status_code == 303


def test_a_session_survives_a_restart(served: Served) -> None:
    with signed(served, "quality") as client:
        cookie = client.cookies["glassline_session"]
    with second_process(served) as restarted:
        restarted.cookies.set("glassline_session", cookie, path="/ui")
        assert restarted.get("/ui/quality").status_code == 200
        forged = cookie[:-4] + ("0000" if not cookie.endswith("0000") else "1111")
        restarted.cookies.set("glassline_session", forged, path="/ui")
        assert restarted.get("/ui/quality").status_code == 303


def test_the_feed_matches_a_fresh_read_and_reads_only_new_records(served: Served) -> None:
    from glassline.audit import AuditLog, connect
    from glassline.ui._data import Feed, latest_rows

    engine = connect(served.db_url)
    log = AuditLog(engine)
    feed = Feed(served.models, keep=8)
    first = feed.refresh(log)

    def same() -> None:
        for name, model in served.models.items():
            fresh = latest_rows(log, model, 8)
            kept = feed.latest(name, 8)
            assert [(r.key, r.prediction, r.light) for r in kept] == [(r.key, r.prediction, r.light) for r in fresh]
            assert [r.override for r in kept] == [r.override for r in fresh]

    same()
    versions = {name: feed.version(name) for name in served.models}
    assert feed.refresh(log) == first
    assert {n: feed.version(n) for n in served.models} == versions
    name = next(iter(served.models))
    with served.client("operator") as client:
        answer = client.post(f"/v1/models/{name}/predict", json={"rows": [{"x1": 0.2, "x2": 0.3, "x3": 0.4}] * 2})
        assert answer.status_code == 200, answer.text
        request_id = answer.json()["request_id"]
        override = {"request_id": request_id, "row": 1, "value": 0.5, "reason": "feed test"}
        assert client.post("/v1/override", json=override).status_code == 200
    assert feed.refresh(log) > first
    same()
    newest = feed.latest(name, 2)
    assert [r.row for r in newest] == [1, 0]
    assert newest[0].override is not None
    assert newest[0].override["reason"] == "feed test"
    assert newest[1].override is None
    others = [n for n in served.models if n != name]
    assert all(feed.version(n) == versions[n] for n in others)  # the other models' figures stay cached
    assert feed.version(name)[0] > versions[name][0]
    log.close()
    engine.dispose()


def test_derived_figures_are_kept_until_their_key_changes() -> None:
    from glassline.ui._data import Derived

    calls: list[int] = []
    derived = Derived(min_age=0.0)
    assert derived.get("f", "m", 1, lambda: calls.append(1) or "a") == "a"
    assert derived.get("f", "m", 1, lambda: calls.append(2) or "b") == "a"
    assert derived.get("f", "m", 2, lambda: calls.append(3) or "c") == "c"
    slow = Derived(min_age=60.0)
    slow.get("f", "m", 1, lambda: "a")
    assert slow.get("f", "m", 2, lambda: "b") == "a"  # a new key waits for min_age
    assert calls == [1, 3]


def test_sessions_in_the_database_expire_and_are_bounded(tmp_path: Path) -> None:
    import time

    from glassline.audit import TokenStore, connect
    from glassline.ui._session import Sessions

    engine = connect(f"sqlite:///{(tmp_path / 'g.db').as_posix()}")
    token = TokenStore(engine).create(Role.operator, "sessions")
    sessions = Sessions(engine, max_sessions=2, cache_seconds=0.0)
    first, _ = sessions.create(token, Role.operator)
    second, session = sessions.create(token, Role.operator)
    assert sessions.get(first) is not None
    third, _ = sessions.create(token, Role.operator)  # beyond max_sessions: the oldest ends
    assert sessions.get(first) is None
    assert sessions.get(second) is not None
    assert sessions.get(third) is not None
    assert sessions.role(session) is Role.operator
    assert session.actor == f"operator:{token[:7]}…"
    assert Sessions(engine).get(second) is not None  # another process on the database: the same key
    short = Sessions(engine, lifetime=1.0, cache_seconds=0.0)
    cookie, _ = short.create(token, Role.operator)
    assert short.get(cookie) is not None
    time.sleep(1.1)
    assert short.get(cookie) is None
    assert short.get("not.a.cookie") is None
    assert short.get(None) is None
    engine.dispose()


def test_while_a_page_is_viewed_new_records_are_read_in_the_background(served: Served) -> None:
    import time

    from glassline.serve import Fallback, ServiceConfig, create_app
    from glassline.ui import UiConfig, create_ui

    app = create_app(list(served.models.values()), ServiceConfig(db_url=served.db_url, fallback=Fallback.flag))
    create_ui(app, config=UiConfig())
    ui = app.state.ui
    with serving(app) as url, httpx.Client(base_url=url, timeout=30) as client:
        page = client.get("/ui/login")
        token = CSRF.search(page.text)
        assert token is not None
        client.post("/ui/login", data={"token": served.tokens["operator"], "csrf": token.group(1)})
        assert client.get("/ui/operator").status_code == 200
        before = ui.feed.seq
        name = next(iter(served.models))
        answer = client.post(
            f"/v1/models/{name}/predict",
            json={"rows": [{"x1": 0.5, "x2": 0.5, "x3": 0.5}]},
            headers={"Authorization": f"Bearer {served.tokens['operator']}"},
        )
        assert answer.status_code == 200
        deadline = time.monotonic() + 10
        while ui.feed.seq <= before and time.monotonic() < deadline:
            time.sleep(0.1)
        assert ui.feed.seq > before  # read without another page request
        assert ui.feed.latest(name, 1)[0].request_id == answer.json()["request_id"]
