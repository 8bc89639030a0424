"""The dashboards over HTTP without a browser: sign-in, sessions, CSRF, roles, every page, the audit log."""

from __future__ import annotations

import csv
import io
import re

import httpx
import pytest
from conftest import Served

from glassline.audit import Role
from glassline.ui import PAGES, may

CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def sign_in(served: Served, role: str) -> httpx.Client:
    """A client with a session cookie of *role* (through the sign-in form, as a browser does)."""
    client = httpx.Client(base_url=served.url, timeout=30, follow_redirects=False)
    page = client.get("/ui/login")
    token = CSRF.search(page.text)
    assert token is not None
    answer = client.post("/ui/login", data={"token": served.tokens[role], "csrf": token.group(1)})
    assert answer.status_code == 303, answer.text
    return client


def csrf_of(client: httpx.Client, path: str) -> str:
    found = CSRF.search(client.get(path).text)
    assert found is not None
    return found.group(1)


@pytest.mark.parametrize("role", [r.value for r in Role])
def test_every_page_for_every_role(served: Served, role: str) -> None:
    client = sign_in(served, role)
    for page, needed in PAGES.items():
        answer = client.get(f"/ui/{page}")
        if Role(role).allows(needed):
            assert answer.status_code == 200, (role, page, answer.text[:2000])
            assert "Content-Security-Policy" in answer.headers
        else:
            assert answer.status_code == 403, (role, page)
            assert f"needs the role {needed.value}" in answer.text
            assert "Traceback" not in answer.text
