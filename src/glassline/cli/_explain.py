"""``glassline explain``: explain every model of RESULTS_DIR; write tables, narratives and figures."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from glassline.cli._app import app, console, progress
from glassline.cli._cluster import ClusterOption, using_cluster

__all__ = ["explain"]


def _names(values: list[str] | None) -> list[str] | None:
    if not values:
        return None
    return [part.strip() for value in values for part in value.split(",") if part.strip()]


@app.command()
def explain(
    results_dir: Annotated[
        Path, typer.Argument(help="A results folder written by 'glassline fit'.", show_default=False)
    ],
    out: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="Folder for the explanations. Default: RESULTS_DIR/explanations."),
    ] = None,
    study: Annotated[
        Path | None,
        typer.Option("--study", help="The study file. Default: the copy study.toml in RESULTS_DIR (or beside it)."),
    ] = None,
    targets: Annotated[
        list[str] | None, typer.Option("--targets", "-t", help="Responses to explain (repeat or comma-separate).")
    ] = None,
    families: Annotated[
        list[str] | None, typer.Option("--families", "-f", help="Families to explain. Default: all in the results.")
    ] = None,
    bootstrap: Annotated[
        int | None,
        typer.Option(
            "--bootstrap",
            "-b",
            help="Grouped bootstrap refits of each target's lead model for the claims' CIs, direction and rank "
            "probabilities (0: none; the lead scenario's other families get a tenth). Default: the study file's "
            "[models] bootstrap, else 100.",
        ),
    ] = None,
    require: Annotated[
        list[str] | None,
        typer.Option(
            "--require",
            "-r",
            help='A requirement on a response for the process window, e.g. "adhesion_strength>=400" (repeat).',
        ),
    ] = None,
    level: Annotated[float, typer.Option("--level", help="Coverage of the prediction intervals.")] = 0.9,
    jobs: Annotated[int, typer.Option("--jobs", "-j", help="Worker processes (1: none; -1: all cores).")] = 1,
    seed: Annotated[
        int | None,
        typer.Option(
            "--seed",
            help="Seed of permutation importance, bootstrap and sampled SHAP values (default: the seed the "
            "results were fitted with, else the study file's).",
        ),
    ] = None,
    include_unexplainable: Annotated[
        bool,
        typer.Option(
            "--include-unexplainable", help="Also explain scenarios past the hard collinearity limits (flagged)."
        ),
    ] = False,
    vif_soft: Annotated[
        float | None,
        typer.Option(
            "--vif-soft",
            help="Soft VIF limit: beyond it a scenario is explained with a 'collinear' warning "
            "(default: the study file's [models] collinearity_soft_vif, else 5).",
        ),
    ] = None,
    vif_hard: Annotated[
        float | None,
        typer.Option(
            "--vif-hard",
            help="Hard VIF limit: beyond it the inputs are near-copies and explanations are withheld "
            "(default: [models] collinearity_hard_vif, else 10).",
        ),
    ] = None,
    r_soft: Annotated[
        float | None,
        typer.Option(
            "--r-soft", help="Soft |r| limit between two inputs (default: [models] collinearity_soft_r, else 0.3)."
        ),
    ] = None,
    r_hard: Annotated[
        float | None,
        typer.Option(
            "--r-hard", help="Hard |r| limit between two inputs (default: [models] collinearity_hard_r, else 0.95)."
        ),
    ] = None,
    plots: Annotated[bool, typer.Option("--plots/--no-plots", help="Write the figures.")] = True,
    all_figures: Annotated[
        bool,
        typer.Option(
            "--all-figures",
            help="Figures of every explained fit (default: those the report shows, each target's lead scenario).",
        ),
    ] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar and no statements.")] = False,
    cluster: ClusterOption = None,
) -> None:
    """SHAP, MDI, normalized coefficients and permutation importance for every model; agreement, expert
    expectations, influential points and narratives per target."""
    from glassline.explain import explain as explain_results  # shap and statsmodels: load on use, not on --help

    with using_cluster(cluster), progress("explaining", quiet=quiet) as update:
        outcome = explain_results(
            results_dir,
            out,
            study=study,
            targets=_names(targets),
            families=_names(families),
            bootstrap=bootstrap,
            n_jobs=jobs,
            include_unexplainable=include_unexplainable,
            plots=plots,
            all_figures=all_figures,
            requirements=require or (),
            level=level,
            seed=seed,
            progress=update,
            vif_soft=vif_soft,
            vif_hard=vif_hard,
            r_soft=r_soft,
            r_hard=r_hard,
        )
    if not quiet:
        for target, entry in outcome.narratives.items():
            console.print(f"[bold]{target}[/] ({entry['model']['family']} / {entry['model']['scenario']})")
            console.print(f"  {entry['statements'][0]}", highlight=False)
        if outcome.window is not None:
            w = outcome.window
            console.print(
                f"process window: the predictions meet every requirement on {w.predicted_feasible_fraction:.0%} of "
                f"the design grid, the whole interval on {w.feasible_fraction:.0%}"
            )
            if w.recommended:
                console.print("  recommended: " + ", ".join(f"{k} = {v:.4g}" for k, v in w.recommended.items()))
        for warning in outcome.warnings.fillna("").to_dict("records"):
            console.print(
                f"[yellow]warning:[/] {warning['target']} / {warning['scenario']}: {warning['kind']}: "
                f"{warning['message']}",
                highlight=False,
            )
        for note in outcome.notes + (outcome.window.notes if outcome.window else []):
            console.print(f"[dim]note:[/] {note}", highlight=False)
    checks = outcome.expectations
    failed = int((~checks["passed"].astype(bool)).sum()) if len(checks) else 0
    folder = out if out is not None else results_dir / "explanations"
    console.print(
        f"[green]ok[/] {len(outcome.shap)} models explained; {failed} of {len(checks)} "
        f"expectation checks fail; seed {outcome.seed}; wrote {len(outcome.files)} files to {folder}",
        highlight=False,
    )
