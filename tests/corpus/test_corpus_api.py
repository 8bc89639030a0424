"""Bad API payloads over real HTTP (a served model on 127.0.0.1): each answer is a 4xx naming the field and the fault.

The assertions read the human text (``detail`` as a string, or each error's ``msg``) and the field each
error points at (``loc``, a dotted path or a list of parts), not the body's layout around them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from serve_helpers import Running

INSIDE = {"x1": 0.5, "x2": 0.4, "x3": 0.6}
JSON = {"content-type": "application/json"}


@dataclass(frozen=True)
class Call:
    id: str
    role: str | None
    method: str
    path: str
    options: dict[str, Any]
    status: int
    #: the field the answer must point at ("" for a refusal of the whole request: auth, size, route)
    field: str
    expect: tuple[str, ...] = field(default_factory=tuple)
    token: str | None = None


def predict(case_id: str, body: object, loc: str, *expect: str, status: int = 422) -> Call:
    return Call(case_id, "operator", "post", "/v1/predict", {"json": body}, status, loc, expect)


def raw(case_id: str, content: str, loc: str, *expect: str, status: int = 422) -> Call:
    return Call(case_id, "operator", "post", "/v1/predict", {"content": content, "headers": JSON}, status, loc, expect)


CALLS = [
    predict(
        "api-predict-missing-input",
        {"rows": [{"x1": 0.5, "x2": 0.5}]},
        "rows[0].x3",
        "required input 'x3' is missing",
        "0 … 1",
    ),
    predict(
        "api-predict-number-as-string",
        {"rows": [{**INSIDE, "x1": "0.5"}]},
        "rows[0].x1",
        "x1 must be a number, got '0.5'",
    ),
    predict(
        "api-predict-word-for-number",
        {"rows": [{**INSIDE, "x2": "abc"}]},
        "rows[0].x2",
        "x2 must be a number, got 'abc'",
    ),
    predict(
        "api-predict-null-input", {"rows": [{**INSIDE, "x1": None}]}, "rows[0].x1", "x1 must be a number, got None"
    ),
    predict(
        "api-predict-boolean-input", {"rows": [{**INSIDE, "x3": True}]}, "rows[0].x3", "x3 must be a number, got True"
    ),
    predict(
        "api-predict-unknown-input",
        {"rows": [{**INSIDE, "x9": 1}]},
        "rows[0].x9",
        "unknown field 'x9'",
        "inputs are ['x1', 'x2', 'x3']",
    ),
    predict(
        "api-predict-outside-domain",
        {"rows": [INSIDE, {**INSIDE, "x1": 1.5}]},
        "rows[1].x1",
        "x1 = 1.5 is outside the validity domain 0 … 1 mm",
    ),
    predict("api-predict-no-rows", {"rows": []}, "rows", "at least 1 item"),
    predict("api-predict-too-many-rows", {"rows": [INSIDE] * 6}, "rows", "at most 5 items", "not 6"),
    predict("api-predict-misspelt-rows", {"rowz": [INSIDE]}, "rows", "required field 'rows' is missing"),
    predict("api-predict-body-is-a-list", [INSIDE], "body", "valid dictionary"),
    predict("api-predict-rows-not-a-list", {"rows": INSIDE}, "rows", "valid list"),
    predict("api-predict-row-is-a-list", {"rows": [[0.5, 0.4, 0.6]]}, "rows[0]", "valid dictionary"),
    raw(
        "api-predict-nan",
        '{"rows": [{"x1": NaN, "x2": 0.4, "x3": 0.6}]}',
        "rows[0].x1",
        "x1 must be a finite number, got nan",
    ),
    raw(
        "api-predict-overflowing-number",
        '{"rows": [{"x1": 1e400, "x2": 0.4, "x3": 0.6}]}',
        "rows[0].x1",
        "finite number, got inf",
    ),
    raw("api-predict-truncated-json", '{"rows": [', "body", "JSON decode error", "line 1 column 11"),
    Call(
        "api-predict-not-json",
        "operator",
        "post",
        "/v1/predict",
        {"content": "rows=1", "headers": {"content-type": "text/plain"}},
        422,
        "body",
        ("JSON decode error",),
    ),
    Call(
        "api-predict-body-too-large",
        "operator",
        "post",
        "/v1/predict",
        {"content": "x" * 5000, "headers": JSON},
        413,
        "",
        ("request body too large", "4096 bytes"),
    ),
    Call(
        "api-predict-no-token",
        None,
        "post",
        "/v1/predict",
        {"json": {"rows": [INSIDE]}},
        401,
        "",
        ("missing token", "Authorization: Bearer"),
    ),
    Call(
        "api-predict-unknown-token",
        None,
        "post",
        "/v1/predict",
        {"json": {"rows": [INSIDE]}},
        401,
        "",
        ("unknown, revoked or expired token",),
        token="not-a-token",
    ),
    Call(
        "api-predict-unknown-model",
        "operator",
        "post",
        "/v1/models/nope/predict",
        {"json": {"rows": [INSIDE]}},
        404,
        "",
        ("no model 'nope' is served here", "corpus-y"),
    ),
    Call("api-model-unknown", "operator", "get", "/v1/models/nope", {}, 404, "", ("no model 'nope'",)),
    Call(
        "api-stop-as-operator",
        "operator",
        "post",
        "/v1/stop",
        {"json": {"reason": "x"}},
        403,
        "",
        ("needs the role 'engineer'", "the token has 'operator'"),
    ),
    Call(
        "api-stop-without-reason",
        "engineer",
        "post",
        "/v1/stop",
        {"json": {}},
        422,
        "reason",
        ("required field 'reason' is missing",),
    ),
    Call(
        "api-stop-empty-reason",
        "engineer",
        "post",
        "/v1/stop",
        {"json": {"reason": ""}},
        422,
        "reason",
        ("at least 1 character",),
    ),
    Call(
        "api-feedback-as-operator",
        "operator",
        "post",
        "/v1/feedback",
        {"json": {"request_id": "abc", "measured": 1.0}},
        403,
        "",
        ("needs the role 'engineer'",),
    ),
    Call(
        "api-feedback-measured-string",
        "engineer",
        "post",
        "/v1/feedback",
        {"json": {"request_id": "abc", "measured": "1.0"}},
        422,
        "measured",
        (),
    ),
    Call(
        "api-feedback-negative-row",
        "engineer",
        "post",
        "/v1/feedback",
        {"json": {"request_id": "abc", "measured": 1.0, "row": -1}},
        422,
        "row",
        ("greater than or equal to 0",),
    ),
    Call(
        "api-feedback-unknown-field",
        "engineer",
        "post",
        "/v1/feedback",
        {"json": {"request_id": "abc", "measured": 1.0, "extra": 1}},
        422,
        "extra",
        (),
    ),
    Call(
        "api-override-without-reason",
        "operator",
        "post",
        "/v1/override",
        {"json": {"request_id": "abc", "value": 1.0}},
        422,
        "reason",
        ("required field 'reason' is missing",),
    ),
    Call(
        "api-token-unknown-role",
        "admin",
        "post",
        "/v1/tokens",
        {"json": {"role": "king"}},
        422,
        "role",
        ("unknown role 'king'", "operator"),
    ),
    Call(
        "api-token-bad-expiry",
        "admin",
        "post",
        "/v1/tokens",
        {"json": {"role": "operator", "expires": "soon"}},
        422,
        "expires",
        ("such as 30d", "got 'soon'"),
    ),
    Call(
        "api-token-as-operator",
        "operator",
        "post",
        "/v1/tokens",
        {"json": {"role": "operator"}},
        403,
        "",
        ("needs the role 'admin'",),
    ),
]


def _loc(error: dict[str, Any]) -> str:
    loc = error.get("loc", "")
    if isinstance(loc, list):  # the OpenAPI layout: a list of parts
        text = ""
        for part in loc:
            text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
        return text.removeprefix("body.") if text != "body" else text
    return str(loc)


@pytest.mark.parametrize("call", [pytest.param(c, id=c.id) for c in CALLS])
def test_a_bad_payload_is_a_4xx_naming_the_field(served: Running, call: Call) -> None:
    options = dict(call.options)
    headers = dict(options.pop("headers", {}))
    token = call.token or (served.tokens[call.role] if call.role is not None else None)
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    with httpx.Client(base_url=served.url, timeout=30) as client:
        answer = client.request(call.method.upper(), call.path, headers=headers, **options)
    assert answer.status_code == call.status, answer.text
    assert 400 <= answer.status_code < 500
    detail = answer.json()["detail"]
    if isinstance(detail, str):
        text, locs = detail, []
    else:
        errors = detail if isinstance(detail, list) else [detail]
        text = " | ".join(str(e.get("msg", "")) for e in errors)
        locs = [_loc(e) for e in errors]
    if call.field:
        assert call.field in locs, f"{call.field!r} not among {locs}: {answer.text}"
    for expected in call.expect:
        assert expected in text, f"{expected!r} not in {text!r}"
