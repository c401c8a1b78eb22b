"""The registries' entries carry each model's and dataset's knowledge, with defaults that work."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
from conftest import results_of

from wdcli.config import DATASET_CONFIGS, MLPModel, validate
from wdcli.data import Dataset
from wdcli.data.build import SPLIT_ONLY_VARIES, source_stamp
from wdcli.data.sources import SOURCES
from wdcli.models import MODELS, ModelSpec, costs
from wdcli.models.ranges import baseline_range
from wdcli.records import Results
from wdcli.report.table import health_note
from wdcli.sweep import budget, schedule
from wdcli.tasks import REGRESSION

BARE = ModelSpec((REGRESSION,), "nowhere.fit", "a model with nothing but its name")


def _document(model: dict, statuses: dict[float, str]) -> Results:
    runs = [
        {"lambda": lam, "seed": 0, "status": s, "train_loss": None, "test_loss": None}
        for lam, s in statuses.items()
    ]
    summary = [{"lambda": lam, "test_loss_mean": None, "regime": None} for lam in statuses]
    return results_of(
        {"config": {"model": model}, "task": "regression", "runs": runs, "summary": summary}
    )


def test_a_bare_entry_gets_the_constant_predictors_range_and_newtons_costs():
    data = Dataset(np.zeros((4, 2)), np.array([0.0, 1.0, 2.0, 3.0]), np.zeros((2, 2)),
                   np.zeros(2), REGRESSION)  # fmt: skip
    assert BARE.lambda_range(data, None) == baseline_range(data) == (1.25e-5, 1.25)  # var(y)
    assert BARE.memory is costs.newton_memory and BARE.macs is costs.newton_macs
    assert BARE.work is None and not BARE.reports_progress
    assert (BARE.meanings, BARE.knobs, BARE.lr_key) == ({}, {}, None)


def test_health_hints_come_from_the_entry_and_default_to_the_data():
    statuses = {1.0: "diverged", 2.0: "not_converged"}
    bare = health_note(_document({"name": "new", "eta": 5.0}, statuses), BARE)
    assert bare == (
        "warning: no run trained: 1 diverged (loss or weights blew up) at λ = 1: check the data "
        "for extreme values; 1 not_converged (solver tolerance not met) at λ = 2: check the data "
        "for extreme values; so no λ has a regime and there is no λ_min (docs/health.md)"
    )
    assert health_note(_document({"name": "new"}, statuses), None) == bare
    spec = ModelSpec((REGRESSION,), "nowhere.fit", "s", meanings={"not_converged": "still"},
                     knobs={"not_converged": "raise model.steps"}, lr_key="eta")  # fmt: skip
    note = health_note(_document({"name": "new", "eta": 5.0}, statuses), spec)
    assert "1 diverged (loss or weights blew up) at λ = 1: lower the largest λ (every " in note
    assert "diverged run has λ·model.eta ≥ 1)" in note
    assert "1 not_converged (still) at λ = 2: raise model.steps;" in note
    low = health_note(_document({"name": "new", "eta": 0.5}, {1.0: "diverged"}), spec)
    assert ": check the data for extreme values;" in low  # λ·eta < 1: not λ's fault
    edge = health_note(_document({"name": "new", "eta": 0.5}, {2.0: "diverged"}), spec)
    assert ": lower the largest λ (every diverged run" in edge  # λ·eta = 1 counts


def test_costs_follow_the_entry():
    config = validate(
        {"name": "c", "dataset": {"name": "poly"}, "model": {"name": "linear"},
         "lambdas": [0, 1, 2], "seeds": 2}, "<test>",
    )  # fmt: skip
    shape = costs.Shape(n_train=100, n_test=50, d=15)
    parts = budget.sweep_parts(config, shape, 3, 1)
    n = 150
    assert parts["dataset.n_samples"] == (
        8.0 * 8 * n * 15 + 8 * (3 * n * 15 + 2 * 15**2),
        f"the data ({n} × 15) and its factorisation",
    )  # ridge's factorisation adds to the data's part
    wide = costs.ridge_memory(None, costs.Shape(n_train=750, n_test=250, d=60_000), 4, 1, 4)
    assert wide[costs.DATA][0] == 8 * (3 * 1000 * 60_000 + 2 * 750**2)  # XXᵀ, not
    # 2·d²: 60 000 features on 750 rows were refused as 58.6 GB, and took 1.45 GB
    assert parts["lambdas"] == (3 * 8 * 3 * (15 + n), "3 λ's weights")
    assert budget.seconds(config, shape, 1) == pytest.approx(
        2 * (4.0 * 100 * 15 * 15 + 3 * 150 * 15) / 1e10 + 3 * 2 * budget.RUN_SECONDS
    )
    assert schedule.sweep_work(config) == 0.0 and schedule.choose(config, cores=8)[0] == "serial"


def test_every_dataset_has_one_source_and_fixed_data_say_so():
    assert set(SOURCES) == set(DATASET_CONFIGS)
    for name, source in SOURCES.items():
        assert (source.load is None) != (source.split is None), name
    assert SPLIT_ONLY_VARIES == {"diabetes", "breast_cancer", "wine", "iris", "digits", "csv"}
    poly = DATASET_CONFIGS["poly"].model_validate({"name": "poly"})
    assert source_stamp(poly) == ()


def test_only_the_mlp_reports_progress_and_counts_its_work():
    assert [name for name, spec in MODELS.items() if spec.reports_progress] == ["mlp"]
    options = SimpleNamespace(hidden=[4], epochs=2, batch_rows=lambda n: 5)
    work = costs.mlp_work(options, costs.Shape(10, 5, 3), lambdas=2)
    # 3 × epochs × n × (3·4 + 4·1) × λ, plus 2 epochs × 2 batches × 2 layers × STEP_MACS
    assert work == 3.0 * 2 * 10 * 16 * 2 + 2 * 2 * 2 * costs.STEP_MACS


def test_mlp_time_counts_large_batches_at_their_faster_rate():
    # configs/grokking.yaml (full batches of 4 704 rows) took 1.5 min and was announced as
    # "roughly 12 minutes": large GEMMs run up to 8 × the rate of 64-row ones
    options = MLPModel(name="mlp", hidden=[16], epochs=10, batch_size=64)
    shape = costs.Shape(n_train=4096, n_test=100, d=8)
    small = costs.mlp_macs(options, shape, lambdas=4, seeds=1)
    full = costs.mlp_macs(options.model_copy(update={"batch_size": "full"}), shape, 4, 1)
    work = 3.0 * 10 * 4096 * (8 * 16 + 16 * 1) * 4
    assert small == pytest.approx(work + 10 * 64 * 2e6)
    assert full == pytest.approx(work / 8 + 10 * 2e6)
