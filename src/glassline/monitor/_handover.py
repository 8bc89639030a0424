"""The handover pack for the person who will monitor a model: model card, inputs and validity domain, what each
alarm means and what to do, the retraining rule, the reference window and contacts, as Markdown and HTML."""

from __future__ import annotations

import html
from pathlib import Path

from glassline.audit import AuditLog
from glassline.exceptions import OutputError
from glassline.monitor._monitor import CLEAR_AFTER, CLEAR_LEVEL, MAX_WINDOW, MIN_WINDOW, Monitor
from glassline.monitor._report import ALARM_KINDS
from glassline.registry import LoadedModel

__all__ = ["write_handover"]

_MEANING = {
    "input_drift": "an input's mean in the newest window differs from the reference",
    "prediction_drift": "the mean prediction (or the interval width) differs from the reference; the alarm "
    "splits the change exactly into the inputs' attribution changes",
    "attribution_drift": "the model leans differently on an input whose values are stable",
    "ood_rate": "more rows than expected fall outside the validity domain",
    "performance": "measured values (feedback) differ from the predictions on average",
    "coverage": "measured values fall outside the prediction intervals more often than stated",
}


def _markdown(monitor: Monitor) -> str:
    model = monitor.model
    bundle = model.bundle
    study = bundle.study
    ref = monitor.reference.describe()
    lines = [
        f"# Handover: {model.name} v{model.version}",
        "",
        f"Predicts **{study.response(bundle.target).display}** from {len(bundle.inputs)} inputs "
        f"({bundle.family}, scenario {bundle.scenario}).",
        "",
        "## Model card",
        "",
        bundle.card.strip() or "(the bundle has no model card)",
        "",
        "## Inputs and validity domain",
        "",
        "| input | label | unit | low | high |",
        "|---|---|---|---|---|",
    ]
    for r in bundle.domain.ranges:
        label, unit = monitor.labels.get(r.name, (r.name, r.unit))
        lines.append(f"| {r.name} | {label} | {unit or r.unit} | {r.low:.6g} | {r.high:.6g} |")
    d = bundle.domain.distance
    lines += [
        "",
        f"Beyond the box, a combination farther than {d.threshold:.4g} ({d.kind}) from the training rows is "
        "outside the domain.",
        "",
        "## Reference window",
        "",
        (
            f"Audit records {ref['first_seq']}–{ref['last_seq']} ({ref['n']} rows), declared with "
            "`glassline monitor reference`."
            if ref["source"] == "records"
            else f"The training rows ({ref['n']} rows of the bundle's background sample); declare a production "
            "window after commissioning with `glassline monitor reference --model NAME --records FIRST:LAST`."
        ),
        "",
        "## Alarms: what they mean and what to do",
        "",
        f"Each window of {MIN_WINDOW}–{MAX_WINDOW} rows is tested with a family-wise false-alarm rate of "
        f"{monitor.alpha:g} over all quantities together; an alarm clears after {CLEAR_AFTER} consecutive "
        f"windows with adjusted p above {CLEAR_LEVEL:g}. Check with "
        f"`glassline monitor check --model {model.name} --fail-on-alarm` (exit 3 on an alarm).",
        "",
        "Each alarm's root cause is graded. **Stated** (`root_cause_grade: stated`): the window singles out one "
        f"input (its adjusted p ≤ {monitor.alpha:g} while every other input's raw p is above it) and the window "
        "joined with the one before it singles out the same input. **Hedged**: the data do not single one out; "
        "the alarm lists the candidate inputs (`candidates`), and a lone window that is not confirmed by the "
        "one before it may be a false alarm. Act on a hedged cause by checking every candidate, or wait for the "
        "next window.",
        "",
    ]
    for kind in ALARM_KINDS:
        lines += [f"### {kind}", "", _MEANING[kind] + ".", ""]
        specific = [e for e in study.runbook if e.alarm == kind]
        for entry in specific:
            who = f" ({monitor.labels.get(entry.input, (entry.input, ''))[0]})" if entry.input else ""
            lines += [f"Steps{who}:", *(f"1. {s}" for s in entry.steps), ""]
        if not specific:
            lines += [
                *(f"1. {s}" for s in monitor._runbook(kind, None)),
                "",
            ]
    mds = monitor.test
    lines += [
        "## Minimum detectable shifts (80 % power, one window)",
        "",
        "| input | n = 10 | n = 30 | n = 100 |",
        "|---|---|---|---|",
    ]
    from glassline.monitor._stats import minimum_detectable_shift

    shifts = {n: minimum_detectable_shift(mds, n, monitor.alpha) for n in (10, 30, 100)}
    for j, q in enumerate(monitor.quantities):
        if q.kind == "input_drift" or q.key == "prediction":
            lines.append(f"| {q.key} | " + " | ".join(f"{shifts[n][j]:.3g} {q.unit}" for n in (10, 30, 100)) + " |")
    lines += [
        "",
        "## Retraining rule",
        "",
        "Retrain when a `performance` or `coverage` alarm is active: measured values (POST /v1/feedback) disagree "
        "with the predictions or fall outside the intervals more often than stated. Drift alarms alone are not a "
        "reason to retrain: they say where to look and when to measure parts. The verdict (`retraining` in the "
        "monitoring report) says yes/no, why, and since which window.",
        "",
        "## Contacts",
        "",
    ]
    if study.contacts:
        for c in study.contacts:
            reach = ", ".join(x for x in (c.email, c.phone) if x)
            lines.append(f"- {c.role}: {c.name}" + (f" ({reach})" if reach else ""))
    else:
        lines.append("(the study file names no contacts: add `[[contacts]]` entries with role and name)")
    return "\n".join(lines) + "\n"


def _html(markdown: str, title: str) -> str:
    """A plain HTML rendering of the handover Markdown (headings, lists, tables, paragraphs)."""
    out = [f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title></head><body>"]
    table = False
    for line in markdown.splitlines():
        if line.startswith("|"):
            cells = [html.escape(c.strip()) for c in line.strip("|").split("|")]
            if set("".join(cells)) <= {"-"}:
                continue
            if not table:
                out.append("<table border='1'>")
                table = True
            out.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
            continue
        if table:
            out.append("</table>")
            table = False
        if line.startswith("#"):
            level = len(line) - len(line.lstrip("#"))
            out.append(f"<h{level}>{html.escape(line[level:].strip())}</h{level}>")
        elif line.startswith(("1. ", "- ")):
            out.append(f"<li>{html.escape(line[3:] if line.startswith('1. ') else line[2:])}</li>")
        elif line.strip():
            out.append(f"<p>{html.escape(line)}</p>")
    if table:
        out.append("</table>")
    out.append("</body></html>")
    return "\n".join(out) + "\n"


def handover_markdown(log: AuditLog, model: LoadedModel) -> str:
    """The handover pack of *model* as Markdown (what :func:`write_handover` writes to ``handover.md``)."""
    return _markdown(Monitor(log, model, record=False, resamples=500))


def write_handover(log: AuditLog, model: LoadedModel, out_dir: str | Path) -> dict[str, Path]:
    """Write ``handover.md`` and ``handover.html`` for *model* into *out_dir*; their paths."""
    folder = Path(out_dir)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"--out {folder}: the folder cannot be created ({exc.strerror})") from None
    text = handover_markdown(log, model)
    paths = {"markdown": folder / "handover.md", "html": folder / "handover.html"}
    try:
        paths["markdown"].write_text(text, encoding="utf-8")
        paths["html"].write_text(_html(text, f"Handover: {model.name} v{model.version}"), encoding="utf-8")
    except OSError as exc:
        raise OutputError(f"--out {folder}: cannot write the handover pack ({exc.strerror})") from None
    return paths
