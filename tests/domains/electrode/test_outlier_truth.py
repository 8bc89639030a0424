"""The study file's outlier rule on the simulated pilot line, read against ``raw/truth.json``.

Every injected gross adhesion outlier and every defective symmetric cell must be caught, and at most
1 % of the good rows the rule judges (adhesion specimens, symmetric cells, full cells) excluded.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from glassline import load_study
from glassline.data import prepare
from glassline.domains.electrode.simulator import PAPER_DESIGN, simulate_line

pytestmark = pytest.mark.slow

#: rules of the cleaning log that are outlier rules (the pooled, SD and MAD rules name themselves so)
OUTLIER_RULE = r"pooled|SD|MAD"


@pytest.fixture(scope="module", params=[2023, 7])
def line(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, electrode_study_path: Path) -> dict:
    seed = int(request.param)
    raw = tmp_path_factory.mktemp(f"raw{seed}")
    simulate_line(PAPER_DESIGN, raw, seed=seed)
    dataset = prepare(load_study(electrode_study_path), raw, tmp_path_factory.mktemp(f"dataset{seed}"))
    return {
        "raw": raw,
        "truth": json.loads((raw / "truth.json").read_text(encoding="utf-8")),
        "log": dataset.log.to_frame(),
    }


def _logged_rows(log: pd.DataFrame, file: str, *, rule: str | None = None) -> set[int]:
    rows = log[log["file"] == file]
    if rule is not None:
        rows = rows[rows["rule"].astype(str).str.contains(rule, regex=True)]
    return {int(r) for r in rows["row"].dropna()}


def test_the_study_file_uses_the_pooled_rule(electrode_study_path: Path) -> None:
    assert load_study(electrode_study_path).cleaning.outlier_rule == "pooled"


def test_every_injected_outlier_and_defective_cell_is_caught(line: dict) -> None:
    raw, truth, log = line["raw"], line["truth"], line["log"]
    specimens = pd.read_csv(raw / "adhesion.csv")
    row_of = {
        (str(r.configuration), str(r.state), int(r.specimen)): i + 2 for i, r in enumerate(specimens.itertuples())
    }
    gross = {row_of[(o["configuration"], o["state"], int(o["specimen"]))] for o in truth["adhesion_gross_outliers"]}
    assert gross, "the simulator injected no gross outlier"
    missed = gross - _logged_rows(log, "adhesion.csv", rule=OUTLIER_RULE)
    assert not missed, f"gross outliers kept: adhesion.csv rows {sorted(missed)}"
    index = pd.read_csv(raw / "eis" / "index.csv")
    cell_row = {str(f): i + 2 for i, f in enumerate(index["file"])}
    defective = {cell_row[c["file"]] for c in truth["eis_cells"] if c["defective"]}
    assert defective, "the simulator made no defective cell"
    missed = defective - _logged_rows(log, "eis/index.csv")  # by the outlier rule or the EIS fit check
    assert not missed, f"defective cells kept: eis/index.csv rows {sorted(missed)}"


def test_at_most_one_percent_of_good_rows_are_excluded(line: dict) -> None:
    raw, truth, log = line["raw"], line["truth"], line["log"]
    specimens = pd.read_csv(raw / "adhesion.csv")
    gross = {
        i + 2
        for i, r in enumerate(specimens.itertuples())
        if {"configuration": r.configuration, "state": r.state, "specimen": int(r.specimen)}
        in truth["adhesion_gross_outliers"]
    }
    index = pd.read_csv(raw / "eis" / "index.csv")
    defective_files = {c["file"] for c in truth["eis_cells"] if c["defective"]}
    defective = {i + 2 for i, f in enumerate(index["file"]) if f in defective_files}
    rates = pd.read_csv(raw / "rate_tests.csv")  # the simulator injects no rate-test outliers
    excluded = {
        "adhesion.csv": _logged_rows(log, "adhesion.csv", rule=OUTLIER_RULE) - gross,
        "eis/index.csv": _logged_rows(log, "eis/index.csv", rule=OUTLIER_RULE) - defective,
        "rate_tests.csv": _logged_rows(log, "rate_tests.csv", rule=OUTLIER_RULE),
    }
    good = len(specimens) - len(gross) + len(index) - len(defective) + len(rates)
    wrong = sum(len(rows) for rows in excluded.values())
    assert wrong <= 0.01 * good, f"{wrong} of {good} good rows excluded: {excluded}"
    # each reason names the rule's scale and cutoff
    reasons = log.loc[log["rule"].astype(str).str.contains("pooled"), "reason"].astype(str)
    assert len(reasons) > 0
    assert reasons.str.contains("pooled within-group SD").all()
    assert reasons.str.contains("the t cutoff for").all()
