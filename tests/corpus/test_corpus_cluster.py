"""Bad ``--cluster`` values and bad ``glassline predict`` arguments: one clear line each, no traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
from corpus_cli import Case, params, run_case

TABLE = "configuration,x1,y\nC0,0.1,1.0\nC1,0.2,2.0\n"
STUDY = """name = "tiny"
seed = 1
[[factors]]
name = "x1"
low = 0.0
high = 1.0
[[responses]]
name = "y"
"""


def fit(case_id: str, cluster: str, *expect: str) -> Case:
    argv = ["fit", "{tmp}/s.toml", "--data", "{tmp}/t.csv", "--out", "{tmp}/r", "-q", "--cluster", cluster]
    return Case(case_id, argv, expect, {"s.toml": STUDY, "t.csv": TABLE})


def predict(case_id: str, data: str, out: str, *expect: str, files: dict[str, str] | None = None) -> Case:
    argv = ["predict", "--model", "m", "--data", data, "--out", out, "-q", "--home", "{tmp}/ws"]
    return Case(case_id, argv, expect, files or {})


CASES = [
    fit("cluster-unknown-word", "dsk", "--cluster", "expected 'local', 'dask' or a scheduler address", "'dsk'"),
    fit("cluster-address-without-port", "tcp://10.0.0.5", "tcp://HOST:PORT", "'tcp://10.0.0.5'"),
    fit("cluster-port-out-of-range", "tcp://10.0.0.5:99999", "port 1-65535", "'tcp://10.0.0.5:99999'"),
    fit("cluster-http-address", "http://10.0.0.5:8786", "'http://10.0.0.5:8786'"),
    predict("predict-data-missing", "{tmp}/nope.parquet", "{tmp}/p.parquet", "--data {tmp}/nope.parquet", "no such"),
    predict(
        "predict-data-wrong-suffix",
        "{tmp}/d.json",
        "{tmp}/p.parquet",
        "--data {tmp}/d.json",
        "expected a Parquet file",
        "'.json'",
        files={"d.json": "{}"},
    ),
    predict(
        "predict-out-not-parquet",
        "{tmp}/d.csv",
        "{tmp}/p.csv",
        "--out {tmp}/p.csv",
        "expected a .parquet file",
        files={"d.csv": "x1\n0.1\n"},
    ),
]


@pytest.mark.parametrize("case", params(CASES))
def test_cluster_and_predict_bad_input(case: Case, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run_case(case, tmp_path, capsys)
