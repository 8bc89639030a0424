"""A small production run through both paths of ``prepare``: pandas in memory and dask.dataframe, same numbers."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from glassline.cli import main
from glassline.data import aggregate_production, is_production_folder
from glassline.domains.electrode._sim_production import simulate_production
from glassline.exceptions import DataError, SpecError

SENSORS = ("coating_gap_left_um", "wet_mass_loading_mg_cm2", "dry_mass_loading_mg_cm2", "dryer_2_temperature_c")


@pytest.fixture(scope="module")
def production(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("production")
    result = simulate_production(out, 1, seed=5, rate_hz=0.5)
    assert result.log_rows == 24 * 1800
    assert result.coils == 24
    return out


def test_the_log_is_partitioned_by_day_one_file_per_coil(production: Path) -> None:
    files = sorted((production / "log").rglob("*.parquet"))
    assert len(files) == 24
    assert {f.parent.name for f in files} == {"day=2026-01-01"}
    assert is_production_folder(production)


def test_dask_path_equals_the_pandas_path_and_recovers_the_truth(production: Path) -> None:
    in_memory = aggregate_production(production, engine="pandas")
    on_dask = aggregate_production(production, engine="dask")
    assert in_memory.engine == "pandas"
    assert on_dask.engine == "dask"
    pd.testing.assert_frame_equal(in_memory.table, on_dask.table, check_exact=True)
    table = in_memory.table
    segments = pd.read_csv(production / "segments.csv")
    assert table["segment"].tolist() == segments["segment"].tolist()
    # the trimmed, aligned means recover each segment's set values within a few noise standard errors
    assert (table["coating_gap_left_um"] - (table["true_coating_gap_um"] + 1.0)).abs().max() < 1.0
    assert (table["dry_mass_loading_mg_cm2"] - table["true_dry_mass_loading_mg_cm2"]).abs().max() < 0.05
    assert (table["dryer_2_temperature_c"] - table["true_dryer_2_temperature_c"]).abs().max() < 0.5
    # a mean needs 5 valid readings (the end of a coil's last segment never reaches the downstream sensors)
    for sensor in SENSORS:
        enough = table[f"n_{sensor}"] >= 5
        assert table.loc[enough, sensor].notna().all()
        assert table.loc[~enough, sensor].isna().all()
        assert enough.mean() > 0.7


def test_auto_switches_on_the_byte_threshold(production: Path) -> None:
    assert aggregate_production(production, dask_bytes=1).engine == "dask"
    assert aggregate_production(production, dask_bytes=10**12).engine == "pandas"


@pytest.mark.slow
def test_prepare_cli_takes_the_dask_path_above_the_threshold(
    production: Path, tmp_path: Path, electrode_study_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GLASSLINE_DASK_LOG_BYTES", "1000")
    with pytest.raises(SystemExit) as info:
        main(["prepare", str(electrode_study_path), "--raw", str(production), "--out", str(tmp_path / "p")])
    assert info.value.code in (0, None)
    table = pd.read_parquet(tmp_path / "p" / "segments.parquet")
    pd.testing.assert_frame_equal(table, aggregate_production(production, engine="pandas").table, check_exact=True)


def test_bad_production_inputs(production: Path, tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="expected a whole number of days from 1 to 366, got 0"):
        simulate_production(tmp_path / "x", 0, seed=1)
    (tmp_path / "raw").mkdir()
    (tmp_path / "raw" / "production.json").write_text('{"log": "log"}', encoding="utf-8")
    with pytest.raises(DataError, match=r"production\.json: expected the entries"):
        aggregate_production(tmp_path / "raw")
