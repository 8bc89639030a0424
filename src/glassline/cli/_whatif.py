"""``glassline whatif`` (counterfactual and what-if curves of registered models) and ``glassline window``."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Annotated, Any

import typer

from glassline.cli._app import app, console

__all__ = ["whatif", "window"]


def _json_object(text: str, option: str) -> dict[str, Any]:
    from glassline.exceptions import SpecError

    source = text
    if text.startswith("@"):
        source = Path(text[1:]).read_text(encoding="utf-8")
    try:
        data = json.loads(source)
    except ValueError as exc:
        raise SpecError(f"{option}: expected a JSON object such as '{{\"porosity\": 0.4}}'; {exc}") from None
    if not isinstance(data, dict):
        raise SpecError(f"{option}: expected a JSON object of name → number, got {type(data).__name__}: {text!r}")
    return data


def _names(text: str | None) -> list[str] | None:
    if text is None:
        return None
    names = [part.strip() for part in text.split(",") if part.strip()]
    return names


def _format(value: float | None) -> str:
    return "–" if value is None or not math.isfinite(value) else f"{value:.5g}"


@app.command()
def whatif(
    model: Annotated[
        list[str],
        typer.Option(
            "--model",
            "-m",
            help="A registered model: NAME, NAME@ALIAS or NAME/VERSION (repeat: several models solved jointly).",
            show_default=False,
        ),
    ],
    row: Annotated[
        str,
        typer.Option("--row", help="The row as JSON, e.g. '{\"porosity\": 0.4, ...}' (or @FILE).", show_default=False),
    ],
    require: Annotated[
        list[str] | None,
        typer.Option(
            "--require",
            "-r",
            help='A bound on a model\'s response (or model name), e.g. "adhesion_strength>=350" (repeat). '
            "Default: the study file's requirements on the models' responses.",
        ),
    ] = None,
    settable: Annotated[
        str | None,
        typer.Option("--settable", help="Comma-separated factors that may change. Default: the study's factors."),
    ] = None,
    weights: Annotated[
        str | None,
        typer.Option("--weights", help="Cost of changing a factor by its whole range, as JSON: '{\"loading\": 5}'."),
    ] = None,
    interval: Annotated[
        bool,
        typer.Option("--interval/--point", help="The whole prediction interval must meet it, or the prediction."),
    ] = True,
    along: Annotated[
        str | None,
        typer.Option("--along", help="What-if curves along one factor, or a grid along two (a,b), instead."),
    ] = None,
    points: Annotated[int, typer.Option("--points", help="Points per axis of the what-if curves.", min=2)] = 11,
    seconds: Annotated[float, typer.Option("--seconds", help="Time budget of a search.", min=0.01)] = 10.0,
    as_json: Annotated[bool, typer.Option("--json", help="Print the answer as JSON.")] = False,
    tracking_uri: Annotated[
        str | None, typer.Option("--tracking-uri", help="MLflow tracking URI. [default: the workspace's]")
    ] = None,
    home: Annotated[
        Path | None,
        typer.Option("--home", help="Workspace folder of the registry. [default: $GLASSLINE_HOME or ./.glassline]"),
    ] = None,
) -> None:
    """The smallest change of the settable factors that brings the predictions into spec (fewest factors
    first, then the weighted change in range units), with the whole interval inside the domain, exactly as
    the service predicts; or what-if curves with --along."""
    from glassline.exceptions import SpecError
    from glassline.optimize import Target, counterfactual, parse_bounds, what_if
    from glassline.registry import load_model
    from glassline.serve import ServedModel, default_settable, served_space, served_surface

    values = _json_object(row, "--row")
    served = [ServedModel(load_model(ref, home=home, tracking=tracking_uri)) for ref in model]
    names = [m.name for m in served]
    if len(set(names)) != len(names):
        raise SpecError(f"--model: a model is given twice: {names}")
    space = served_space(served)
    surfaces = {m.name: served_surface(m) for m in served}
    space.vector(values)  # the row first: an unknown, missing or non-numeric factor named
    if along is not None:
        factors = _names(along) or []
        curves = what_if(values, list(surfaces.values()), space, factors, points=points)
        data = curves.as_dict()
        if as_json:
            console.print_json(json.dumps(data, allow_nan=False))
            return
        _print_curves(data, served)
        return
    by_name: dict[str, str] = {}
    for m in served:
        by_name[m.name] = m.name
        by_name.setdefault(m.bundle.target, m.name)
    texts = list(require or [])
    if not texts:
        for m in served:
            texts += [t for t in m.bundle.study.requirements if m.bundle.target in parse_bounds([t]).by_response]
        if not texts:
            raise SpecError(
                'give --require (e.g. --require "adhesion_strength>=350"): the study file has no requirement on '
                f"{sorted({m.bundle.target for m in served})}, or use --along for what-if curves"
            )
    bounds = parse_bounds(texts, list(by_name))
    targets = [Target(surfaces[by_name[name]], low=lo, high=hi) for name, (lo, hi) in bounds]
    chosen = _names(settable) if settable is not None else [n for n in default_settable(served) if n in space.factors]
    answer = counterfactual(
        values,
        targets,
        space,
        settable=chosen,
        weights=_json_object(weights, "--weights") if weights is not None else None,
        interval=interval,
        seconds=seconds,
    )
    data = answer.as_dict()
    data["intervals"] = {k: list(v) for k, v in answer.intervals.items()}
    if as_json:
        console.print_json(json.dumps(data, allow_nan=False))
        return
    _print_answer(data, targets, served)


def _print_answer(data: dict[str, Any], targets: list[Any], served: list[Any]) -> None:
    units = {m.name: m.unit for m in served}
    if data["feasible"]:
        n = data["n_changed"]
        console.print(
            f"[green]feasible[/]: change {n} factor{'s' if n != 1 else ''} (distance {data['distance']:.4g} range "
            f"units; {data['method']}{', optimal' if data['optimal'] else ''})",
            highlight=False,
        )
        for name, change in data["changes"].items():
            unit = f" {change['unit']}" if change["unit"] else ""
            console.print(f"  {name}: {change['from']:.5g} → {change['to']:.5g}{unit}", highlight=False)
    else:
        console.print(f"[red]infeasible[/]: {data['certificate']}", highlight=False)
    for t in targets:
        name = t.surface.name
        low, high = data["intervals"][name]
        unit = f" {units[name]}" if units.get(name) else ""
        console.print(
            f"  {name}: {_format(data['predictions'][name])}{unit}, interval [{_format(low)}, {_format(high)}]; "
            f"required {t}",
            highlight=False,
        )
    console.print(f"[dim]how:[/] {data['resolution']}; {data['seconds']:.3g} s", highlight=False)
    for note in data["notes"]:
        console.print(f"[dim]note:[/] {note}", highlight=False)


def _print_curves(data: dict[str, Any], served: list[Any]) -> None:
    factors = data["factors"]
    axes = data["axes"]
    for m in served:
        entry = data["responses"][m.name]
        console.print(f"[bold]{m.name}[/] ({m.bundle.target}, {m.unit}) along {' × '.join(factors)}", highlight=False)
        if len(factors) == 1:
            for i, x in enumerate(axes[factors[0]]):
                low = entry["lower"][i] if entry["lower"] is not None else None
                high = entry["upper"][i] if entry["upper"] is not None else None
                flag = "" if data["inside"][i] else "  (outside the domain)"
                console.print(
                    f"  {factors[0]} = {x:.5g}: {_format(entry['prediction'][i])} [{_format(low)}, {_format(high)}]"
                    + flag,
                    highlight=False,
                )
        else:
            for i, x in enumerate(axes[factors[0]]):
                cells = " ".join(f"{_format(v):>8}" for v in entry["prediction"][i])
                console.print(f"  {factors[0]} = {x:<8.5g} {cells}", highlight=False)


@app.command()
def window(
    results_dir: Annotated[
        Path, typer.Argument(help="A results folder written by 'glassline fit'.", show_default=False)
    ],
    require: Annotated[
        list[str] | None,
        typer.Option(
            "--require",
            "-r",
            help='A requirement, e.g. "adhesion_strength>=350" (repeat). Default: the study file\'s requirements.',
        ),
    ] = None,
    study: Annotated[
        Path | None, typer.Option("--study", help="The study file. Default: the one the results folder records.")
    ] = None,
    level: Annotated[float, typer.Option("--level", help="Coverage of the prediction intervals.")] = 0.9,
    points: Annotated[int, typer.Option("--points", help="Grid points per factor.", min=2)] = 21,
    as_json: Annotated[bool, typer.Option("--json", help="Print the window's summary as JSON.")] = False,
) -> None:
    """The process window from a results folder: the share of the design box where every requirement holds
    (by the predictions and with the whole interval), the recommended setting and the desirability optimum."""
    from glassline.exceptions import SpecError
    from glassline.explain import process_window
    from glassline.models import load_fits, resolve_study

    if not results_dir.is_dir():
        raise SpecError(f"RESULTS_DIR {results_dir}: not a folder; give a results folder written by 'glassline fit'")
    the_study = resolve_study(results_dir, study).study
    texts = list(require or []) or list(the_study.requirements)
    if not texts:
        raise SpecError('give --require (e.g. --require "adhesion_strength>=350"): the study file has no requirements')
    if not 0 < level < 1:
        raise SpecError(f"--level: expected a coverage between 0 and 1, got {level:g}")
    result = process_window(
        load_fits(results_dir), the_study, texts, level=level, points=points, results_dir=results_dir
    )
    summary = result.summary()
    if as_json:
        console.print_json(json.dumps(summary, allow_nan=False))
        return
    console.print(
        f"process window for {', '.join(summary['requirements'])}: the predictions meet every requirement on "
        f"{summary['predicted_feasible_fraction']:.1%} of the design grid, the whole interval on "
        f"{summary['feasible_fraction']:.1%}",
        highlight=False,
    )
    if summary["recommended"]:
        setting = summary["recommendation"]["setting"]
        console.print("  recommended: " + ", ".join(f"{k} = {v:.4g}" for k, v in setting.items()), highlight=False)
    optimum = summary.get("desirability")
    if optimum:
        console.print(
            f"  desirability optimum (D = {optimum['desirability']:.3g}): "
            + ", ".join(f"{k} = {v:.4g}" for k, v in optimum["setting"].items()),
            highlight=False,
        )
        for entry in optimum["responses"]:
            console.print(
                f"    {entry['requirement']}: predicted {_format(entry['predicted'])} "
                f"[{_format(entry['lower'])}, {_format(entry['upper'])}], d = {entry['desirability']:.3g}, "
                f"{_format(entry['trade_off'])} from the best in the box",
                highlight=False,
            )
    for note in summary["notes"]:
        console.print(f"[dim]note:[/] {note}", highlight=False)
