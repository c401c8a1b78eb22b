"""features, categorical and impute: scikit-learn's encoders, fitted on training rows only."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from sklearn.impute import SimpleImputer
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from wdcli.config import validate
from wdcli.data.build import build_dataset
from wdcli.data.preprocess import Frame, Preprocessing, prepare
from wdcli.errors import ConfigError, DataError


def _frame(numeric, categorical) -> Frame:
    numeric = np.asarray(numeric, dtype=float)
    categorical = np.asarray(categorical, dtype=object)
    return Frame(
        numeric,
        categorical,
        [f"n{j}" for j in range(numeric.shape[1])],
        [f"c{j}" for j in range(categorical.shape[1])],
    )


def _reference(train: Frame, other: Frame, strategy: str) -> tuple[np.ndarray, np.ndarray]:
    """The same steps, each scikit-learn's, fitted on the training rows."""
    numbers = SimpleImputer(strategy=strategy).fit(train.numeric)
    cats = SimpleImputer(missing_values=None, strategy="most_frequent").fit(train.categorical)
    onehot = OneHotEncoder(handle_unknown="ignore", sparse_output=False).fit(
        cats.transform(train.categorical)
    )

    def encode(X: Frame) -> np.ndarray:
        return np.hstack(
            [numbers.transform(X.numeric), onehot.transform(cats.transform(X.categorical))]
        )

    scaler = StandardScaler().fit(encode(train))
    return scaler.transform(encode(train)), scaler.transform(encode(other))


@pytest.mark.parametrize("strategy", ["mean", "median"])
def test_matches_scikit_learn_fitted_on_the_training_rows(strategy):
    rng = np.random.default_rng(3)
    numeric = rng.normal(size=(40, 3))
    numeric[rng.random((40, 3)) < 0.15] = np.nan
    categorical = rng.choice(["red", "green", "blue", None], size=(40, 2), p=[0.4, 0.3, 0.2, 0.1])
    frame = _frame(numeric, categorical)
    train, other = frame[np.arange(30)], frame[np.arange(30, 40)]
    A, (B,) = prepare(train, [other], impute=strategy)
    ref_A, ref_B = _reference(train, other, strategy)
    np.testing.assert_allclose(A, ref_A, atol=1e-12)
    np.testing.assert_allclose(B, ref_B, atol=1e-12)


def test_nothing_is_learnt_from_the_rows_it_is_applied_to():
    rng = np.random.default_rng(0)
    train = _frame(rng.normal(size=(20, 2)), rng.choice(["a", "b"], size=(20, 1)))
    other = _frame([[1e6, np.nan]], [["never seen"]])
    step = Preprocessing("mean").fit(train)
    before = step.transform(train)
    out = step.transform(other)
    np.testing.assert_array_equal(step.transform(train), before)
    # the unseen category is all zeros before scaling: minus the training mean over the std
    means = np.array([np.mean(train.categorical[:, 0] == c) for c in ("a", "b")])
    stds = np.sqrt(means * (1 - means))
    np.testing.assert_allclose(out[0, 2:], -means / stds)
    # the missing number is the training mean: 0 after standardising
    assert out[0, 1] == pytest.approx(0.0, abs=1e-12)


def test_a_column_with_nothing_to_impute_from_is_refused():
    train = _frame([[np.nan, 1.0], [np.nan, 2.0]], np.empty((2, 0)))
    with pytest.raises(DataError) as info:
        Preprocessing("median").fit(train)
    assert str(info.value) == (
        "dataset.impute: column 'n0' has no value in the training rows to fill its missing "
        "cells from; leave it out of dataset.features"
    )


def test_float_arrays_are_standardised_exactly_as_before():
    rng = np.random.default_rng(1)
    X, Y = rng.normal(2, 3, (30, 4)), rng.normal(2, 3, (10, 4))
    A, (B,) = prepare(X, [Y])
    mean, std = X.mean(axis=0), X.std(axis=0)
    np.testing.assert_array_equal(A, (X - mean) / std)
    np.testing.assert_array_equal(B, (Y - mean) / std)


# --------------------------------------------------------------------------- from a config


def _write(tmp: Path, name: str, header: str, rows: list[str]) -> None:
    (tmp / name).write_text(header + "\n" + "\n".join(rows) + "\n")


def _cfg(tmp: Path, **dataset):
    raw = {
        "name": "c",
        "dataset": {"name": "csv", "path": "d.csv", "target": "y", **dataset},
        "model": {"name": "linear"},
        "lambdas": [0],
    }
    return validate(raw, str(tmp / "c.yaml")).dataset


def test_features_categorical_and_impute_from_a_config(tmp_path):
    colours = ["red", "green", "blue"]
    rows = [
        f"{i},{'' if i % 5 == 0 else i % 7},{colours[i % 3]},{i * 0.5},noise{i}" for i in range(30)
    ]
    _write(tmp_path, "d.csv", "a,b,colour,y,id", rows)
    _write(tmp_path, "t.csv", "id,y,colour,b,a", ["x,1.5,purple,3,4", "z,2,red,NA,5"])
    cfg = _cfg(
        tmp_path,
        test_path="t.csv",
        features=["a", "b", "colour"],
        categorical=["colour"],
        impute="mean",
    )
    data = build_dataset(cfg, 0)
    assert data.X_train.shape == (30, 2 + 3) and data.X_test.shape == (2, 5)
    b = np.array([np.nan if i % 5 == 0 else i % 7 for i in range(30)])
    b_mean, b_std = np.nanmean(b), np.nanstd(np.where(np.isnan(b), np.nanmean(b), b))
    assert data.X_test[0, 1] == pytest.approx((3 - b_mean) / b_std)
    assert data.X_test[1, 1] == pytest.approx(0.0, abs=1e-12)  # imputed with the train mean
    # 'purple' is unknown: every one-hot column at its "absent" value
    np.testing.assert_allclose(data.X_test[0, 2:], -np.sqrt(0.5) * np.ones(3), rtol=1e-12)


@pytest.mark.parametrize(
    ("dataset", "message"),
    [
        ({"features": []}, "{p}: dataset.features: must name at least one column"),
        ({"features": ["a", "a"]}, "{p}: dataset.features: 'a' twice"),
        ({"features": ["a", "y"]}, "{p}: dataset.features: 'y' is the target, not a feature"),
        ({"categorical": ["y"]}, "{p}: dataset.categorical: 'y' is the target, not a feature"),
        (
            {"features": ["a"], "categorical": ["b"]},
            "{p}: dataset.categorical: 'b' is not among the features ['a']",
        ),
        (
            {"impute": "zero"},
            "{p}: dataset.impute: must be 'refuse', 'mean' or 'median'",
        ),
    ],
)
def test_bad_column_settings(tmp_path, dataset, message):
    with pytest.raises(ConfigError) as info:
        _cfg(tmp_path, **dataset)
    assert str(info.value) == message.format(p=tmp_path / "c.yaml")


@pytest.mark.parametrize(
    ("dataset", "message"),
    [
        ({"features": ["a", "q"]}, "{p}: no column 'q' named in dataset.features (columns: a, b, y)"),
        ({"categorical": ["k"]}, "{p}: no column 'k' named in dataset.categorical (columns: a, b, y)"),
        ({}, "{p}: line 3: column 'b' is missing ('NA'); set dataset.impute: mean or median to fill missing cells from the training rows"),
        ({"categorical": ["b"]}, "{p}: line 3: column 'b' is missing ('NA'); set dataset.impute: mean or median to fill missing cells from the training rows"),
        ({"features": ["a"], "task": "classification", "test_path": "t.csv"}, "{t}: line 2: column 'a' is inf, not a finite number"),
    ],
)  # fmt: skip
def test_columns_checked_against_the_file(tmp_path, dataset, message):
    _write(tmp_path, "d.csv", "a,b,y", ["1,2,3", "2,NA,4", "3,4,5", "4,5,6"])
    _write(tmp_path, "t.csv", "y,a", ["3,inf"])
    with pytest.raises(DataError) as info:
        build_dataset(_cfg(tmp_path, **dataset), 0)
    assert str(info.value) == message.format(p=tmp_path / "d.csv", t=tmp_path / "t.csv")


@pytest.mark.parametrize("unit", [1e-15, 1e-155, 3e-162, 1e-200, 1e12])  # 1e-155…1e-162: a
# subnormal variance, whose std came out 20 % off
def test_a_feature_in_tiny_or_huge_units_is_standardised_not_dropped(unit):
    rng = np.random.default_rng(2)
    X = rng.normal(0.5, 1, (40, 2))
    A, _ = prepare(X * [1, unit], [])
    np.testing.assert_allclose(A[:, 1], StandardScaler().fit_transform(X)[:, 1], rtol=1e-9)


def test_a_constant_column_is_zero_in_the_training_rows_and_centred_not_divided_elsewhere():
    X = np.column_stack([np.full(20, 3.0), np.full(20, 1e-200), np.arange(20.0)])
    X[:, 0] += 1e-16 * np.arange(20)  # rounding noise on a constant, as StandardScaler sees it
    X_test = np.array([[5.0, 1.0, 4.0]])
    A, (B,) = prepare(X, [X_test])
    # the noise left after centring read as a feature: an MLP's random weights on it stayed
    # (0.3 beside 0.30000000000000004 in a file, 7 ± 50 in its test file: test loss 3.8)
    assert A[:, :2].tolist() == [[0.0, 0.0]] * 20
    np.testing.assert_allclose(B[0, :2], X_test[0, :2] - X[:, :2].mean(axis=0), rtol=1e-15)
    assert A[:, 2].std() == pytest.approx(1.0)
