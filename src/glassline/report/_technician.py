"""The technician view: pick a configuration or specimen, see its prediction ± interval and why.

The data (every training row of each response's lead model, numbers already rounded and labelled) are
embedded in the page as JSON; a few lines of inline script (``TECHNICIAN_SCRIPT``, allowed by its hash in
the page's content security policy) fill the picker and show the chosen row. When the measured value lies
outside the interval, a check-list says what to look at first (core items, then the domain pack's own).
Influential points are named by their configuration and the row's ids in the prepared table.
"""

from __future__ import annotations

import html
import json
import math
from dataclasses import dataclass
from typing import Any, cast

import pandas as pd

from glassline.domains import DomainPack
from glassline.explain import conformal_quantile
from glassline.report._cards import StudyFolder
from glassline.report._findings import DIMENSIONLESS, RERUN_EXPLAIN, read_claims, sig, with_unit
from glassline.report._html import Section, df_table
from glassline.spec import Study

__all__ = [
    "CHECKLIST",
    "TECHNICIAN_SCRIPT",
    "influential_named",
    "name_rows",
    "row_names",
    "technician_data",
    "technician_section",
]

#: what to check, in this order, when a measured value falls outside the model's interval (any domain)
CHECKLIST: tuple[str, ...] = (
    "Sensor or instrument: was it calibrated, zeroed and read in the right unit for this measurement?",
    "Specimen: is it the one recorded for this configuration, undamaged, and prepared like its replicates?",
    "Recorded settings: do this configuration's recorded settings (the inputs listed above) match what was "
    "set on the line at the time?",
    "Replicates: if only this specimen is off, suspect the specimen or the measurement; if all replicates of "
    "the configuration are off, suspect the settings or a drift of the line.",
    "Inputs outside the tested range: the model has not seen such values; its prediction there is a guess.",
)

#: the inline script of the view: fills the row picker of the chosen response and shows the chosen row
TECHNICIAN_SCRIPT = """(function () {
  var data = JSON.parse(document.getElementById("tech-data").textContent);
  var pick = document.getElementById("tech-response"), row = document.getElementById("tech-row");
  var out = document.getElementById("tech-out");
  function add(parent, tag, text, css) {
    var node = document.createElement(tag);
    if (text !== undefined) { node.textContent = text; }
    if (css) { node.className = css; }
    parent.appendChild(node);
    return node;
  }
  function show() {
    var response = data.responses[pick.value], r = response.rows[row.value];
    out.textContent = "";
    add(out, "p", r.id, "tech-id");
    add(out, "p", "Predicted " + response.label + ": " + r.prediction + " (" + response.level +
      " interval " + r.interval + ")", "tech-prediction");
    var where = r.outside ? " \u2014 outside the interval" : " \u2014 inside the interval";
    add(out, "p", "Measured: " + r.measured + where, r.outside ? "tech-measured outside" : "tech-measured");
    add(out, "p", "Starting from the average prediction " + response.base + ", the inputs of this row move it:");
    var table = add(out, "table"), head = add(add(table, "thead"), "tr");
    add(head, "th", "input", "l"); add(head, "th", "value"); add(head, "th", "moves the prediction by");
    var body = add(table, "tbody");
    r.contributions.forEach(function (c) {
      var tr = add(body, "tr"); add(tr, "td", c[0], "l"); add(tr, "td", c[1]); add(tr, "td", c[2]);
    });
    r.notes.forEach(function (n) { add(out, "p", n, "note"); });
    if (r.outside) {
      add(out, "p", "The measured value is outside the interval. Check, in this order:");
      var list = add(out, "ol", undefined, "checklist");
      data.checks.forEach(function (c) { add(list, "li", c); });
    }
  }
  function fill() {
    row.textContent = "";
    data.responses[pick.value].rows.forEach(function (r, i) {
      var option = add(row, "option", r.id); option.value = String(i);
    });
    show();
  }
  pick.addEventListener("change", fill);
  row.addEventListener("change", show);
  fill();
})();"""

#: influential-point methods in words
METHOD_WORDS = {
    "cooks_distance": "pulls the fitted model most (Cook's distance)",
    "leave_one_configuration_out": "leaving its configuration out changes the predictions most",
}
#: an input beyond its tested range by more than this share of the range is flagged (reading noise stays quiet)
RANGE_TOLERANCE = 0.005
#: at most this many id columns name a row besides its configuration
MAX_ID_COLUMNS = 2


@dataclass(frozen=True)
class _Lead:
    target: str
    scenario: str
    family: str


def _lead_models(folder: StudyFolder, claims: pd.DataFrame | None) -> list[_Lead]:
    """Each response's lead model: from claims.csv, else from narratives.json; in the study's order."""
    found: dict[str, _Lead] = {}
    if claims is not None and not claims.empty:
        for _, row in claims.drop_duplicates("target").iterrows():
            found[str(row["target"])] = _Lead(str(row["target"]), str(row["scenario"]), str(row["family"]))
    else:
        path = folder.explanations / "narratives.json"
        story = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
        for target, entry in story.items() if isinstance(story, dict) else []:
            model = entry.get("model") if isinstance(entry, dict) else None
            if isinstance(model, dict) and model.get("scenario") and model.get("family"):
                found[str(target)] = _Lead(str(target), str(model["scenario"]), str(model["family"]))
    return [found[r.name] for r in folder.study.responses if r.name in found]


def _source_table(folder: StudyFolder, target: str) -> pd.DataFrame | None:
    """The prepared table the response was fitted from (row_id = its 0-based row)."""
    dataset = folder.dataset
    if not dataset.is_dir():
        return None
    level = folder.study.response(target).level
    stems = [level] if level else sorted({p.stem for p in dataset.iterdir() if p.suffix in (".parquet", ".csv")})
    for stem in stems:
        for path in (dataset / f"{stem}.parquet", dataset / f"{stem}.csv"):
            if not path.is_file():
                continue
            table = pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path)
            if target in table.columns:
                return table.reset_index(drop=True)
    return None


def _id_columns(table: pd.DataFrame, study: Study) -> list[str]:
    """Columns that tell the replicates of one configuration apart (specimen, cell, file …): not a study
    name, not the group or order column, whole numbers or text, distinct within every group of several rows
    (and not constant)."""
    group = study.data.group
    skip = {*study.input_names, *study.response_names, group, study.data.order}
    picked: list[tuple[int, str]] = []
    for column in table.columns:
        values = table[column]
        if column in skip or pd.api.types.is_bool_dtype(values) or values.isna().any() or values.nunique() < 2:
            continue
        numeric = pd.api.types.is_numeric_dtype(values)
        if numeric and not (values % 1 == 0).all():
            continue
        if group is not None and group in table:
            sizes = table.groupby(group)[column].agg(["size", "nunique"])
            several = sizes[sizes["size"] > 1]
            if several.empty or not (several["nunique"] == several["size"]).all():
                continue
        elif values.nunique() != len(values):
            continue
        picked.append((0 if numeric else 1, str(column)))
    return [name for _, name in sorted(picked, key=lambda p: p[0])[:MAX_ID_COLUMNS]]


def _id_value(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def row_names(folder: StudyFolder, target: str, row_ids: list[int], groups: dict[int, str]) -> dict[int, str]:
    """``configuration R01 · specimen 2`` for each row id of *target*'s prepared table."""
    study = folder.study
    group_name = study.data.group or "group"
    table = _source_table(folder, target)
    ids = _id_columns(table, study) if table is not None else []
    names = {}
    for row_id in row_ids:
        parts = []
        group = groups.get(row_id)
        if (group is None or group == "") and table is not None and study.data.group in table and row_id < len(table):
            group = str(table.at[row_id, study.data.group])
        if group:
            parts.append(f"{group_name.replace('_', ' ')} {group}")
        if table is not None and 0 <= row_id < len(table):
            parts.extend(f"{c.replace('_', ' ')} {_id_value(table.at[row_id, c])}" for c in ids)
        names[row_id] = " · ".join(parts) if parts else f"row {row_id + 1}"
    return names


def name_rows(folder: StudyFolder, frame: pd.DataFrame) -> pd.DataFrame:
    """*frame* (columns ``target`` and ``row_id``, optionally ``group``) with a column "configuration and
    specimen" naming each row; ``row_id`` moves to the end."""
    if frame.empty or not {"target", "row_id"} <= set(frame.columns):
        return frame
    named = frame.copy()
    labels = pd.Series("", index=named.index, dtype=object)
    for target, part in named.groupby("target", sort=False):
        groups = {}
        if "group" in part:
            groups = {
                int(r): str(g) for r, g in zip(part["row_id"], part["group"], strict=True) if isinstance(g, str) and g
            }
        names = row_names(folder, str(target), [int(r) for r in part["row_id"]], groups)
        labels.loc[part.index] = pd.Series([names[int(r)] for r in part["row_id"]], index=part.index)
    position = list(named.columns).index("row_id")
    named.insert(position, "configuration and specimen", labels)
    named = named.drop(columns=[c for c in ("group",) if c in named])
    return named[[c for c in named.columns if c != "row_id"] + ["row_id"]]


def _signed(value: float, unit: str) -> str:
    text = sig(abs(value))
    sign = "+" if value > 0 else "−" if value < 0 else "±"
    return f"{sign}{text} {unit}" if unit not in DIMENSIONLESS else f"{sign}{text}"


def _decimals(half_width: float) -> int | None:
    """Decimals that show an interval's half-width to two significant figures, so that the prediction, the
    interval and the measured value show on which side of an end a value lies (None: the half-width is unknown)."""
    if not math.isfinite(half_width) or half_width <= 0:
        return None
    return max(0, 1 - math.floor(math.log10(half_width)))


def _telling(measured: float, low: float, high: float, places: int | None) -> int | None:
    """*places*, or up to three more decimals, until an outside *measured* value no longer shows equal to
    the interval end it passed."""
    if places is None:
        return None
    edge = low if measured < low else high
    for extra in range(4):
        if f"{measured:.{places + extra}f}" != f"{edge:.{places + extra}f}":
            return places + extra
    return places + 3


def _fixed(value: float, unit: str, places: int | None) -> str:
    """*value* with *places* decimals (None: 3 significant figures) and its unit."""
    text = sig(value) if places is None else f"{value:.{places}f}"
    return text if unit in DIMENSIONLESS else f"{text} {unit}"


def _run_level(folder: StudyFolder) -> float:
    path = folder.explanations / "run.json"
    try:
        level = float(json.loads(path.read_text(encoding="utf-8")).get("level", 0.9)) if path.is_file() else 0.9
    except (json.JSONDecodeError, TypeError, ValueError, AttributeError):
        level = 0.9
    return level if 0.0 < level < 1.0 else 0.9


def technician_data(folder: StudyFolder, pack: DomainPack | None = None) -> dict[str, Any]:
    """What the view embeds: per response its rows (id, prediction, interval, measured, contributions, notes)
    and the check-list; every number a rounded string in the study's units."""
    study = folder.study
    claims = read_claims(folder.explanations)
    shap_path = folder.explanations / "shap_values.parquet"
    predictions_path = folder.results / "predictions.parquet"
    checks = [*CHECKLIST, *(pack.phrases.checklist if pack is not None else ())]
    if not shap_path.is_file() or not predictions_path.is_file():
        return {"responses": [], "checks": checks}
    level = _run_level(folder)
    bounds = {
        f.name: (float(f.low), float(f.high))
        for f in study.factors
        if f.kind == "continuous" and f.low is not None and f.high is not None
    }
    responses = []
    for lead in _lead_models(folder, claims):
        shap_rows = pd.read_parquet(shap_path, filters=[("target", "==", lead.target)])
        shap_rows = shap_rows[(shap_rows["scenario"] == lead.scenario) & (shap_rows["family"] == lead.family)]
        predicted = pd.read_parquet(predictions_path, filters=[("target", "==", lead.target)])
        predicted = predicted[(predicted["scenario"] == lead.scenario) & (predicted["family"] == lead.family)]
        if shap_rows.empty or predicted.empty:
            continue
        cv = predicted[predicted["split"] == "cv"]
        half = conformal_quantile(cv["y_true"] - cv["y_pred"], level) if len(cv) else math.inf
        train = predicted[predicted["split"] == "train"].drop_duplicates("row_id").set_index("row_id")
        unit = study.response(lead.target).unit
        row_ids = [int(r) for r in dict.fromkeys(shap_rows["row_id"]) if int(r) in train.index]
        groups = dict(zip(train.index.astype(int), train["group"].astype(str), strict=True))
        names = row_names(folder, lead.target, row_ids, groups)
        base = float(shap_rows["base_value"].iloc[0])
        fitted = dict(zip(train.index.astype(int), train["y_pred"].astype(float), strict=True))
        measured_values = dict(zip(train.index.astype(int), train["y_true"].astype(float), strict=True))
        by_row = {int(cast(int, k)): g for k, g in shap_rows.groupby("row_id", sort=False)}
        shared = _decimals(half)
        rows = []
        for row_id in row_ids:
            part = by_row[row_id]
            prediction, measured = fitted[row_id], measured_values[row_id]
            low, high = prediction - half, prediction + half
            outside = bool(math.isfinite(half) and not low <= measured <= high)
            places = _telling(measured, low, high, shared) if outside else shared
            part = part.reindex(part["shap"].abs().sort_values(ascending=False).index)
            contributions, notes = [], []
            for _, c in part.iterrows():
                name, value = str(c["feature"]), float(c["value"])
                column = study.column(name)
                contributions.append(
                    [column.label or name, with_unit(value, column.unit), _signed(float(c["shap"]), unit)]
                )
                lo, hi = bounds.get(name, (-math.inf, math.inf))
                slack = RANGE_TOLERANCE * (hi - lo) if math.isfinite(hi - lo) else 0.0
                if not lo - slack <= value <= hi + slack:
                    notes.append(
                        f"{column.label or name} = {with_unit(value, column.unit)} is outside the tested range "
                        f"{sig(lo)}–{with_unit(hi, column.unit)}."
                    )
            rows.append(
                {
                    "id": names.get(row_id, f"row {row_id + 1}"),
                    "prediction": _fixed(prediction, unit, places),
                    "interval": f"{_fixed(low, '', places)} to {_fixed(high, unit, places)}"
                    if math.isfinite(half)
                    else "unknown",
                    "measured": _fixed(measured, unit, places),
                    "outside": outside,
                    "contributions": contributions,
                    "notes": notes,
                }
            )
        responses.append(
            {
                "key": lead.target,
                "label": study.response(lead.target).label or lead.target,
                "level": f"{level * 100:.0f} %",
                "base": with_unit(base, unit),
                "rows": rows,
            }
        )
    return {"responses": responses, "checks": checks}


def influential_named(folder: StudyFolder, claims: pd.DataFrame | None = None) -> pd.DataFrame:
    """The influential-point candidates of the lead models, named by configuration and ids, in plain words."""
    path = folder.explanations / "influential.csv"
    if not path.is_file():
        return pd.DataFrame()
    table = pd.read_csv(path)
    if "candidate" in table:
        table = table[table["candidate"].astype(bool)]
    leads = _lead_models(folder, claims if claims is not None else read_claims(folder.explanations))
    study = folder.study
    rows = []
    for lead in leads:
        part = table[
            (table["target"] == lead.target) & (table["scenario"] == lead.scenario) & (table["family"] == lead.family)
        ]
        if part.empty:
            continue
        groups = {
            int(r): str(g)
            for r, g in zip(part["row_id"], part.get("group", pd.Series(dtype=str)), strict=False)
            if isinstance(g, str) and g
        }
        names = row_names(folder, lead.target, [int(r) for r in part["row_id"]], groups)
        unit = study.response(lead.target).unit
        for _, r in part.iterrows():
            rows.append(
                {
                    "response": study.response(lead.target).label or lead.target,
                    "configuration and specimen": names[int(r["row_id"])],
                    "measured": with_unit(float(r["y"]), unit),
                    "predicted": with_unit(float(r["prediction"]), unit),
                    "why": METHOD_WORDS.get(str(r["method"]), str(r["method"]).replace("_", " ")),
                }
            )
    return pd.DataFrame(rows).drop_duplicates() if rows else pd.DataFrame()


def _json_for_html(data: dict[str, Any]) -> str:
    """JSON safe inside a ``<script type="application/json">`` element."""
    return json.dumps(data, ensure_ascii=False).replace("</", "<\\/").replace("<!--", "<\\!--")


def technician_section(folder: StudyFolder, pack: DomainPack | None = None) -> Section:
    """The technician's view (see the module docstring); its script is ``TECHNICIAN_SCRIPT``."""
    title = "For service technicians"
    if not folder.explanations.is_dir():
        return Section(
            "technician",
            title,
            '<p class="muted">No explanations in this folder yet: run `glassline explain RESULTS_DIR`.</p>',
        )
    claims = read_claims(folder.explanations)
    body = [] if claims is not None else [f'<p class="note">{html.escape(RERUN_EXPLAIN)}</p>']
    data = technician_data(folder, pack)
    if data["responses"]:
        options = "".join(
            f'<option value="{i}">{html.escape(r["label"])}</option>' for i, r in enumerate(data["responses"])
        )
        body.append(
            "<p>Pick a response and a configuration or specimen of the experiment: the page shows what the model "
            "predicts for it, the interval the measured value should fall in, how each input moves the "
            "prediction, and what to check when the measurement is outside the interval.</p>"
            '<div class="picker"><label>Response <select id="tech-response">'
            f"{options}</select></label> "
            '<label>Configuration or specimen <select id="tech-row"></select></label></div>'
            '<div id="tech-out" aria-live="polite"><noscript>The picker needs JavaScript; the same numbers are '
            "in explanations/shap_values.parquet and results/predictions.parquet.</noscript></div>"
            f'<script type="application/json" id="tech-data">{_json_for_html(data)}</script>'
        )
    else:
        body.append('<p class="muted">No contributions of a lead model in these explanations.</p>')
    influential = influential_named(folder, claims)
    if not influential.empty:
        body.append(
            "<h4>Points to check first</h4><p>Rows of the experiment that sway their response's model most: "
            "check their labels and measurements before trusting a conclusion drawn from them.</p>"
            + df_table(influential, left=tuple(influential.columns), max_rows=40)
        )
    return Section("technician", title, "".join(body))
