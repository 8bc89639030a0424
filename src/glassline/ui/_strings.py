"""Every user-facing string of the dashboards, in one catalogue per language.

Templates and code ask :func:`text` (``t`` in templates) for a key; a translation is one more dict with the
same keys in :data:`CATALOGUES` (a test checks that every catalogue has every key and the same placeholders).
Placeholders are :meth:`str.format` fields.
"""

from __future__ import annotations

from typing import Any

__all__ = ["CATALOGUES", "ENGLISH", "text"]

ENGLISH: dict[str, str] = {
    # layout
    "product": "glassline",
    "skip": "Skip to the content",
    "nav.label": "Dashboards",
    "nav.operator": "Operator",
    "nav.technician": "Technician",
    "nav.engineer": "Engineer",
    "nav.manager": "Manager",
    "nav.quality": "Quality",
    "signed_in": "Signed in as {role}",
    "logout": "Sign out",
    "footer": "Every number links to the audit record it came from. Served by this service only; nothing is loaded "
    "from elsewhere.",
    "state.running": "running",
    "state.stopped": "stopped",
    "state.stopped_by": "stopped by {actor}: {reason}",
    # login
    "login.title": "Sign in",
    "login.intro": "Sign in with an API token of this service (glassline token create --role ROLE).",
    "login.token": "Token",
    "login.submit": "Sign in",
    "login.bad_token": "That token is unknown, revoked or expired.",
    "login.too_many": "Too many unknown tokens from this address; try again in {seconds} s.",
    "login.expired": "Your session has ended (expired, signed out, or the token was revoked); sign in again.",
    "login.csrf": "The sign-in form was stale or not sent by this page; please sign in again.",
    "logged_out": "You are signed out.",
    # errors
    "forbidden.title": "Not allowed",
    "forbidden.body": "This page or action needs the role {needed}; you are signed in as {role}.",
    "forbidden.home": "Go to your dashboard",
    "csrf.title": "Form rejected",
    "csrf.body": "The form did not carry this session's check token (it may be stale, or sent by another site). "
    "Reload the page and try again.",
    "notfound.title": "Not found",
    "filter.title": "Unknown filter",
    "filter.kind": "There is no record kind {kind!r}; the kinds are: {kinds}.",
    "invalid.title": "Not accepted",
    # providers
    "monitor.off": "Monitoring is not enabled for this service: no alarms, windows or retraining verdicts are shown.",
    "whatif.off": "What-if (counterfactual suggestions) is not enabled for this service.",
    "handover.off": "The handover pack comes with monitoring, which is not enabled for this service.",
    "monitor.none_yet": "Monitoring has no window for this model yet.",
    "monitor.failed": "The monitoring report could not be read: {error}",
    "whatif.failed": "The what-if service gave no answer: {error}",
    # operator
    "operator.title": "Operator: latest predictions",
    "operator.intro": "Each row is one prediction of the service, newest first. Select a row to see why the model "
    "predicts it, suggest a change or override it.",
    "spec": "Specification: {text}",
    "spec.none": "The study file sets no requirement on this property: rows have no traffic light.",
    "light.in": "in spec",
    "light.risk": "at risk: the interval crosses the limit",
    "light.out": "out of spec",
    "light.none": "no spec",
    "col.status": "Status",
    "col.time": "Time (UTC)",
    "col.prediction": "Prediction",
    "col.reasons": "Top reasons",
    "col.domain": "Inputs",
    "col.record": "Record",
    "col.override": "Override",
    "domain.inside": "inside the validity domain",
    "domain.outside": "outside the validity domain",
    "domain.violation": "{input} = {value} ({kind} {limit})",
    "domain.far": "unusual combination (distance {distance})",
    "fallback": "fallback applied: {fallback}",
    "reason.raises": "{input} = {value} raises it by {size}",
    "reason.lowers": "{input} = {value} lowers it by {size}",
    "no_predictions": "No predictions of this model in the audit log yet.",
    "select_row": "Select a prediction row to see its explanation.",
    "overridden": "overridden to {value} by {actor}: {reason}",
    "model.heading": "{display}: model {name} v{version}",
    # waterfall
    "waterfall.title": "Why {value}: record {seq}, row {row}",
    "waterfall.base": "average prediction (background)",
    "waterfall.total": "this prediction",
    "waterfall.table": "Contributions, largest first",
    "waterfall.input": "Input",
    "waterfall.value": "Value",
    "waterfall.effect": "Effect",
    "waterfall.interval": "Prediction {value}, {level} interval {low} to {high}",
    "waterfall.no_interval": "Prediction {value}; the model has no prediction interval.",
    # override
    "override.title": "Override this prediction",
    "override.value": "Replacement value ({unit})",
    "override.reason": "Reason (required, audited)",
    "override.submit": "Override",
    "override.done": "Override recorded as audit record {seq}.",
    "override.not_allowed": "Your role may not override predictions.",
    # counterfactual
    "cf.title": "Suggest a change into spec",
    "cf.min": "At least ({unit})",
    "cf.max": "At most ({unit})",
    "cf.settable": "Inputs that may change",
    "cf.interval": "The whole prediction interval inside the requirement",
    "cf.submit": "Suggest",
    "cf.feasible": "Change {n} input(s): predicted {prediction} ({low} to {high}), distance {distance}.",
    "cf.infeasible": "No setting inside the validity domain meets the requirement.",
    "cf.change": "{input}: {from_} → {to}",
    "cf.record": "audited as request {request_id}",
    "cf.need_bound": "Give at least one bound (at least or at most).",
    "cf.not_number": "{field}: expected a number, got {value!r}",
    "cf.in_spec": "This prediction is in spec; the suggestion form is for rows out of spec or at risk.",
    # technician
    "technician.title": "Technician: alarms, control charts, audit chain",
    "alarms": "Alarms",
    "alarm.none": "No alarm in the newest window (records {first}–{last}, {n} rows; {tests} quantities tested).",
    "alarm.window": "Window: records {first}–{last} ({n} rows)",
    "alarm.kind.input_drift": "Input drift",
    "alarm.kind.prediction_drift": "Prediction drift",
    "alarm.kind.attribution_drift": "Attribution drift",
    "alarm.kind.ood_rate": "Out-of-domain rate",
    "alarm.kind.performance": "Performance",
    "alarm.kind.coverage": "Interval coverage",
    "alarm.stats": "{statistic}; p = {p}, adjusted p = {adjusted}; size {size} {unit}",
    "alarm.contributions": "Part of the mean prediction shift, by input",
    "alarm.grade.stated": "Root cause stated: these data single out {inputs}.",
    "alarm.grade.hedged": "Root cause hedged: these data do not single out one input (candidates: {inputs}).",
    "alarm.runbook": "What to do",
    "alarm.predictions": "Show this window's predictions",
    "window.title": "Predictions of {model}, records {first}–{last}",
    "charts": "Control charts",
    "charts.intro": "The newest {n} predictions of {model}; centre line and limits (mean ± 3 sd) of the model's "
    "reference rows (the training background, {ref} rows). Click a point for its audit record.",
    "charts.prediction": "Prediction",
    "charts.attribution": "Attribution of {input}",
    "charts.model": "Model",
    "charts.show": "Show",
    "chain": "Audit chain",
    "chain.ok": "Audit chain OK: {n} records verified.",
    "chain.broken": "Audit chain broken at record {seq}: {reason}",
    # engineer
    "engineer.title": "Engineer: models, explanations, what-if, performance",
    "oversight": "Stop and start",
    "oversight.reason": "Reason (required, audited)",
    "oversight.stop": "Stop every model",
    "oversight.start": "Start again",
    "oversight.done": "{kind} recorded as audit record {seq}.",
    "oversight.state": "The service is {state}.",
    "comparison": "Model comparison (grouped cross-validation)",
    "comparison.from_study": "From {file} of the study the models came from.",
    "comparison.from_bundle": "The served models' own grouped-CV figures (start the service with --results to show "
    "the whole comparison table).",
    "global": "Global explanation on production rows",
    "global.intro": "Mean absolute attribution over the newest {n} predicted rows (records {first}–{last}), with a "
    "90 % bootstrap interval over rows.",
    "global.none": "Too few predictions for a global explanation (at least 10 rows are needed, {n} found).",
    "dependence": "Dependence: each input's attribution against its value",
    "whatif": "What-if curve",
    "whatif.intro": "The model's prediction as one input moves across its validity range, the others held at the "
    "chosen row's values.",
    "whatif.factor": "Input to move",
    "whatif.base": "From record {seq}, row {row}",
    "whatif.submit": "Draw",
    "whatif.band": "band: the prediction interval (± {half})",
    "whatif.no_band": "no band: the model has no prediction interval",
    "counterfactual": "Counterfactual: the smallest change into spec",
    "performance": "Performance from feedback",
    "performance.none": "No measured values (feedback) yet for this model.",
    "performance.figures": "{n} measured rows: mean absolute error {mae}, bias {bias} {unit}; {covered} of {n} "
    "inside their interval ({share}).",
    "retraining": "Retraining verdict",
    "retraining.none": "The monitoring report has no retraining verdict; performance and coverage alarms: {alarms}.",
    "retraining.yes": "Retrain: yes, {why} (since {since}).",
    "retraining.no": "Retrain: no, {why}.",
    # manager
    "manager.title": "Manager: this week at a glance",
    "manager.share": "{share} of {n} predictions this week were in spec (95 % interval {low}–{high}); {sure} had "
    "the whole interval in spec.",
    "manager.share.none": "No predictions this week.",
    "manager.alarms": "{n} monitoring alarm(s) this week against a budget of {budget}.",
    "manager.alarms.over": "over budget",
    "manager.alarms.within": "within budget",
    "manager.levers": "Main levers",
    "manager.levers.study": "Main levers, as the study found them",
    "manager.levers.study.note": "From the study's graded claims ({file}); each carries how sure the study's "
    "data make it.",
    "manager.levers.lead": "These are the study's findings for its lead model ({family}, {scenario} inputs); "
    "the served model is {served}.",
    "manager.levers.rows": "What moves this week's predictions",
    "manager.lever.up": "Higher {input} goes with a higher {target} (typically {size}).",
    "manager.lever.down": "Higher {input} goes with a lower {target} (typically {size}).",
    "manager.lever.mixed": "{input} moves {target} by about {size}; which way depends on the other settings.",
    "manager.lever.tied": "The first two levers are about equally strong on these rows.",
    "manager.status": "Status: {state}; version {version}, published {published}.",
    # quality
    "quality.title": "Quality: model cards, evidence, audit log",
    "cards": "Model cards",
    "handover": "Handover pack",
    "evidence": "EU AI Act evidence map",
    "evidence.intro": "Evidence for each requirement, read from the study folder {folder}. It shows evidence, not "
    "compliance.",
    "evidence.off": "Start the service with --results RESULTS_DIR to show the evidence map of the study the models "
    "came from.",
    "evidence.article": "Article",
    "evidence.requirement": "Requirement",
    "evidence.status": "Status",
    "evidence.evidence": "Evidence",
    "audit": "Audit log",
    "audit.filter.kind": "Kind",
    "audit.filter.model": "Model",
    "audit.filter.any": "any",
    "audit.filter.apply": "Filter",
    "audit.export": "Export these records as CSV",
    "audit.verify": "Verify the whole chain",
    "audit.older": "Older records",
    "audit.newer": "Newest records",
    "audit.empty": "No record matches.",
    "audit.seq": "Record",
    "audit.time": "Time (UTC)",
    "audit.kind": "Kind",
    "audit.actor": "Actor",
    "audit.request": "Request",
    "audit.model": "Model",
    # record view
    "record.title": "Audit record {seq}",
    "record.ok": "Verified: its hash matches its content and it links to record {prev} before it{next}.",
    "record.next": " and record {next} after it",
    "record.bad_hash": "Not verified: its content does not match its hash (edited).",
    "record.bad_prev": "Not verified: its previous-hash does not match record {prev}.",
    "record.bad_next": "Not verified: record {next} does not link to it.",
    "record.payload": "Payload",
    "record.prev": "Previous record",
    "record.next_link": "Next record",
    "record.missing": "No audit record {seq}: the log holds records 1–{last}.",
    "record.request_missing": "No audit record carries request id {request_id}.",
}

#: The catalogues by language code; each has every key of :data:`ENGLISH`.
CATALOGUES: dict[str, dict[str, str]] = {"en": ENGLISH}


def text(key: str, language: str = "en", /, **values: Any) -> str:
    """The catalogue string *key* in *language* with *values* filled in (a missing key is a programming
    error: :class:`KeyError` naming it)."""
    template = CATALOGUES[language][key]
    return template.format(**values) if values else template
