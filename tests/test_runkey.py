"""The run key's grouping: which runs make a summary row, and which of them it averages over."""

from __future__ import annotations

from wdcli.metrics.selection import unit_losses
from wdcli.metrics.summary import summarise
from wdcli.runkey import (
    RowKey,
    RunKey,
    averaged_runs,
    by_point,
    fold_of,
    validation_folds,
)


def run(lam, seed, fold=0, point=None, loss=1.0):
    record = {"lambda": lam, "seed": seed, "fold": fold, "status": "ok"}
    record.update({"train_loss": loss, "test_loss": loss})
    return record if point is None else {"point": point, **record}


def test_a_key_names_its_row_its_unit_and_its_data():
    key = RunKey.of(run(0.1, 3, fold=2, point={"b": 1, "a": 2}))
    assert key.row == RowKey('{"a": 2, "b": 1}', 0.1)
    assert key.unit == (3, 2)
    assert key.data_key == ('{"a": 2, "b": 1}', 3, 2)
    assert not key.whole_split
    assert RunKey.of(run(0.1, 3)).whole_split


def test_a_row_key_of_a_summary_row_and_of_its_runs_agree():
    assert RowKey.of({"lambda": 0.5}) == RunKey.of(run(0.5, 7)).row == RowKey("{}", 0.5)
    assert RowKey.of({"lambda": 0.5, "point": {"x": 1}}) != RowKey.of({"lambda": 0.5})


def test_a_holdout_row_averages_over_all_its_seeds():
    runs = [run(lam, seed) for seed in (0, 1) for lam in (0.0, 1.0)]
    averaged, holdout = averaged_runs(runs)
    assert holdout is None
    assert list(averaged) == [RowKey("{}", 0.0), RowKey("{}", 1.0)]
    assert averaged[RowKey("{}", 1.0)] == [runs[1], runs[3]]


def test_with_folds_a_row_averages_over_seeds_times_folds_and_keeps_fold_0_apart():
    runs = [run(1.0, seed, fold) for seed in (0, 1) for fold in (0, 1, 2)]
    averaged, holdout = averaged_runs(runs)
    assert [RunKey.of(r).unit for r in averaged[RowKey("{}", 1.0)]] == [
        (0, 1),
        (0, 2),
        (1, 1),
        (1, 2),
    ]
    assert holdout == {RowKey("{}", 1.0): [runs[0], runs[3]]}
    assert validation_folds(runs) == 2
    assert validation_folds(runs[:1]) == 0


def test_the_summary_counts_the_units_of_the_key():
    # 2 seeds × 2 folds, fold 0 (the test split) with a loss that must not enter the mean
    runs = [
        run(1.0, s, f, loss=100.0 if f == 0 else 1.0 + s + f) for s in (0, 1) for f in (0, 1, 2)
    ]
    rows, _, _ = summarise(runs, 0.05)
    assert rows[0]["n_units"] == 4
    assert rows[0]["test_loss_mean"] == 3.0
    assert rows[0]["holdout_test_loss_mean"] == 100.0
    assert set(unit_losses(runs[1:3])) == {(0, 1), (0, 2)}


def test_records_written_before_points_and_folds_group_as_point_empty_fold_0():
    old = {"lambda": 0.1, "seed": 0}
    assert fold_of(old) == fold_of({**old, "fold": None}) == 0
    assert by_point([old, {**old, "point": {"x": 1}}, {**old, "point": {}}]) == {
        "{}": [old, {**old, "point": {}}],
        '{"x": 1}': [{**old, "point": {"x": 1}}],
    }


# --------------------------------------------------------------------------- the key space


def _config(**extra):
    from wdcli.config.messages import validate

    data = {"name": "k", "dataset": {"name": "diabetes"}, "model": {"name": "linear"}}
    return validate({**data, "lambdas": [0, 0.1, 1], "seeds": [4, 2], **extra}, "<test>")


def test_the_folds_of_a_seed_come_from_the_validation_alone():
    assert _config().fold_values() == [0]
    assert _config(validation={"kind": "loo"}).fold_values() == [0, 1]
    kfold = _config(validation={"kind": "kfold", "folds": 3, "repeats": 2})
    assert kfold.fold_values() == [0, 1, 2, 3, 4, 5, 6]


def test_the_key_space_is_the_plan_and_orders_runs_as_a_document_does():
    from wdcli.config.grid import key_space
    from wdcli.sweep.plan import planned_keys

    config = _config(validation={"kind": "kfold", "folds": 2}, grid={"dataset.n_train": [50, 60]})
    space = key_space(config)
    keys = list(space.keys())
    assert len(space) == len(keys) == 2 * 3 * 2 * 3 == len(set(keys))
    assert set(keys) == planned_keys(config)
    assert space.units == [(4, 0), (4, 1), (4, 2), (2, 0), (2, 1), (2, 2)]  # seeds as written
    assert keys[:4] == [
        RunKey('{"dataset.n_train": 50}', 0.0, 4, 0),
        RunKey('{"dataset.n_train": 50}', 0.0, 4, 1),
        RunKey('{"dataset.n_train": 50}', 0.0, 4, 2),
        RunKey('{"dataset.n_train": 50}', 0.0, 2, 0),
    ]
    assert sorted(reversed(keys), key=space.sort_key()) == keys
