"""Datasets: deterministic, split as stated, standardised as StandardScaler does."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.preprocessing import StandardScaler

from wdcli.config import DATASET_CONFIGS, validate
from wdcli.data import standardise
from wdcli.data.build import build_dataset
from wdcli.errors import DataError


def _cfg(**dataset):
    raw = {"name": "t", "dataset": dataset, "model": {"name": "mlp"}, "lambdas": [0]}
    return validate(raw, "<test>").dataset


@pytest.mark.parametrize("name", [n for n in DATASET_CONFIGS if n not in ("csv", "modular")])
def test_every_dataset_builds_deterministically(name):
    cfg = _cfg(name=name, n_samples=120) if name != "digits" else _cfg(name=name, n_samples=300)
    a, b, c = build_dataset(cfg, 0), build_dataset(cfg, 0), build_dataset(cfg, 1)
    assert a.fingerprint() == b.fingerprint()
    assert a.fingerprint() != c.fingerprint()
    assert a.task == DATASET_CONFIGS[name].TASK
    n = len(a.y_train) + len(a.y_test)
    assert len(a.y_test) == int(np.ceil(0.25 * n))
    assert np.all(np.isfinite(a.X_train)) and np.all(np.isfinite(a.X_test))
    if a.task == "classification":
        assert a.y_train.dtype == np.int64 and a.n_classes >= 2
        assert set(np.unique(np.concatenate([a.y_train, a.y_test]))) <= set(range(a.n_classes))


def test_dataset_seed_fixes_the_data_for_every_run_seed():
    cfg = _cfg(name="moons", seed=7)
    assert build_dataset(cfg, 0).fingerprint() == build_dataset(cfg, 5).fingerprint()


def test_n_train_sets_the_training_size():
    data = build_dataset(_cfg(name="poly", n_samples=530, n_train=30), 0)
    assert (len(data.y_train), len(data.y_test)) == (30, 500)
    assert data.X_train.shape == (30, 15)


def test_n_train_too_large_is_an_error():
    with pytest.raises(
        DataError, match=r"^dataset.n_train: must be < the number of samples \(60\), got 60$"
    ):
        build_dataset(_cfg(name="poly", n_train=60), 0)


def test_standardisation_matches_standard_scaler_and_leaves_constants_centred():
    rng = np.random.default_rng(0)
    X_train, X_test = rng.normal(3, 2, (50, 4)), rng.normal(3, 2, (20, 4))
    X_train[:, 2] = X_test[:, 2] = 5.0
    A, B = standardise(X_train, X_test)
    scaler = StandardScaler().fit(X_train)
    np.testing.assert_allclose(A, scaler.transform(X_train), atol=1e-12)
    np.testing.assert_allclose(B, scaler.transform(X_test), atol=1e-12)
    assert np.all(A[:, 2] == 0) and np.all(np.isfinite(B))


def test_csv_dataset(tmp_path):
    rows = ["a,b,label"] + [f"{i},{i * i % 7},{'yes' if i % 3 else 'no'}" for i in range(40)]
    (tmp_path / "d.csv").write_text("\n".join(rows) + "\n")
    raw = {
        "name": "c",
        "dataset": {"name": "csv", "path": "d.csv", "target": "label"},
        "model": {"name": "logistic"},
        "lambdas": [0],
    }
    cfg = validate(raw, str(tmp_path / "c.yaml")).dataset
    data = build_dataset(cfg, 0)
    assert data.task == "classification" and data.classes == ["no", "yes"]
    assert data.X_train.shape[1] == 2 and len(data.y_train) + len(data.y_test) == 40


@pytest.mark.parametrize(
    ("content", "target", "message"),
    [
        ("a,b\n1,2\n", "y", "{p}: no column 'y' named in dataset.target (columns: a, b)"),
        (
            "a,y\n1,2\nx,3\n",
            "y",
            "{p}: line 3: column 'a' is not a number: 'x'; list 'a' in dataset.categorical "
            "if it holds categories, or leave it out of dataset.features if it names the rows "
            "(an ID)",
        ),
        (
            "a,y\n1,2\n3\n",
            "y",
            "{p}: line 3: 1 fields, the header has 2 (separator ','; quote fields that contain it)",
        ),
        ("a,y\n", "y", "{p}: has a header row but no data rows"),
        ("y\n1\n2\n", "y", "{p}: no feature columns besides 'y'"),
    ],
)
def test_bad_csv_files(tmp_path, content, target, message):
    path = tmp_path / "bad.csv"
    path.write_text(content)
    raw = {
        "name": "c",
        "dataset": {"name": "csv", "path": str(path), "target": target},
        "model": {"name": "linear"},
        "lambdas": [0],
    }
    with pytest.raises(DataError) as info:
        build_dataset(validate(raw, "<test>").dataset, 0)
    assert str(info.value) == message.format(p=path)


def test_missing_csv(tmp_path):
    raw = {
        "name": "c",
        "dataset": {"name": "csv", "path": "nope.csv", "target": "y"},
        "model": {"name": "linear"},
        "lambdas": [0],
    }
    with pytest.raises(DataError, match=r"nope\.csv: no such file$"):
        build_dataset(validate(raw, str(tmp_path / "c.yaml")).dataset, 0)


def test_more_samples_or_training_rows_than_the_data_has_are_refused(tmp_path):
    # both were cut to what there is, without a word
    config = validate({"name": "x", "dataset": {"name": "diabetes", "n_samples": 1000},
                       "model": {"name": "linear"}, "lambdas": [1]}, "<test>")  # fmt: skip
    with pytest.raises(DataError) as info:
        build_dataset(config.dataset, 0)
    assert str(info.value) == (
        "dataset.n_samples: 1000 is more than the 442 rows of 'diabetes'; leave it out to use "
        "them all"
    )
    rows = "".join(f"{i},{2 * i}\n" for i in range(40))
    (tmp_path / "train.csv").write_text("x,y\n" + rows)
    (tmp_path / "test.csv").write_text("x,y\n" + "".join(f"{i},{2 * i}\n" for i in range(40, 60)))
    dataset = {"name": "csv", "path": str(tmp_path / "train.csv"), "target": "y",
               "test_path": str(tmp_path / "test.csv"), "n_train": 100}  # fmt: skip
    config = validate({"name": "x", "dataset": dataset, "model": {"name": "linear"},
                       "lambdas": [1]}, str(tmp_path / "c.yaml"))  # fmt: skip
    with pytest.raises(DataError) as info:
        build_dataset(config.dataset, 0)
    assert str(info.value) == (
        f"dataset.n_train: 100 is more than the 40 rows of {tmp_path / 'train.csv'}"
    )
