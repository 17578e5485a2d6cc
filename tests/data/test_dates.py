"""The `dates` step: exact parts of known dates, cycles that close at year end, formats found on the
training rows, and through the CLI a weekday the network learns, a checkpoint round trip and bad dates
at predict."""

import json

import numpy as np
import pandas as pd
import pytest

from nntrain.data.dates import Dates, detect_formats
from nntrain.data.step import Context
from nntrain.errors import DataError


def _prepared(train: list[str], later: list[str] | None = None, **options) -> tuple[pd.DataFrame, dict, Context]:
    """Fit a dates step on column `when` of `train`; transform `later` (default `train`)."""
    frame = pd.DataFrame({"when": train, "y": np.arange(len(train))})
    step, ctx = Dates(**options), Context(target=["y"], training=False)
    state = step.fit(frame, ctx)
    rows = frame if later is None else pd.DataFrame({"when": later, "y": np.arange(len(later))})
    return step.transform(rows, state, ctx), state, ctx


def _position(frame: pd.DataFrame, part: str, period) -> np.ndarray:
    """A cyclical part's position in its cycle, read back from its sin/cos pair."""
    angle = np.arctan2(frame[f"when_{part}_sin"], frame[f"when_{part}_cos"]) % (2 * np.pi)
    return np.round(angle / (2 * np.pi) * np.asarray(period, dtype=float), 9) % np.asarray(period, dtype=float)


def test_parts_of_known_dates_are_exact_including_the_leap_day_and_day_366():
    prepared, state, _ = _prepared(["2024-02-29", "2024-12-31", "2023-12-31", "2025-01-01"])
    assert state["columns"]["when"]["formats"] == ["ISO8601"]
    assert state["columns"]["when"]["parts"] == ["year", "month", "day", "weekday", "yearday"]  # no times: no hour
    assert prepared["when_year"].tolist() == [2024, 2024, 2023, 2025]
    # positions count from 0: the 29th of February is day 28 of a 29-day month and day 59 of a 366-day year
    assert _position(prepared, "month", 12).tolist() == [1, 11, 11, 0]
    assert _position(prepared, "day", [29, 31, 31, 31]).tolist() == [28, 30, 30, 0]
    assert _position(prepared, "weekday", 7).tolist() == [3, 1, 6, 2]  # Thursday, Tuesday, Sunday, Wednesday
    assert _position(prepared, "yearday", [366, 366, 365, 365]).tolist() == [59, 365, 364, 0]
    np.testing.assert_allclose(prepared["when_yearday_sin"][1], np.sin(2 * np.pi * 365 / 366), atol=1e-12)
    np.testing.assert_allclose(prepared["when_yearday_cos"][1], np.cos(2 * np.pi * 365 / 366), atol=1e-12)
    assert list(prepared.columns) == ["when_year", "when_month_sin", "when_month_cos", "when_day_sin", "when_day_cos",
                                      "when_weekday_sin", "when_weekday_cos", "when_yearday_sin", "when_yearday_cos",
                                      "y"]


def test_iso_times_with_an_offset_are_converted_to_utc_and_times_without_one_are_read_as_written():
    prepared, state, _ = _prepared(["2024-12-31T23:30:00-05:00", "2024-06-01T12:00:00Z", "2024-06-01T12:00:00+02:00",
                                    "2024-06-01 12:15"], days_since=True)
    assert "hour" in state["columns"]["when"]["parts"]
    assert state["columns"]["when"]["reference"] == "2024-06-01T10:00:00"  # 12:00+02:00, the earliest instant
    assert prepared["when_year"].tolist() == [2025, 2024, 2024, 2024]  # 23:30 in New York is 04:30 in London
    assert _position(prepared, "yearday", [365, 366, 366, 366]).tolist() == [0, 152, 152, 152]
    assert _position(prepared, "hour", 24).tolist() == [4.5, 12, 10, 12.25]
    assert prepared["when_days_since"].tolist() == [213 + 18.5 / 24, 2 / 24, 0, 2.25 / 24]  # 10:00 on June 1 to 04:30 on Jan 1


def test_email_and_debian_changelog_dates_are_found_and_their_offsets_converted_to_utc():
    """RFC 5322's form, as datasets/changelogs.csv has it: a weekday name, a month name and an offset."""
    prepared, state, _ = _prepared(["Tue, 20 Sep 2022 11:27:27 -0400", "Wed, 01 Jan 2020 23:30:00 -0100",
                                    "Sun, 29 Feb 2004 00:00:00 +0000"])
    assert state["columns"]["when"]["formats"] == ["%a, %d %b %Y %H:%M:%S %z"]
    assert prepared["when_year"].tolist() == [2022, 2020, 2004]
    assert _position(prepared, "hour", 24).tolist() == [15 + 27 / 60 + 27 / 3600, 0.5, 0]  # UTC
    assert _position(prepared, "weekday", 7).tolist() == [1, 3, 6]  # 00:30 on Thursday in UTC; Sunday


def test_cyclical_parts_are_continuous_across_the_end_of_a_year_and_of_a_month():
    days = pd.date_range("2023-12-20", "2024-01-10", freq="D").strftime("%Y-%m-%d").tolist()
    prepared, _, _ = _prepared(days)
    for part in ("yearday", "weekday"):
        pairs = prepared[[f"when_{part}_sin", f"when_{part}_cos"]].to_numpy()
        steps = np.linalg.norm(np.diff(pairs, axis=0), axis=1)
        np.testing.assert_allclose(steps, steps[0], rtol=0.01)  # Dec 31 -> Jan 1 is a day like any other
    new_year = days.index("2024-01-01")
    yearday = prepared[["when_yearday_sin", "when_yearday_cos"]].to_numpy()
    assert np.linalg.norm(yearday[new_year] - yearday[new_year - 1]) < 0.02
    day = prepared[["when_day_sin", "when_day_cos"]].to_numpy()  # the 31st beside the 1st: 2π/31 apart
    np.testing.assert_allclose(np.linalg.norm(day[new_year] - day[new_year - 1]), 2 * np.sin(np.pi / 31))
    month = prepared[["when_month_sin", "when_month_cos"]].to_numpy()  # December beside January
    np.testing.assert_allclose(np.linalg.norm(month[new_year] - month[new_year - 1]), 2 * np.sin(np.pi / 12))


def test_the_format_is_found_on_the_training_rows_and_kept_for_later_rows():
    # 13/04 settles day-first; later rows are parsed with the kept formats, times or not
    prepared, state, ctx = _prepared(["03/04/2024", "13/04/2024 10:30", "01/01/2023"], ["05/04/2024 06:00", "04/13/2024"])
    assert state["columns"]["when"]["formats"] == ["%d/%m/%Y", "%d/%m/%Y %H:%M"]
    assert _position(prepared, "month", 12)[0] == 3 and _position(prepared, "hour", 24)[0] == 6
    assert prepared.iloc[1, :-1].isna().all()  # the 13th month: missing, with a note
    assert ctx.notes == ["dates: 1 unparsable value in date column 'when' treated as missing (e.g. '04/13/2024' on "
                         "line 1)"]


def test_a_column_is_dates_when_95_percent_of_its_values_parse():
    dates = pd.date_range("2024-01-01", periods=19).strftime("%Y-%m-%d").tolist()
    assert detect_formats(pd.Series(dates + ["soon"])) == (["ISO8601"], 0.95)
    assert detect_formats(pd.Series(dates[:18] + ["soon", "later"])) == (["ISO8601"], 0.9)
    assert detect_formats(pd.Series(["red", "green"] * 10)) == ([], 0.0)
    assert detect_formats(pd.Series([1.5, 2.5])) == ([], 0.0)
    _, state, _ = _prepared(dates[:18] + ["soon", "later"])
    assert state == {"columns": {}}  # looking for date columns, it finds none
    with pytest.raises(DataError, match=r"dates: column 'when' holds no dates: 90% of its training values parse as "
                                        r"ISO8601 \(at least 95% must; e.g. 'soon' on line 18 does not\)"):
        _prepared(dates[:18] + ["soon", "later"], columns=["when"])


def test_a_given_format_is_used_instead_of_detecting_one():
    prepared, state, _ = _prepared(["01/02/2024", "03/04/2024"], formats={"when": "%d/%m/%Y"})
    assert state["columns"]["when"]["formats"] == ["%d/%m/%Y"]
    assert _position(prepared, "month", 12).tolist() == [1, 3]  # February and April, not January and March


WEEKDAY_ROWS = 420


@pytest.fixture
def weekday_csv(tmp_path):
    """Daily dates in random order with a noise column; the label is the weekday's half of the week."""
    rng = np.random.default_rng(3)
    days = pd.date_range("2022-01-03", periods=WEEKDAY_ROWS, freq="D")[rng.permutation(WEEKDAY_ROWS)]
    frame = pd.DataFrame({"when": days.strftime("%Y-%m-%d"), "noise": rng.normal(size=WEEKDAY_ROWS).round(3),
                          "label": np.where(days.day_of_week < 3, "early", "late")})
    path = tmp_path / "weekdays.csv"
    frame.to_csv(path, index=False)
    return path


def _weekday_config(write, tmp_path, data, name: str, steps: str):
    return write(f"{name}.yaml", f"""
        seed: 0
        data:
          train: {data}
          target: label
          split: {{validation: 0.25, test: 0.1}}
          pipeline: {steps}
        model: {{layers: [{{type: dense, units: 16, activation: relu}}]}}
        optimizer: {{type: adam, lr: 0.01}}
        training: {{epochs: 60, batch_size: 32}}
        output: {{dir: {tmp_path / name}}}
        """)


def test_a_weekday_target_is_learnt_from_date_parts_and_not_from_one_hot_dates(cli, write, tmp_path, weekday_csv):
    """One-hot, every validation date is a category never seen in training: nothing to learn from."""
    onehot = _weekday_config(write, tmp_path, weekday_csv, "onehot", "[{type: normalize}, {type: encode}]")
    dated = _weekday_config(write, tmp_path, weekday_csv, "dated", "[{type: dates}, {type: normalize}]")
    losses = {}
    for name, config in (("onehot", onehot), ("dated", dated)):
        result = cli("fit", config)
        assert result.returncode == 0, result.stderr
        losses[name] = json.loads((tmp_path / name / "summary.json").read_text())["best_value"]
    assert losses["onehot"] > 0.6  # about ln 2: the class balance and no more
    assert losses["dated"] < losses["onehot"] - 0.3


def test_fit_and_predict_round_trip_and_an_unparsable_date_at_predict_is_noted_and_filled(cli, write, tmp_path,
                                                                                          weekday_csv):
    config = _weekday_config(write, tmp_path, weekday_csv, "run",
                             "[{type: dates, days_since: true}, {type: clean, missing: median}, {type: normalize}]")
    fitted = cli("fit", config)
    assert fitted.returncode == 0, fitted.stderr
    report = json.loads(cli("data", config, "--json").stdout)
    assert [p["fate"] for p in report["columns"] if p["column"] == "when"] == ["encoded"]
    assert report["features"][:3] == ["when_year", "when_month_sin", "when_month_cos"]
    assert report["features"][-2:] == ["when_days_since", "noise"]
    rows = write("new.csv", """
        when,noise
        2023-05-01,0.1
        someday,0.2
        2023-05-04,0.3
        2023-05-01,0.1
        """)
    predicted = cli("predict", tmp_path / "run", rows)
    assert predicted.returncode == 0, predicted.stderr
    assert ("dates: 1 unparsable value in date column 'when' treated as missing (e.g. 'someday' on line 3)"
            in predicted.stderr)
    lines = predicted.stdout.splitlines()
    assert lines[0] == "prediction" and len(lines) == 5  # every row predicted, the unparsable one too
    assert lines[1] == lines[4] == "early" and lines[3] == "late"  # Mondays and a Thursday


def test_a_format_with_a_bad_code_is_a_config_error_naming_the_key(cli, write, tmp_path, weekday_csv):
    config = _weekday_config(write, tmp_path, weekday_csv, "bad", '[{type: dates, formats: {when: "%d/%Q"}}]')
    result = cli("check", config)
    assert result.returncode == 2
    assert "data.pipeline[0].formats (line 6): '%d/%Q' is not a date format: 'Q' is a bad directive" in result.stderr


def test_a_given_format_that_does_not_fit_the_column_is_refused_naming_it():
    with pytest.raises(DataError, match=r"dates: column 'when' holds no dates: 0% of its training values parse as "
                                        r"%d\.%m\.%Y \(at least 95% must; e.g. '2024-01-02' on line 0 does not\)"):
        _prepared(["2024-01-02", "2024-01-03"], formats={"when": "%d.%m.%Y"})
