"""What a prediction record holds, and the typed read API that monitoring and dashboards use.

The service writes one ``prediction`` record per answered request and one ``prediction_refused``
record per refused one; both are built here (:func:`prediction_payload`, :func:`refusal_payload`), so
the writer and the reader share one description of the payload. :func:`prediction_frame` reads them
back as one table row per predicted row.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, Literal

import numpy as np
import pandas as pd

from glassline.audit._log import AuditLog, AuditRecord, ModelId
from glassline.exceptions import QueryError, did_you_mean

__all__ = [
    "FRAME_COLUMNS",
    "PREDICTION_KINDS",
    "RefusalReason",
    "prediction_frame",
    "prediction_payload",
    "refusal_payload",
]

#: Why a prediction request was refused: its body failed the request schema, a row is outside the validity
#: domain under the 'refuse' fallback, the model gave no finite value, or the service was stopped.
RefusalReason = Literal["invalid_request", "outside_domain", "non_finite", "stopped"]

#: The record kinds :func:`prediction_frame` reads.
PREDICTION_KINDS = ("prediction", "prediction_refused")

#: The columns of :func:`prediction_frame` besides the inputs (named as the inputs are) and the
#: attributions (``shap_<input>``), in order: record, then row, then answer.
FRAME_COLUMNS = (
    "seq",
    "time",
    "kind",
    "model",
    "version",
    "request_id",
    "actor",
    "row",
    "prediction",
    "unit",
    "base_value",
    "interval_low",
    "interval_high",
    "inside",
    "distance",
    "violations",
    "fallback",
    "refusal",
)


def prediction_payload(
    model: ModelId,
    inputs: Sequence[str],
    rows: list[list[float]],
    *,
    unit: str,
    predictions: list[float],
    attributions: list[list[float]],
    base_values: list[float],
    intervals: list[list[float | None]],
    domain: list[dict[str, Any]],
    fallback: list[str | None],
    seconds: float,
) -> dict[str, Any]:
    """The payload of a ``prediction`` record: per row its inputs, prediction, attributions (in the order of
    *inputs*), base value, ``[low, high]`` interval, domain verdict ``{inside, distance, violations}`` and the
    fallback applied (None inside the domain)."""
    return {
        "model": model.as_dict(),
        "inputs": list(inputs),
        "unit": unit,
        "rows": rows,
        "predictions": predictions,
        "attributions": attributions,
        "base_values": base_values,
        "intervals": intervals,
        "domain": domain,
        "fallback": fallback,
        "seconds": seconds,
    }


def refusal_payload(
    model: ModelId,
    inputs: Sequence[str],
    reason: RefusalReason,
    *,
    rows: list[list[float]] | None = None,
    domain: list[dict[str, Any]] | None = None,
    outside: list[int] | None = None,
    non_finite: list[int] | None = None,
    detail: list[dict[str, Any]] | str | None = None,
) -> dict[str, Any]:
    """The payload of a ``prediction_refused`` record: why, and what is known of the rows at the step that
    refused them (the rows once valid, their domain verdicts once checked, the answer's detail)."""
    payload: dict[str, Any] = {"model": model.as_dict(), "inputs": list(inputs), "reason": reason}
    for key, value in (
        ("rows", rows),
        ("domain", domain),
        ("outside", outside),
        ("non_finite", non_finite),
        ("detail", detail),
    ):
        if value is not None:
            payload[key] = value
    return payload


def _reason(payload: dict[str, Any]) -> str:
    """A refusal's reason (records written before reasons were recorded say it by their keys)."""
    if "reason" in payload:
        return str(payload["reason"])
    return "outside_domain" if "outside" in payload else "non_finite"


def _at(values: Any, i: int) -> Any:
    return values[i] if isinstance(values, list) and i < len(values) else None


def _float(value: Any) -> float:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else float("nan")


def _rows_of(record: AuditRecord, model: ModelId) -> list[dict[str, Any]]:
    p = record.payload
    inputs = [str(i) for i in p.get("inputs", [])]
    rows = p.get("rows") or []
    refused = record.kind == "prediction_refused"
    reason = _reason(p) if refused else None
    outside = set(p.get("outside", [])) if refused else set()
    answer: list[dict[str, Any]] = []
    for i in range(max(len(rows), 1)):
        values = _at(rows, i)
        verdict = _at(p.get("domain"), i)
        interval = _at(p.get("intervals"), i)
        shap = _at(p.get("attributions"), i)
        fallback = _at(p.get("fallback"), i)
        if refused:
            fallback = "refuse" if i in outside else None
        entry: dict[str, Any] = {
            "seq": record.seq,
            "time": record.created_at,
            "kind": record.kind,
            "model": model.name,
            "version": model.version,
            "request_id": record.request_id,
            "actor": record.actor,
            "row": i if values is not None else pd.NA,
            "prediction": float("nan") if refused else _float(_at(p.get("predictions"), i)),
            "unit": p.get("unit"),
            "base_value": _float(_at(p.get("base_values"), i)),
            "interval_low": _float(_at(interval, 0)),
            "interval_high": _float(_at(interval, 1)),
            "inside": verdict.get("inside") if isinstance(verdict, dict) else pd.NA,
            "distance": _float(verdict.get("distance")) if isinstance(verdict, dict) else float("nan"),
            "violations": list(verdict.get("violations", [])) if isinstance(verdict, dict) else [],
            "fallback": fallback,
            "refusal": reason,
        }
        for k, name in enumerate(inputs):
            entry[name] = _float(_at(values, k))
            entry[f"shap_{name}"] = _float(_at(shap, k))
        answer.append(entry)
    return answer


def prediction_frame(
    log: AuditLog,
    model: str,
    *,
    version: str | int | None = None,
    kind: str | Iterable[str] = PREDICTION_KINDS,
    seq_from: int | None = None,
    seq_to: int | None = None,
    since: datetime | str | None = None,
    until: datetime | str | None = None,
) -> pd.DataFrame:
    """The predictions (and refusals) of *model* as one row per predicted row, oldest first.

    Filters: *version*; *kind* (``prediction``, ``prediction_refused`` or both); ``seq_from ≤ seq ≤ seq_to``;
    ``since ≤ time < until`` (aware datetimes or ISO 8601 strings). Columns: :data:`FRAME_COLUMNS`, where
    ``time`` is a UTC timestamp, ``row`` the row's index in its request (missing for a request whose body
    was refused as a whole), ``inside``/``distance``/``violations`` the validity-domain verdict
    (``violations``: a list of ``{input, kind, value, limit, by}``), ``fallback`` the fallback applied
    (``refuse`` for a refused row outside the domain) and ``refusal`` the reason a request was refused
    (None when it was answered); then one column per input, named as the input, holding its value, and
    one ``shap_<input>`` column per input holding its attribution. Values a record does not hold are NaN
    (a refused row has no prediction). Bad arguments raise :class:`~glassline.exceptions.QueryError`.
    """
    kinds = (kind,) if isinstance(kind, str) else tuple(kind)
    for k in kinds:
        if k not in PREDICTION_KINDS:
            raise QueryError(
                f"kind: the prediction frame reads {list(PREDICTION_KINDS)}, got {k!r}."
                + did_you_mean(k, PREDICTION_KINDS)
            )
    if not kinds:
        raise QueryError(f"kind: expected at least one of {list(PREDICTION_KINDS)}, got none")
    entries: list[dict[str, Any]] = []
    inputs: dict[str, None] = {}
    for record in log.records(
        kinds, model=model, version=version, seq_from=seq_from, seq_to=seq_to, since=since, until=until
    ):
        (found,) = [m for m in record.models if m.name == model][:1] or [ModelId(model, str(version))]
        for name in record.payload.get("inputs", []):
            inputs.setdefault(str(name), None)
        entries += _rows_of(record, found)
    clashes = [name for name in inputs if name in FRAME_COLUMNS or f"shap_{name}" in FRAME_COLUMNS]
    if clashes:
        raise QueryError(
            f"model {model!r}: the input(s) {clashes} share a name with a column of the prediction frame "
            f"{list(FRAME_COLUMNS)}; read those records with AuditLog.records()"
        )
    names = list(inputs)
    columns = [*FRAME_COLUMNS[:8], *names, *FRAME_COLUMNS[8:10], *(f"shap_{n}" for n in names), *FRAME_COLUMNS[10:]]
    frame = pd.DataFrame(entries, columns=columns)
    frame["seq"] = frame["seq"].astype("int64")
    frame["time"] = pd.to_datetime(frame["time"], utc=True, format="ISO8601")
    frame["row"] = frame["row"].astype("Int64")
    frame["inside"] = frame["inside"].astype("boolean")
    for column in ("prediction", "base_value", "interval_low", "interval_high", "distance", *names):
        frame[column] = frame[column].astype(float)
    for name in names:
        frame[f"shap_{name}"] = frame[f"shap_{name}"].astype(float)
        if not entries:
            frame[name] = np.array([], dtype=float)
    return frame
