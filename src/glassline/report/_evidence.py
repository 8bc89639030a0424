"""The EU AI Act evidence map: for each article, the evidence itself (which table, figure or file, and what it shows).

Each item reads its evidence and names it with the number it shows ("results/results.csv (Models (Table 5)):
25 best models, pooled grouped-CV R² 0.06–1.00"); an item is *present* only when that evidence has content,
never because a file exists. Art. 15's uncertainty item is present only when the run has bootstrap
intervals (``claims.csv`` / ``uncertainty.csv`` / ``importance.csv`` with non-empty CIs).

It says "evidence for", never "compliant": a process-quality regressor is usually not a high-risk
system, and whether one is depends on its use, which no file can show.
"""

from __future__ import annotations

import json
import sqlite3
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

__all__ = ["EvidenceItem", "evidence_map", "evidence_markdown"]

#: A probe reads one piece of evidence in a study folder: a sentence naming it and what it shows, or None.
Probe = Callable[[Path], "str | None"]


@dataclass(frozen=True)
class EvidenceItem:
    """One requirement, the probes that read its evidence, and what to do when none has content."""

    article: str
    requirement: str
    probes: tuple[Probe, ...]
    absent: str
    note: str = ""


def _csv(path: Path) -> pd.DataFrame:
    """A CSV file's rows (empty when it is missing, unreadable or has a header only)."""
    if not path.is_file():
        return pd.DataFrame()
    try:
        return pd.read_csv(path)
    except (ValueError, OSError, pd.errors.ParserError):
        return pd.DataFrame()


def _json(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, OSError):
        return {}
    return data if isinstance(data, dict) else {}


def _study(root: Path) -> str | None:
    path = root / "study.toml"
    if not path.is_file():
        return None
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, OSError, UnicodeDecodeError):
        return None
    factors, responses = data.get("factors") or [], data.get("responses") or []
    if not factors and not responses:
        return None
    with_units = sum(1 for f in factors if isinstance(f, dict) and f.get("unit") is not None)
    ranged = sum(1 for f in factors if isinstance(f, dict) and "low" in f and "high" in f)
    purpose = " with a description" if str(data.get("description", "")).strip() else " (no description)"
    return (
        f"study.toml{purpose}: {len(factors)} factors ({with_units} with units, {ranged} with low/high), "
        f"{len(responses)} responses"
    )


def _purpose(root: Path) -> str | None:
    path = root / "study.toml"
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    except (tomllib.TOMLDecodeError, OSError, UnicodeDecodeError):
        return None
    text = str(data.get("description", "")).strip()
    described = [
        r for r in data.get("responses") or [] if isinstance(r, dict) and str(r.get("description", "")).strip()
    ]
    if not text:
        return None
    short = text if len(text) <= 80 else text[:77] + "…"
    return f'study.toml description "{short}"; {len(described)} response(s) with their own description'


def _cards(root: Path) -> str | None:
    cards = sorted((root / "cards").glob("model_card_*.md"))
    texts = [p.read_text(encoding="utf-8") for p in cards]
    with_use = sum(1 for t in texts if "## Intended use" in t and "Study purpose:" in t)
    if not cards:
        return None
    return (
        f"cards/: {len(cards)} model cards, {with_use} with the study's purpose in 'Intended use' (report: Model cards)"
    )


def _card_limits(root: Path) -> str | None:
    texts = [p.read_text(encoding="utf-8") for p in sorted((root / "cards").glob("model_card_*.md"))]
    warned = sum(t.count("\n- Warning (") for t in texts)
    if not texts:
        return None
    return f"cards/: 'Caveats' of {len(texts)} model cards, {warned} warnings of their target × scenario"


def _design(root: Path) -> str | None:
    diag = _json(root / "design_diagnostics.json")
    if not diag:
        return None
    runs = diag.get("runs") or diag.get("n_runs")
    parts = [f"{runs} runs" if runs else ""]
    for key, label, spec in (
        ("i_criterion", "I-criterion", ".4f"),
        ("d_efficiency", "D-efficiency", ".1f"),
        ("max_vif", "max VIF", ".2f"),
    ):
        if isinstance(diag.get(key), int | float):
            parts.append(f"{label} {format(float(diag[key]), spec)}" + (" %" if key == "d_efficiency" else ""))
    line = str(diag.get("comparison", {}).get("line", "")) if isinstance(diag.get("comparison"), dict) else ""
    shown = ", ".join(p for p in parts if p)
    return f"design_diagnostics.json (report: Design, fds.png): {shown}" + (f"; {line}" if line else "")


def _run(root: Path) -> str | None:
    run = _json(root / "results" / "run.json")
    families = run.get("families") or []
    if not families:
        return None
    return (
        f"results/run.json: families {', '.join(map(str, families))}; {run.get('cv_description') or 'grouped CV'}; "
        f"seed {run.get('seed')}"
    )


def _dataset(root: Path) -> str | None:
    meta = _json(root / "dataset" / "metadata.json")
    levels = meta.get("levels") if isinstance(meta.get("levels"), dict) else {}
    if not levels:
        return None
    rows = sum(int(v.get("rows") or 0) for v in levels.values() if isinstance(v, dict))
    provenance = "simulated line" if meta.get("simulated") is True else f"layout {meta.get('layout', 'tables')}"
    return f"dataset/metadata.json (report: The data): {len(levels)} tables, {rows} rows, source: {provenance}"


def _datasheet(root: Path) -> str | None:
    path = root / "cards" / "datasheet.md"
    if not path.is_file() or "## Composition" not in path.read_text(encoding="utf-8"):
        return None
    return "cards/datasheet.md: composition, collection, cleaning, uses"


def _cleaning(root: Path) -> str | None:
    path = root / "dataset" / "cleaning_log.csv"
    if not path.is_file():
        return None
    log = _csv(path)
    if log.empty:
        return "dataset/cleaning_log.csv: 0 rows removed or changed (every row accounted for in metadata.json)"
    rules = log["rule"].value_counts().to_dict() if "rule" in log else {}
    by_rule = ", ".join(f"{k} {v}" for k, v in rules.items())
    return f"dataset/cleaning_log.csv: {len(log)} rows removed or changed, each with file and row ({by_rule})"


def _results(root: Path) -> str | None:
    results = _csv(root / "results" / "results.csv")
    if results.empty or "cv_r2_pooled" not in results:
        return None
    best = results[results["best"].astype(bool)] if "best" in results else results
    r2 = pd.to_numeric(best["cv_r2_pooled"], errors="coerce").dropna()
    if r2.empty:
        return None
    return (
        f"results/results.csv (report: Models (Table 5), parity plots): {len(results)} candidates, {len(best)} best "
        f"models, pooled grouped-CV R² {r2.min():.2f}–{r2.max():.2f}"
    )


def _warnings(root: Path) -> str | None:
    table = _csv(root / "explanations" / "warnings.csv")
    if table.empty or "kind" not in table:
        return None
    kinds = ", ".join(f"{k} {v}" for k, v in table["kind"].value_counts().items())
    return f"explanations/warnings.csv: {len(table)} warnings ({kinds})"


def _importance(root: Path) -> str | None:
    table = _csv(root / "explanations" / "importance.csv")
    if table.empty or not {"target", "method"} <= set(table.columns):
        return None
    methods = ", ".join(sorted(map(str, table["method"].unique())))
    figures = len(list((root / "explanations" / "figures").rglob("*.png")))
    return (
        f"explanations/importance.csv: {table['target'].nunique()} targets, methods {methods}; "
        f"{figures} figures in explanations/figures (report: Explanations)"
    )


def _expectations(root: Path) -> str | None:
    """The expert-expectation tests of the explanation stage: sign of each input's effect as the study expects."""
    table = _csv(root / "explanations" / "expectations.csv")
    if table.empty or "passed" not in table:
        return None
    lead = table[table["best"].astype(bool)] if "best" in table else table
    passed = int(lead["passed"].astype(bool).sum())
    return (
        f"explanations/expectations.csv (report: Expert expectations): {passed} of {len(lead)} expected directions "
        "hold for the best models"
    )


def _physics(root: Path) -> str | None:
    table = _csv(root / "explanations" / "physics_check.csv")
    if table.empty or "max_rel_deviation" not in table:
        return None
    worst = pd.to_numeric(table["max_rel_deviation"], errors="coerce").max()
    return (
        f"explanations/physics_check.csv (report: Physics check): {len(table)} checks against the domain's physics, "
        f"largest deviation {worst:.1%}"
    )


def _fds(root: Path) -> str | None:
    diag = _json(root / "design_diagnostics.json")
    median = diag.get("fds_median")
    if not (root / "fds.png").is_file() or not isinstance(median, int | float):
        return None
    return f"fds.png (report: Design): median prediction variance {float(median):.3f} over the design space"


def _narratives(root: Path) -> str | None:
    story = _json(root / "explanations" / "narratives.json")
    written = [t for t, e in story.items() if isinstance(e, dict) and e.get("roles")]
    if not written:
        return None
    return f"explanations/narratives.json (report: What the models say, per role): {len(written)} responses"


def _audit(root: Path) -> dict[str, int]:
    """Audit-log records by kind over the folder's SQLite audit databases."""
    counts: dict[str, int] = {}
    for path in sorted([*root.glob("audit*.db"), *root.glob("audit/*.db")]):
        try:
            with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
                rows = db.execute("SELECT kind, count(*) FROM glassline_audit GROUP BY kind").fetchall()
        except sqlite3.Error:
            continue
        for kind, n in rows:
            counts[str(kind)] = counts.get(str(kind), 0) + int(n)
    return counts


def _audit_records(root: Path) -> str | None:
    counts = _audit(root)
    if not counts:
        return None
    return (
        f"audit log: {sum(counts.values())} hash-chained records ("
        + ", ".join(f"{k} {v}" for k, v in counts.items())
        + ")"
    )


def _oversight(root: Path) -> str | None:
    counts = _audit(root)
    acts = {k: v for k, v in counts.items() if any(w in k for w in ("override", "stop", "feedback"))}
    if not acts:
        return None
    return "audit log: " + ", ".join(f"{v} {k}" for k, v in acts.items()) + " records"


def _ranges(root: Path) -> str | None:
    meta = _json(root / "dataset" / "metadata.json")
    levels = meta.get("levels") if isinstance(meta.get("levels"), dict) else {}
    if not levels:
        return None
    outside = sum(
        sum(int(n) for n in (v.get("rows_outside_design_range") or {}).values())
        for v in levels.values()
        if isinstance(v, dict)
    )
    return (
        f"dataset/metadata.json: every input checked against the study's ranges; {outside} values outside them flagged"
    )


def _ci_rows(table: pd.DataFrame, low: str, high: str) -> int:
    if table.empty or low not in table or high not in table:
        return 0
    both = pd.to_numeric(table[low], errors="coerce").notna() & pd.to_numeric(table[high], errors="coerce").notna()
    return int(both.sum())


def _uncertainty(root: Path) -> str | None:
    """Bootstrap intervals of the run: claims.csv effect CIs, uncertainty.csv CIs, importance.csv bootstrap CIs."""
    explanations = root / "explanations"
    found = []
    claims = _ci_rows(_csv(explanations / "claims.csv"), "effect_ci_low", "effect_ci_high")
    if claims:
        found.append(f"explanations/claims.csv: {claims} effects with a CI")
    uncertainty = _csv(explanations / "uncertainty.csv")
    lows = [c for c in uncertainty.columns if "ci_low" in str(c)]
    n = max((_ci_rows(uncertainty, c, c.replace("ci_low", "ci_high")) for c in lows), default=0)
    if n:
        found.append(f"explanations/uncertainty.csv: {n} rows with a CI")
    importance = _csv(explanations / "importance.csv")
    if not importance.empty and "method" in importance:
        n = _ci_rows(importance[importance["method"] != "permutation"], "ci_low", "ci_high")
        if n:
            found.append(f"explanations/importance.csv: {n} bootstrap CIs of SHAP/coefficient importance")
    if not found:
        return None
    refits = _json(explanations / "run.json").get("bootstrap")
    return "; ".join(found) + (f" ({refits} grouped bootstrap refits)" if refits else "")


def _report(name: str) -> Probe:
    def probe(root: Path) -> str | None:
        return f"{name}: Limitations section (studied ranges, small data, withheld scenarios)"

    return probe


def _items(writing: tuple[str, ...]) -> tuple[EvidenceItem, ...]:
    report = tuple(_report(name) for name in writing if name.endswith(".html"))
    return (
        EvidenceItem(
            "Art. 11 / Annex IV 1",
            "general description: purpose, inputs, outputs",
            (_study, _cards),
            "absent: no study file with factors and responses",
        ),
        EvidenceItem(
            "Art. 11 / Annex IV 2(a-b)",
            "development: design of the experiment, choices made",
            (_design, _run),
            "absent: no design diagnostics (glassline design) and no model comparison (glassline fit)",
        ),
        EvidenceItem(
            "Art. 11 / Annex IV 2(d)",
            "data: provenance, preparation, cleaning",
            (_dataset, _datasheet, _cleaning),
            "absent: no prepared dataset (glassline prepare)",
        ),
        EvidenceItem(
            "Art. 11 / Annex IV 2(g)",
            "validation and testing procedures, metrics",
            (_results,),
            "absent: no model comparison (glassline fit)",
        ),
        EvidenceItem(
            "Art. 12",
            "record-keeping: logs of what the system did",
            (_cleaning, _audit_records),
            "absent: no cleaning log and no audit log",
            "prediction-time records come from the serving audit log (glassline serve)",
        ),
        EvidenceItem(
            "Art. 13(3)(a)",
            "intended purpose",
            (_purpose,),
            "absent: the study file has no description of its purpose",
        ),
        EvidenceItem(
            "Art. 13(3)(b)",
            "accuracy and its metrics",
            (_results, _cards),
            "absent: no model comparison (glassline fit)",
        ),
        EvidenceItem(
            "Art. 13(3)(c)",
            "known limits and foreseeable misuse",
            (_warnings, _card_limits, *report),
            "absent: no warnings.csv (glassline explain) and no model cards",
        ),
        EvidenceItem(
            "Art. 13(3)(d)",
            "explanation capabilities",
            (_importance, _expectations),
            "absent: no explanations (glassline explain)",
        ),
        EvidenceItem(
            "Art. 13(3)(e)",
            "input data specifications (units, ranges)",
            (_study, _ranges),
            "absent: no study file with factors",
        ),
        EvidenceItem(
            "Art. 13(3)(f)",
            "how to interpret the output",
            (_narratives,),
            "absent: no narratives (glassline explain)",
        ),
        EvidenceItem(
            "Art. 14(4)(a-c)",
            "human oversight: understand capacities, limits, interpret output",
            (_card_limits, _narratives),
            "absent: no model cards and no narratives",
        ),
        EvidenceItem(
            "Art. 14(4)(d-e)",
            "human oversight: override or stop the system",
            (_oversight,),
            "absent: no override, stop or feedback in an audit log of this folder",
            "the service's /v1/override and /v1/stop endpoints; present once a served model was overridden or stopped",
        ),
        EvidenceItem(
            "Art. 15 (accuracy)",
            "accuracy: honest validation",
            (_results, _expectations),
            "absent: no model comparison (glassline fit)",
        ),
        EvidenceItem(
            "Art. 15 (uncertainty)",
            "uncertainty of the explanations and effects",
            (_uncertainty,),
            "absent: run with bootstrap (glassline explain --bootstrap N)",
        ),
        EvidenceItem(
            "Art. 15 (robustness)",
            "robustness: validity domain of the inputs",
            (_ranges, _fds, _physics),
            "absent: no prepared dataset with range checks",
            "at prediction time the service flags inputs outside the validity domain and applies its fallback",
        ),
    )


def evidence_map(root: str | Path, *, writing: tuple[str, ...] = ()) -> pd.DataFrame:
    """One row per requirement: ``article, requirement, status, evidence, note``.

    *status* is ``present`` when at least one piece of evidence has content, else ``missing``; *evidence*
    names each piece with what it shows, or says what is absent and how to produce it. *writing* names
    files the caller is writing right now (the report itself), counted as evidence.
    """
    folder = Path(root)
    rows = []
    for item in _items(writing):
        found = [text for text in (probe(folder) for probe in item.probes) if text]
        rows.append(
            {
                "article": item.article,
                "requirement": item.requirement,
                "status": "present" if found else "missing",
                "evidence": "; ".join(found) if found else item.absent,
                "note": item.note,
            }
        )
    return pd.DataFrame(rows)


def evidence_markdown(table: pd.DataFrame) -> str:
    lines = [
        "# EU AI Act: evidence map",
        "",
        "What this study produced that is evidence for the transparency and documentation articles, each piece "
        "named with what it shows. This is not a statement of compliance: a process-quality regressor is usually "
        "not a high-risk system, and that depends on its use.",
        "",
        "| article | requirement | status | evidence | note |",
        "|---|---|---|---|---|",
    ]
    lines.extend(
        f"| {r.article} | {r.requirement} | {r.status} | {r.evidence} | {r.note} |" for r in table.itertuples()
    )
    return "\n".join(lines) + "\n"
