"""Oversight that holds across processes, over real HTTP on 127.0.0.1: a stop sent to one service holds on every
service on the same database within a second (and a start likewise); a revoked or expired token is refused
everywhere within a second; a client sending bad tokens gets 429 after BAD_TOKEN_LIMIT, others are unaffected.

Each delay is measured from the moment the changing call returned to the first answer that shows it, polling
every 10 ms; ``pytest -s`` prints them (README's "Oversight guarantees" quotes them)."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from serve_helpers import free_port, make_tokens, server_process, serving
from sqlalchemy import text

from glassline.audit import ROLE_CACHE_SECONDS, AuditLog, Role, TokenStore, connect
from glassline.registry import LoadedModel
from glassline.serve import Fallback, ServiceConfig
from glassline.serve._service import BAD_TOKEN_LIMIT, BAD_TOKEN_WINDOW_SECONDS, STOP_REFRESH_SECONDS, BadTokens

INSIDE = {"rows": [{"x1": 0.5, "x2": 0.4, "x3": 0.6}]}
BOUND = 1.0  # the promise: every change holds on every process within this many seconds
CYCLES = 5  # stop/start cycles between two `glassline serve` processes


def within(seconds: float, answered: Callable[[], bool]) -> float:
    """Poll *answered* every 10 ms; the seconds it took to hold (fails after *seconds*)."""
    began = time.monotonic()
    while not answered():
        elapsed = time.monotonic() - began
        assert elapsed < seconds, f"not within {seconds} s"
        time.sleep(0.01)
    return time.monotonic() - began


@pytest.fixture(params=["sqlite", "postgresql"])
def shared_db(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{(tmp_path / 'shared.db').as_posix()}"
    url: str = request.getfixturevalue("postgres_url")
    engine = connect(url)
    with engine.begin() as conn:
        conn.execute(text("TRUNCATE glassline_audit, glassline_tokens"))  # TRUNCATE fires no row trigger
    engine.dispose()
    return url


@contextmanager
def two_services(model: LoadedModel, db_url: str, **options: object) -> Iterator[tuple[str, str]]:
    with ExitStack() as stack:
        urls = [
            stack.enter_context(serving(model, ServiceConfig(db_url=db_url, fallback=Fallback.flag, **options)))  # type: ignore[arg-type]
            for _ in range(2)
        ]
        yield urls[0], urls[1]


def client(url: str, token: str, local: str | None = None) -> httpx.Client:
    transport = httpx.HTTPTransport(local_address=local) if local else None
    return httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=10, transport=transport)


def test_stop_on_one_process_holds_on_the_other(xgb_model: LoadedModel, shared_db: str) -> None:
    tokens = make_tokens(shared_db)
    with (
        two_services(xgb_model, shared_db) as (first, second),
        client(first, tokens["engineer"]) as a,
        client(second, tokens["engineer"]) as b,
    ):
        assert a.post("/v1/predict", json=INSIDE).status_code == 200
        assert b.post("/v1/predict", json=INSIDE).status_code == 200
        assert a.post("/v1/stop", json={"reason": "line 2 maintenance"}).status_code == 200
        answers: list[httpx.Response] = []

        def refused_by_b() -> bool:
            answers.append(b.post("/v1/predict", json=INSIDE))
            return answers[-1].status_code == 503

        stop_delay = within(BOUND, refused_by_b)
        refused = answers[-1].json()
        assert refused["state"] == "stopped"
        assert "line 2 maintenance" in refused["detail"]
        engine = connect(shared_db)
        record = AuditLog(engine).find(refused["request_id"], kind="prediction_refused")
        engine.dispose()
        assert record is not None
        assert record.payload["reason"] == "stopped"
        assert b.get("/readyz").status_code == 503
        assert b.get("/v1/models").json()["state"] == "stopped"
        assert b.post("/v1/start", json={"reason": "done"}).status_code == 200
        start_delay = within(BOUND, lambda: a.post("/v1/predict", json=INSIDE).status_code == 200)
        assert a.get("/readyz").status_code == 200
    print(
        f"\n{shared_db.split(':')[0]}: stop held on the other service after {stop_delay * 1000:.0f} ms, "
        f"start after {start_delay * 1000:.0f} ms (refresh {STOP_REFRESH_SECONDS} s)"
    )
    assert STOP_REFRESH_SECONDS <= 0.5


def test_a_stop_holds_for_a_service_started_later(xgb_model: LoadedModel, tmp_path: Path) -> None:
    db_url = f"sqlite:///{(tmp_path / 'g.db').as_posix()}"
    tokens = make_tokens(db_url)
    with serving(xgb_model, ServiceConfig(db_url=db_url)) as url, client(url, tokens["engineer"]) as a:
        assert a.post("/v1/stop", json={"reason": "audit"}).status_code == 200
        with serving(xgb_model, ServiceConfig(db_url=db_url)) as later, client(later, tokens["operator"]) as b:
            assert b.post("/v1/predict", json=INSIDE).status_code == 503


def test_stop_between_two_glassline_serve_processes(published: dict[str, str], home: Path, tmp_path: Path) -> None:
    """The issue's reproduction: two ``glassline serve`` processes on one audit database."""
    db_url = f"sqlite:///{(tmp_path / 'procs.db').as_posix()}"
    tokens = make_tokens(db_url)
    ports = free_port(), free_port()
    with ExitStack() as stack:
        for port in ports:
            stack.enter_context(server_process("y-xgb@prod", home, port, db_url=db_url))
        first, second = (f"http://127.0.0.1:{p}" for p in ports)
        with client(first, tokens["engineer"]) as a, client(second, tokens["engineer"]) as b:
            assert b.post("/v1/predict", json=INSIDE).status_code == 200
            stops, starts = [], []
            for cycle in range(CYCLES):
                assert a.post("/v1/stop", json={"reason": f"cycle {cycle}"}).status_code == 200
                stops.append(within(BOUND, lambda: b.post("/v1/predict", json=INSIDE).status_code == 503))
                assert b.post("/v1/start", json={"reason": "done"}).status_code == 200
                starts.append(within(BOUND, lambda: a.post("/v1/predict", json=INSIDE).status_code == 200))
    print(
        f"\ntwo processes, {CYCLES} cycles: stop held after median {statistics.median(stops) * 1000:.0f} ms, "
        f"max {max(stops) * 1000:.0f} ms; start after median {statistics.median(starts) * 1000:.0f} ms, "
        f"max {max(starts) * 1000:.0f} ms"
    )


def refused(c: httpx.Client) -> Callable[[], bool]:
    """Whether *c*'s token is refused (401) on the next prediction."""
    return lambda: c.post("/v1/predict", json=INSIDE).status_code == 401


def test_revoked_and_expired_tokens_are_refused_everywhere(xgb_model: LoadedModel, shared_db: str) -> None:
    make_tokens(shared_db)
    engine = connect(shared_db)
    store = TokenStore(engine)  # as `glassline token …` in a third process
    try:
        with two_services(xgb_model, shared_db) as (first, second):
            revoked = store.issue(Role.engineer, "leaver")
            short = store.issue(Role.operator, "visitor", lifetime=timedelta(seconds=1.5))
            clients = [client(u, revoked.token) for u in (first, second)]
            brief = [client(u, short.token) for u in (first, second)]
            try:
                for c in clients + brief:  # a new token works at once, and its role is now cached
                    assert c.post("/v1/predict", json=INSIDE).status_code == 200
                store.revoke(revoked.id)
                delays = [within(BOUND, refused(c)) for c in clients]
                assert clients[0].post("/v1/stop", json={"reason": "x"}).status_code == 401
                assert short.expires is not None
                while time.time() < short.expires.timestamp():
                    time.sleep(0.01)
                expired = [within(BOUND, refused(c)) for c in brief]
            finally:
                for c in clients + brief:
                    c.close()
    finally:
        engine.dispose()
    print(
        f"\n{shared_db.split(':')[0]}: revoked token refused after {max(delays) * 1000:.0f} ms "
        f"(cache {ROLE_CACHE_SECONDS} s), expired token after {max(expired) * 1000:.0f} ms"
    )


def test_bad_tokens_get_429_and_other_clients_do_not(xgb_model: LoadedModel, tmp_path: Path) -> None:
    db_url = f"sqlite:///{(tmp_path / 'limit.db').as_posix()}"
    tokens = make_tokens(db_url)
    with (
        serving(xgb_model, ServiceConfig(db_url=db_url, bad_token_window_seconds=3.0)) as url,
        client(url, "gl_guess", local="127.0.0.2") as guesser,
        client(url, tokens["operator"]) as honest,
    ):
        codes = [guesser.post("/v1/predict", json=INSIDE).status_code for _ in range(BAD_TOKEN_LIMIT)]
        assert codes == [401] * BAD_TOKEN_LIMIT
        blocked = guesser.post("/v1/predict", json=INSIDE)
        assert blocked.status_code == 429
        assert 1 <= int(blocked.headers["retry-after"]) <= 3
        assert "127.0.0.2" in blocked.json()["detail"]
        assert guesser.get("/v1/model").status_code == 429  # every route that needs a token
        assert honest.post("/v1/predict", json=INSIDE).status_code == 200  # another client: unaffected
        with client(url, tokens["operator"], local="127.0.0.2") as same_client:
            assert same_client.post("/v1/predict", json=INSIDE).status_code == 429  # the client is blocked
        assert guesser.get("/healthz").status_code == 200  # open routes stay open
        time.sleep(int(blocked.headers["retry-after"]) + 0.1)
        assert guesser.post("/v1/predict", json=INSIDE).status_code == 401  # reset: the window has passed
    assert (BAD_TOKEN_LIMIT, BAD_TOKEN_WINDOW_SECONDS) == (10, 60.0)


def test_bad_token_window_slides() -> None:
    now = [0.0]
    limiter = BadTokens(limit=3, window=60.0, clock=lambda: now[0])
    for t in (0.0, 10.0, 20.0):
        now[0] = t
        assert limiter.retry_after("a") is None
        limiter.failed("a")
    assert limiter.retry_after("a") == 40  # the first failure leaves the window at 60 s
    assert limiter.retry_after("b") is None
    now[0] = 60.0
    assert limiter.retry_after("a") is None  # one failure fewer in the window
    limiter.failed("a")
    assert limiter.retry_after("a") == 10
    now[0] = 200.0
    assert limiter.retry_after("a") is None


def test_bad_token_memory_is_bounded() -> None:
    limiter = BadTokens(limit=2, window=60.0, clock=lambda: 0.0, max_clients=3)
    for client_ip in ("a", "b", "c", "d"):
        limiter.failed(client_ip)
        limiter.failed(client_ip)
    assert limiter.retry_after("a") is None  # forgotten first
    assert all(limiter.retry_after(c) == 60 for c in "bcd")


def test_tokens_route_creates_expiring_tokens(xgb_model: LoadedModel, tmp_path: Path) -> None:
    db_url = f"sqlite:///{(tmp_path / 't.db').as_posix()}"
    tokens = make_tokens(db_url)
    with serving(xgb_model, ServiceConfig(db_url=db_url)) as url, client(url, tokens["admin"]) as admin:
        made = admin.post("/v1/tokens", json={"role": "operator", "label": "shift", "expires": "12h"})
        assert made.status_code == 200
        body = made.json()
        assert body["expires"] is not None
        assert isinstance(body["id"], int)
        forever = admin.post("/v1/tokens", json={"role": "operator"}).json()
        assert forever["expires"] is None
        bad = admin.post("/v1/tokens", json={"role": "operator", "expires": "12 hours"})
        assert bad.status_code == 422
        assert bad.json()["detail"][0]["loc"] == "expires"
        assert "30d" in bad.json()["detail"][0]["msg"]
        with client(url, body["token"]) as shift:
            assert shift.post("/v1/predict", json=INSIDE).status_code == 200
    engine = connect(db_url)
    created = AuditLog(engine).tail(10, kind="token_created")
    engine.dispose()
    assert [r.payload["id"] for r in created] == [body["id"], forever["id"]]
    assert created[0].payload["expires"] == body["expires"]
    assert body["token"] not in str(created[0].payload)
