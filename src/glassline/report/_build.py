"""Assemble the self-contained HTML report of a study folder."""

from __future__ import annotations

import html
import json
import platform
from datetime import date
from pathlib import Path

import pandas as pd

from glassline.domains import DomainPack, ReportBlock, ReportContext, study_domain
from glassline.exceptions import DataError
from glassline.models import RESULT_COLUMNS, resolve_study
from glassline.report._cards import StudyFolder, card_facts, datasheet, write_cards
from glassline.report._evidence import evidence_map, evidence_markdown
from glassline.report._figures import design_pairs
from glassline.report._html import Figure, Section, df_table, figure_html, markdown_html, page
from glassline.report._manager import manager_section
from glassline.report._model_card import library_version, model_card
from glassline.report._technician import TECHNICIAN_SCRIPT, name_rows, technician_section
from glassline.spec import Study

__all__ = ["build_report", "find_study_folder"]

CAPTIONS: tuple[tuple[str, str], ...] = (
    (
        "beeswarm",
        "Each dot is one row: its position is that input's SHAP contribution to the prediction (in the "
        "response's unit), its colour the input's value (red high, blue low). Inputs are ordered by mean |SHAP|; a "
        "red cloud on the left means high values lower the response.",
    ),
    (
        "bar",
        "Mean |SHAP| per input: how far each input moves the prediction on average; the longest bar drives the "
        "response most.",
    ),
    (
        "mdi",
        "Mean decrease in impurity of the tree model: how much each input's splits reduce the error. It ranks "
        "inputs but has no direction.",
    ),
    (
        "coef",
        "Euclidean-normalized coefficients of the linear model (as in the paper): sign is the direction, length "
        "the weight in standardized units. Teal bars raise the response, brown bars lower it (red and blue are "
        "kept for high and low input values in the beeswarm).",
    ),
    (
        "dependence",
        "SHAP dependence: the input's contribution against its value; the slope is the direction, the "
        "vertical spread shows interactions. Where the input takes only a few levels, the dots of one level are "
        "spread sideways by at most a tenth of the distance to the next level (jitter, so they do not hide each "
        "other), never beyond the design range: the levels themselves are exact.",
    ),
    (
        "contour",
        "Predicted response over two factors, the others held at mid-range; dots are the design points. "
        "Where drawn, the outlined region is the process window where every requirement is met.",
    ),
    ("surface", "Predicted response over two factors, the others held at mid-range; dots are the design points."),
    ("window", "Process window: the settings where the models, with their intervals, meet every requirement."),
    (
        "physics",
        "Physics check of the study's domain: the model's predictions beside the domain's physics; a large gap "
        "means the model departs from the physics there.",
    ),
    (
        "agreement",
        "Agreement of the feature rankings between methods and families (Kendall τ); low τ next to a poor "
        "model is the paper's MLR-on-ionic-resistance case.",
    ),
    (
        "uncertainty",
        "Bootstrap intervals of each input's importance: overlapping intervals mean the ranking is not "
        "settled by these data.",
    ),
    ("influen", "Influential rows: removing them changes the fit most; check their labels and measurements first."),
    (
        "waterfall",
        "One prediction taken apart: from the average prediction (base value) each input's contribution "
        "adds up to this row's prediction.",
    ),
)


def _caption(name: str, pack: DomainPack | None = None) -> str:
    """The caption of a figure by its file name: the study's domain pack's first, then the core's."""
    own = pack.caption(name) if pack is not None else None
    if own is not None:
        return own
    lowered = name.lower()
    for key, caption in CAPTIONS:
        if key in lowered:
            return caption
    return "Figure from the explanation stage."


def _physics_caption(name: str, pack: DomainPack | None) -> str:
    """A physics-check figure's caption: the pack's for its name, else the pack's "physics" one, else the core's."""
    own = (pack.caption(name) or pack.caption("physics")) if pack is not None else None
    return own or _caption("physics")


def find_study_folder(path: str | Path) -> Path:
    """The study folder for *path*: the folder itself, or the parent of a ``results`` folder."""
    path = Path(path)
    if not path.is_dir():
        raise DataError(f"{path}: no such folder; expected a study folder (from `glassline study` or the demo)")
    if (path / "results.csv").exists() and path.name == "results":
        return path.parent
    if (path / "results" / "results.csv").exists() or (path / "study.toml").exists():
        return path
    raise DataError(
        f"{path}: not a study folder; expected results/results.csv (from `glassline fit`) or study.toml in it"
    )


def _load_study(root: Path, study: Study | None) -> Study:
    """The study of a study folder: given, else the one its results were fitted from, else its study.toml."""
    return resolve_study(root / "results", study).study


def _blocks_html(blocks: list[ReportBlock], section: str) -> list[str]:
    """The HTML of the domain pack's blocks for *section*, in the pack's order."""
    parts = []
    for block in (b for b in blocks if b.section == section):
        if block.heading:
            parts.append(f"<h4>{html.escape(block.heading)}</h4>")
        if block.text:
            parts.append(f"<p>{html.escape(block.text)}</p>")
        if block.table is not None:
            table = block.table
            text_columns = tuple(str(c) for c in table.columns if not pd.api.types.is_numeric_dtype(table[c]))
            parts.append(df_table(table, left=text_columns))
        parts.extend(figure_html(Figure(f.path, f.caption, f.title)) for f in block.figures)
    return parts


def _glossary(pack: DomainPack | None) -> list[Section]:
    if pack is None or not pack.glossary:
        return []
    items = "".join(
        f"<dt>{html.escape(term)}</dt><dd>{html.escape(meaning)}</dd>" for term, meaning in pack.glossary.items()
    )
    title = f" ({html.escape(pack.title)})" if pack.title else ""
    return [Section("glossary", "Glossary", f"<p>Terms of the study's domain{title}.</p><dl>{items}</dl>")]


def _near_limit(value: float, limit: float) -> str:
    """*value* with enough decimals that its side of *limit* shows (0.3027 → "0.303", not "0.30")."""
    for decimals in range(2, 6):
        text = f"{value:.{decimals}f}"
        if float(text) != limit or value == limit:
            return text
    return f"{value:.6f}"


def _study_section(folder: StudyFolder, figures: Path, pack: DomainPack | None = None) -> Section:
    study = folder.study
    factors = pd.DataFrame(
        [
            {
                "factor": f.label or f.name,
                "column": f.name,
                "unit": f.unit,
                "range": f"{f.low:g} – {f.high:g}" if f.kind == "continuous" else ", ".join(f.levels or []),
            }
            for f in study.factors
        ]
    )
    parts = [
        f"<p>{len(study.factors)} factors set by the experiment, {len(study.measured)} inputs measured on the "
        f"line, {len(study.responses)} responses.</p>",
        df_table(factors, left=("factor", "column", "range")),
    ]
    subsections = []
    diag_path = folder.root / "design_diagnostics.json"
    design_path = folder.root / "design.csv"
    if diag_path.exists():
        diag = json.loads(diag_path.read_text(encoding="utf-8"))
        line = diag.get("comparison", {}).get("line", "")
        body = [
            f'<p class="note"><strong>{line}</strong>. I-criterion (average prediction variance, coded units) '
            f"{diag['i_criterion']:.4f}; D-efficiency {diag['d_efficiency']:.1f} %; max VIF {diag['max_vif']:.2f}; "
            f"max |r| between factors {_near_limit(float(diag['max_abs_correlation']), 0.3)} (the paper requires "
            "below 0.3).</p>"
        ]
        vif = pd.DataFrame({"model term": list(diag.get("vif", {})), "VIF": list(diag.get("vif", {}).values())})
        body.append("<h4>Variance inflation per model term</h4>" + df_table(vif, left=("model term",)))
        corr = pd.DataFrame(diag.get("correlation", {}))
        if not corr.empty:
            body.append(
                "<h4>Correlation of the factor columns</h4>"
                + df_table(corr.reset_index(names="factor"), left=("factor",))
            )
        if design_path.exists():
            pairs = design_pairs(pd.read_csv(design_path), study, figures / "design_pairs.png")
            if pairs:
                body.append(
                    figure_html(
                        Figure(
                            pairs,
                            "Design points in real units; a bigger dot is a replicated "
                            "point. Corners, face centres and the centre cover the box evenly.",
                            "Design",
                        )
                    )
                )
        body.append(
            figure_html(
                Figure(
                    folder.root / "fds.png",
                    "Fraction of design space: the share of the box "
                    "(x) whose prediction variance is at most y. A flat, low curve means the design "
                    "predicts evenly well; the right end shows the worst corners.",
                    "FDS",
                )
            )
        )
        subsections.append(Section("design", "Design", "".join(body)))
    return Section("study", "The study", "".join(parts), subsections + _glossary(pack))


def _data_section(folder: StudyFolder, blocks: list[ReportBlock]) -> Section:
    meta = folder.dataset_metadata()
    levels = meta.get("levels", {}) if isinstance(meta, dict) else {}
    if not levels:
        return Section("data", "The data", '<p class="muted">No prepared dataset in this folder.</p>')
    counts = pd.DataFrame(
        [
            {
                "table": k,
                "rows": v.get("rows"),
                "groups": v.get("groups"),
                "responses": ", ".join(v.get("responses", [])),
            }
            for k, v in levels.items()
        ]
    )
    body = [
        "<p>Rows per table after reading, alignment and cleaning.</p>",
        df_table(counts, left=("table", "responses")),
    ]
    log_path = folder.dataset / "cleaning_log.csv"
    if log_path.exists():
        log = pd.read_csv(log_path)
        summary = log.groupby(["file", "rule", "action"]).size().reset_index(name="rows") if len(log) else log
        body.append(
            f"<h4>Cleaning log ({len(log)} rows)</h4><p>Every row removed or changed, with file and row, is in "
            "<code>dataset/cleaning_log.csv</code>.</p>" + df_table(summary, left=("file", "rule", "action"))
        )
    body.extend(_blocks_html(blocks, "data"))
    return Section("data", "The data", "".join(body))


def _models_section(folder: StudyFolder) -> Section:
    results = folder.results_table()
    if results.empty:
        return Section("models", "Models", '<p class="muted">No model comparison in this folder.</p>')
    run = folder.run()
    # Table 5's columns and the grouped-CV ones, in the order the comparison writes them
    hidden = {
        "optimism",
        "max_vif",
        "max_abs_r",
        "cv_scheme",
        "params",
        "cv_rmse_std",
        "cv_splits",
        "n_rows",
        "inputs",
        "n_fits",
        "fit_seconds",
    }
    # the mean of per-fold R² is not shown (see the note under the table)
    hidden |= {"cv_r2_mean", "cv_r2_std"}
    columns = [c for c in RESULT_COLUMNS if c not in hidden]
    table = results[[c for c in columns if c in results.columns]]
    body = [
        f"<p>Left: the paper's protocol (one random {int(float(run.get('test_fraction', 0.2)) * 100)} % test split, "
        f"the same test rows for every family). Right: {run.get('cv_description', 'grouped cross-validation')}. The "
        "best family per target and scenario (highlighted) is chosen by the grouped figure, never by the random "
        "split.</p>",
        df_table(table, left=("target", "scenario", "family"), highlight="best"),
        _cv_note(results),
    ]
    for note in run.get("notes", []) if isinstance(run.get("notes"), list) else []:
        body.append(f'<p class="muted">{note}</p>')
    sub = []
    for png in sorted((folder.results / "parity").glob("*.png")):
        sub.append(
            figure_html(
                Figure(
                    png,
                    "Parity: measured (x) against predicted (y), training and test rows, one "
                    "panel per scenario and family; points on the diagonal are perfect.",
                    png.stem.replace("_", " "),
                )
            )
        )
    return Section("models", "Models (Table 5)", "".join(body), [Section("parity", "Parity plots", "".join(sub))])


#: the narratives' roles shown as text (the manager and the technician have their own views at the top)
def _cv_note(results: pd.DataFrame) -> str:
    """Why Table 5 shows the pooled grouped-CV R² and not the mean of the folds' R²."""
    note = (
        "<strong>cv_r2_pooled</strong> is the R² of all out-of-fold predictions taken together: every row "
        "predicted by a model that never saw its configuration. The mean of the per-fold R² (column "
        "<code>cv_r2_mean</code> of <code>results/results.csv</code>) is not shown: a fold holds only a few "
        "configurations, so the response varies little inside it and one fold's R² can fall far below zero even "
        "when the predictions are close"
    )
    if "cv_r2_mean" in results and results["cv_r2_mean"].notna().any():
        worst = float(results["cv_r2_mean"].min())
        note += f" (here the fold mean goes down to {worst:.3g})"
    return f'<p class="muted">{note}.</p>'


ROLE_ORDER = (
    ("domain_expert", "For domain experts"),
    ("data_scientist", "For data scientists"),
)
#: how the explanation stage picks the lead model of a response (glassline.explain's ``lead_fits``), in words
LEAD_MODEL_RULE = (
    "the lead model of a response is the best family of each scenario (by pooled grouped-CV R²), and among "
    "those the one with the highest pooled grouped-CV R²; scenarios without a collinearity warning come first, "
    "then explainable scenarios with one, then the rest"
)
#: explanation figures shown per target, in this order (the rest stay in the folder)
FIGURE_ORDER = ("beeswarm", "mdi", "coefficients", "dependence", "contour", "window")


def _narratives(root: Path, study: Study) -> Section | None:
    path = root / "narratives.json"
    if not path.exists():
        return None
    story = json.loads(path.read_text(encoding="utf-8"))
    subsections = []
    for key, title in ROLE_ORDER:
        parts = []
        for target, entry in story.items():
            text = (entry.get("roles") or {}).get(key)
            if text:
                label = study.response(target).label or target
                parts.append(f'<h4>{label}</h4><p>{text} <a href="#explain-{target}">Figures and tables</a></p>')
        if parts:
            subsections.append(Section(f"role-{key}", title, "".join(parts)))
    return Section(
        "narratives",
        "What the models say, per role",
        f"<p>Computed from the explanations of the lead model per response, in the study's names and units: "
        f"{LEAD_MODEL_RULE}.</p>",
        subsections,
    )


def _explanations_section(
    folder: StudyFolder, pack: DomainPack | None = None, blocks: list[ReportBlock] | None = None
) -> tuple[Section, Section | None]:
    root = folder.explanations
    if not root.is_dir():
        return Section("explanations", "Explanations", '<p class="muted">No explanations in this folder.</p>'), None
    story_path = root / "narratives.json"
    story = json.loads(story_path.read_text(encoding="utf-8")) if story_path.exists() else {}
    body = [
        "<p>Every table below is also a CSV file in <code>explanations/</code>; figures of every scenario and "
        "family are in <code>explanations/figures/</code>. Shown here: the lead model's scenario per response "
        f"({LEAD_MODEL_RULE}).</p>"
    ]
    tables = {
        name: pd.read_csv(root / name)
        for name in ("importance.csv", "agreement.csv", "expectations.csv", "physics_check.csv", "influential.csv")
        if (root / name).exists()
    }
    if "expectations.csv" in tables:
        frame = tables["expectations.csv"]
        passed = int(frame["passed"].astype(bool).sum())
        body.append(
            f"<h4>Expert expectations</h4><p>{passed} of {len(frame)} model × expectation checks hold "
            "(sign of the partial dependence over the design space).</p>"
            + df_table(
                frame[frame["best"].astype(bool)] if "best" in frame else frame,
                left=("target", "scenario", "family", "feature", "expected", "observed"),
            )
        )
    if "agreement.csv" in tables:
        frame = tables["agreement.csv"]
        flagged = frame[frame["disagree"].astype(bool)] if "disagree" in frame else frame
        body.append(
            f"<h4>Agreement between methods and families</h4><p>{len(frame)} pairs of rankings compared "
            f"(Kendall τ); {len(flagged)} disagree on the top input, listed with the models' R²:</p>"
            + df_table(
                flagged,
                left=("target", "scenario", "method_a", "family_a", "method_b", "family_b", "top_a", "top_b", "weaker"),
                max_rows=40,
            )
        )
    if "physics_check.csv" in tables:
        body.append(
            "<h4>Physics check</h4>"
            + df_table(tables["physics_check.csv"], left=("target", "scenario", "family", "check", "group"))
        )
    if "influential.csv" in tables:
        frame = tables["influential.csv"]
        frame = frame[frame["candidate"].astype(bool)] if "candidate" in frame else frame
        frame = name_rows(folder, frame)
        body.append(
            "<h4>Influential points (candidates for data-quality and label checks)</h4>"
            + df_table(
                frame, left=("target", "scenario", "family", "configuration and specimen", "method"), max_rows=30
            )
        )
    body.extend(_blocks_html(blocks or [], "explanations"))
    subsections = []
    for target, entry in story.items():
        model = entry.get("model") or {}
        scenario, family = model.get("scenario"), model.get("family")
        folder_png = root / "figures" / target / str(scenario)
        parts = []
        if "importance.csv" in tables:
            imp = tables["importance.csv"]
            lead = imp[(imp["target"] == target) & (imp["scenario"] == scenario)]
            lead = lead[lead["family"] == family]
            parts.append(
                df_table(
                    lead.drop(columns=["target", "scenario"], errors="ignore"), left=("family", "method", "feature")
                )
            )
        pngs = sorted(folder_png.glob("*.png")) if folder_png.is_dir() else []
        for kind in FIGURE_ORDER:
            for png in (p for p in pngs if kind in p.stem):
                parts.append(
                    figure_html(
                        Figure(
                            png, _caption(png.stem, pack), f"{entry.get('label', target)}: {png.stem.replace('_', ' ')}"
                        )
                    )
                )
        label = folder.study.response(target).label or target
        subsections.append(Section(f"explain-{target}", f"{label} ({scenario}, lead {family})", "".join(parts)))
    window = sorted((root / "figures" / "window").glob("*.png"))
    if window:
        recommended = ""
        if (root / "window.json").exists():
            info = json.loads((root / "window.json").read_text(encoding="utf-8"))
            setting = info.get("recommended") if isinstance(info, dict) else None
            if isinstance(setting, dict):
                recommended = (
                    "<p><strong>Recommended setting:</strong> "
                    + ", ".join(
                        f"{folder.study.column(k).display} = {v:.3g}"
                        for k, v in setting.items()
                        if k in folder.study.input_names
                    )
                    + "</p>"
                )
        subsections.append(
            Section(
                "process-window",
                "Process window",
                recommended
                + "".join(figure_html(Figure(p, _caption("window", pack), p.stem.replace("_", " "))) for p in window),
            )
        )
    physics = sorted((root / "figures" / "physics").glob("*.png"))
    if physics:
        subsections.append(
            Section(
                "physics",
                "Physics check figures",
                "".join(figure_html(Figure(p, _physics_caption(p.stem, pack), p.stem)) for p in physics),
            )
        )
    return Section("explanations", "Explanations", "".join(body), subsections), _narratives(root, folder.study)


def _limitations(folder: StudyFolder) -> Section:
    study = folder.study
    results = folder.results_table()
    items = [
        "Every statement holds inside the studied ranges only: "
        + "; ".join(
            f"{f.label or f.name} {f.low:g}–{f.high:g} {f.unit}" for f in study.factors if f.kind == "continuous"
        )
        + ".",
        "Small data: a designed experiment has a few configurations with replicates; the grouped cross-validation "
        "figures are the honest ones, and rankings with overlapping intervals are not settled.",
    ]
    if not results.empty and "explainable" in results:
        bad = sorted({f"{r.target} / {r.scenario}" for r in results.itertuples() if not bool(r.explainable)})
        if bad:
            items.append(
                "Not explainable (correlated inputs, no per-input explanation offered): " + ", ".join(bad) + "."
            )
    return Section("limitations", "Limitations", "<ul>" + "".join(f"<li>{i}</li>" for i in items) + "</ul>")


def build_report(path: str | Path, out: str | Path | None = None, *, study: Study | None = None) -> Path:
    """Write the self-contained HTML report of a study folder (default: ``<folder>/report.html``).

    Also writes the model cards, the datasheet (``cards/``) and the AI-Act evidence map
    (``ai_act_evidence.md``) it shows.
    """
    root = find_study_folder(path)
    folder = StudyFolder(root, _load_study(root, study))
    target = Path(out) if out is not None else root / "report.html"
    figures = root / "report_figures"
    figures.mkdir(parents=True, exist_ok=True)
    pack = study_domain(folder.study)
    context = ReportContext(folder.study, root, folder.dataset, root / "raw", figures)
    blocks = list(pack.report(context)) if pack is not None and pack.report is not None else []
    cards = write_cards(folder)
    target.parent.mkdir(parents=True, exist_ok=True)
    evidence = evidence_map(root, writing=(target.name,) if target.parent == root else ())
    (root / "ai_act_evidence.md").write_text(evidence_markdown(evidence), encoding="utf-8")
    explanations, narratives = _explanations_section(folder, pack, blocks)
    results = folder.results_table()
    card_html = (
        "".join(
            f"<details><summary>{key}</summary>{markdown_html(model_card(card_facts(folder, row)))}</details>"
            for key, row in (
                (f"{r['target']} / {r['scenario']}", r) for _, r in results[results["best"].astype(bool)].iterrows()
            )
        )
        if not results.empty
        else ""
    )
    technician = technician_section(folder, pack)
    reference = _blocks_html(blocks, "reference")  # the domain's reference case (the electrode pack: its paper)
    # the report's sections, top to bottom: the role views first, then the evidence behind them; a new
    # section is one more entry here (a builder returning a Section)
    sections = [
        manager_section(folder),
        technician,
        *([narratives] if narratives else []),
        _study_section(folder, figures, pack),
        _data_section(folder, blocks),
        _models_section(folder),
        explanations,
        *([Section("reference", pack.reference, "".join(reference))] if reference and pack is not None else []),
        _limitations(folder),
        Section(
            "cards",
            "Model cards and datasheet",
            f"<p>{len(cards) - 1} model cards (best family per target and scenario) and one datasheet, also "
            f"as Markdown in <code>cards/</code>.</p>{card_html}"
            f"<details><summary>Datasheet</summary>{markdown_html(datasheet(folder))}</details>",
        ),
        Section(
            "ai-act",
            "EU AI Act: evidence map",
            "<p>Evidence for, not a statement of compliance: a process-quality regressor is usually not a "
            "high-risk system.</p>" + df_table(evidence, left=tuple(evidence.columns)),
        ),
        Section("reproduce", "Reproducibility", _reproducibility(folder)),
    ]
    scripts = [TECHNICIAN_SCRIPT] if 'id="tech-data"' in technician.body else []
    target.write_text(
        page(
            f"{folder.study.name}: study report",
            f"glassline {_version('glassline')} · {date.today().isoformat()}"
            + (" · data: simulated (not measurements of a real line)" if folder.simulated else ""),
            sections,
            scripts,
        ),
        encoding="utf-8",
    )
    return target


def _version(name: str) -> str:
    return library_version(name)  # by distribution, else the one providing the module (xgboost-cpu)


def _reproducibility(folder: StudyFolder) -> str:
    packages = ["glassline", "numpy", "pandas", "scikit-learn", "xgboost", "shap", "impedance"]
    rows = pd.DataFrame([{"package": p, "version": _version(p)} for p in packages])
    return (
        f"<p>Seed {folder.study.seed}; Python {platform.python_version()}. Rerun with the same study file and "
        "seed to get the same files.</p>" + df_table(rows, left=("package", "version"))
    )
