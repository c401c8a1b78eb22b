"""Config edge cases: booleans, coinciding grids, merge keys, long error lists; validate and
sweep agree on each, and sweep writes nothing."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from wdcli.cli import app
from wdcli.config import load_config

BASE = "name: x\ndataset: {name: poly, n_samples: 30}\nmodel: {name: linear}\n"
BOOLEAN = " (YAML reads yes/no/on/off/true/false as booleans)"


def run(*args: str):
    return CliRunner().invoke(app, list(args))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (BASE + "lambdas: [no, yes]\n", "{p}: lambdas[0]: must be a number, not false" + BOOLEAN + "\n{p}: lambdas[1]: must be a number, not true" + BOOLEAN),
        (BASE + "lambdas: [0, on]\n", "{p}: lambdas[1]: must be a number, not true" + BOOLEAN),
        (BASE + "lambdas: [0]\nseeds: yes\n", "{p}: seeds: must be a number, not true" + BOOLEAN),
        (BASE + "lambdas: [0]\nseeds: [0, true]\n", "{p}: seeds[1]: must be a number, not true" + BOOLEAN),
        (BASE + "lambdas: {start: 1e-3, stop: 1, num: true}\n", "{p}: lambdas.num: must be a number, not true" + BOOLEAN),
        (BASE + "lambdas: [0]\ntolerance: off\n", "{p}: tolerance: must be a number, not false" + BOOLEAN),
        ("name: x\ndataset: {name: poly, n_samples: yes}\nmodel: {name: linear}\nlambdas: [0]\n", "{p}: dataset.n_samples: must be a number, not true" + BOOLEAN),
        ("name: x\ndataset: {name: poly, noise: no}\nmodel: {name: linear}\nlambdas: [0]\n", "{p}: dataset.noise: must be a number, not false" + BOOLEAN),
        ("name: x\ndataset: {name: poly}\nmodel: {name: mlp, hidden: [8, yes]}\nlambdas: [0]\n", "{p}: model.hidden[1]: must be a number, not true" + BOOLEAN),
        ("name: x\ndataset: {name: poly}\nmodel: {name: mlp, lr: yes}\nlambdas: [0]\n", "{p}: model.lr: must be a number, not true" + BOOLEAN),
        ("name: x\ndataset: {name: poly}\nmodel: {name: mlp, epochs: on, batch_size: no}\nlambdas: [0]\n", "{p}: model.batch_size: must be a number, not false" + BOOLEAN + "\n{p}: model.epochs: must be a number, not true" + BOOLEAN),
        (BASE + "lambdas: {start: 0.1, stop: 0.1, num: 3}\n", "{p}: lambdas: only 1 of the num: 3 values from 0.1 to 0.1 are distinct; set num: 1 or widen start…stop"),
        (BASE + "lambdas: {start: 0.1, stop: 0.1, num: 3, include_zero: true, scale: linear}\n", "{p}: lambdas: only 1 of the num: 3 values from 0.1 to 0.1 are distinct; set num: 1 or widen start…stop"),
        (BASE + "lambdas: {start: 1.0, stop: 1.0000000000000002, num: 5, scale: linear}\n", "{p}: lambdas: only 2 of the num: 5 values from 1 to 1 are distinct; set num: 2 or widen start…stop"),
        # it ran start alone, without a word; an infinite stop read as "values … to inf"
        (BASE + "lambdas: {start: 1.0e-3, stop: 0.1, num: 1}\n", "{p}: lambdas.num: 1 is start (0.001) alone, so stop (0.1) would be ignored; set num ≥ 2, or write the λ as a list: lambdas: [0.001]"),
        (BASE + "lambdas: {start: 1.0e-3, stop: 1.0e400, num: 3}\n", "{p}: lambdas.stop: must be a finite number"),
        # every number of a config: lr=inf passed validate and crashed the sweep with a traceback
        (BASE + "lambdas: [1]\ntolerance: .inf\n", "{p}: tolerance: must be a finite number"),
        ("name: x\ndataset: {name: poly, noise: .nan}\nmodel: {name: mlp, lr: .inf}\nlambdas: [1]\n", "{p}: dataset.noise: must be a finite number\n{p}: model.lr: must be a finite number"),
        (BASE + "lambdas: [0.1, 1.0e-1]\n", "{p}: lambdas: duplicate value 0.1"),
        (BASE + "lambdas: {values: [0, 0.1]}\n", "{p}: lambdas.values: write the λ as a list instead: lambdas: [0, 0.01, 0.1]"),
        ("name: x\ndataset: moons\nmodel: {name: logistic}\nlambdas: [1]\n", "{p}: dataset: must be a mapping: write {{name: moons}}"),
        ("name: x\ndataset: {name: moons}\nmodel: logistic\nlambdas: [1]\n", "{p}: model: must be a mapping: write {{name: logistic}}"),
        ("name: x\ndataset: {name: moons}\nmodel: 3\nlambdas: [1]\n", "{p}: model: must be a mapping"),
        (BASE + "lambdas: [0, -0.0]\n", "{p}: lambdas: duplicate value -0"),
        (BASE + "lambdas: [0]\nseeds: [3, 1, 3]\n", "{p}: seeds: duplicate value 3"),
        (BASE + "lambdas: [0]\nseeds: 100001\n", "{p}: seeds: must be ≤ 100000"),
        (BASE + "x-base: &b {a: 1}\nlambdas: [0]\nlambdas: [1]\n", "{p}: line 6: duplicate key 'lambdas'"),
        ("x-m: &m {name: mlp, lr: 0.1}\nname: x\ndataset: {name: poly}\nmodel: {<<: *m, lr: 0.2, lr: 0.3}\nlambdas: [0]\n", "{p}: line 4: duplicate key 'lr'"),
        # an option whose owner makes it inert was ignored without a word
        ("name: x\ndataset: {name: poly}\nmodel: {name: mlp, optimizer: sgd, beta2: 0.5}\nlambdas: [0]\ngrid: {model.optimizer: [sgd, momentum]}\n", "{p}: model.beta2: acts only with optimizer: adam, and this config's optimizer is sgd or momentum, so it would change nothing; set optimizer or remove beta2 (or --set model.beta2=0.999, its default)"),
        (BASE + "lambdas: [0]\ntune_holdout: 0.4\n", "{p}: tune_holdout: acts only with tune:, and this config tunes nothing, so it would change nothing; remove it"),
        ("name: x\ndataset: {name: csv, path: a.csv, target: y, test_path: b.csv, test_size: 0.5}\nmodel: {name: linear}\nlambdas: [0]\n", "{p}: dataset.test_size: the test split is test_path's rows, so it would change nothing; remove it (dataset.n_train takes the first rows of path)"),
        ("name: x\ndataset: {name: csv, path: a.csv, target: y, test_path: b.csv}\nmodel: {name: linear}\nlambdas: [0]\ngrid: {dataset.test_size: [0.2, 0.5]}\n", "{p}: grid dataset.test_size: the test split is test_path's rows, so it would change nothing; remove it (dataset.n_train takes the first rows of path)"),
        ("name: x\ndataset: {name: poly}\nmodel: {name: mlp, epochs: 2, warmup_epochs: 3}\nlambdas: [0]\n", "{p}: model.warmup_epochs: acts only with schedule: cosine, and this config's schedule is constant, so it would change nothing; set schedule or remove warmup_epochs (or --set model.warmup_epochs=0, its default)"),
        ("name: x\ndataset: {name: poly}\nmodel: {name: mlp, decay_convention: paper}\nlambdas: [0]\n", "{p}: model.decay_convention: acts only with regularization: decoupled, and this config's regularization is l2, so it would change nothing; set regularization or remove decay_convention (or --set model.decay_convention=torch, its default)"),
        ("name: x\ndataset: {name: poly}\nmodel: {name: mlp, optimizer: sgd, beta2: 0.98}\nlambdas: [0]\n", "{p}: model.beta2: acts only with optimizer: adam, and this config's optimizer is sgd, so it would change nothing; set optimizer or remove beta2 (or --set model.beta2=0.999, its default)"),
        ("name: x\ndataset: {name: poly}\nmodel: {name: mlp, nesterov: true}\nlambdas: [0]\n", "{p}: model.nesterov: acts only with optimizer: momentum, and this config's optimizer is adam, so it would change nothing; set optimizer or remove nesterov (or --set model.nesterov=false, its default)"),
        # tune carved rows out of each seed's split while LOO's samples were keyed by the data
        ("name: x\ndataset: {name: poly}\nmodel: {name: linear}\nlambdas: [0.1]\nvalidation: {kind: loo}\ntune: {model.solver: [svd, eigh]}\n", "{p}: tune: not with validation kind loo, which is exact on the whole training split, where tune carves its own validation rows out of it; use {{kind: kfold}}"),
        # a name YAML reads as a boolean said only "must be a valid string"
        ("name: off\ndataset: {name: poly}\nmodel: {name: linear}\nlambdas: [0]\n", "{p}: name: must be a string, not the boolean false (YAML reads yes/no/on/off/true/false as booleans); quote it: '…'"),
        # a column named by a number (a year) said only "must be a valid string"
        ("name: x\ndataset: {name: csv, path: a.csv, target: 2019}\nmodel: {name: linear}\nlambdas: [0]\n", "{p}: dataset.target: must be a string, not the number 2019 (YAML reads it as a number); quote it: '2019'"),
        # a tune over where the curves are recorded held out rows to choose among equal fits
        ("name: x\ndataset: {name: poly}\nmodel: {name: mlp}\nlambdas: [0]\ntune: {model.eval_every: [1, 5]}\n", "{p}: tune: model.eval_every: cannot be tuned: it sets where the curves are recorded, not how the model trains, so every candidate would fit alike, yet tune would hold out training rows to choose among them"),
        # max_iter 2 and 100 both failed at λ = 0; the warning said "raise model.max_iter"
        ("name: x\ndataset: {name: iris}\nmodel: {name: logistic}\nlambdas: [0]\ntune: {model.max_iter: [2, 100]}\n", "{p}: tune: model.max_iter: cannot be tuned: it caps the solver's iterations, and every candidate that converges reaches the same minimiser (one that does not is not_converged), so every candidate would fit alike, yet tune would hold out training rows to choose among them"),
        ("name: x\ndataset: {name: poly}\nmodel: {name: mlp}\nlambdas: [0]\ntune: {model.dtype: [float32, float64]}\n", "{p}: tune: model.dtype: cannot be tuned: it sets the floating point type, not the model (the candidates differ by rounding), so every candidate would fit alike, yet tune would hold out training rows to choose among them"),
        # an MLP has no max_iter: the solver's explanation was given for a key it lacks
        ("name: x\ndataset: {name: poly}\nmodel: {name: mlp}\nlambdas: [0]\ntune: {model.max_iter: [2, 100]}\n", "{p}: tune model.max_iter=2: model.max_iter: unknown key"),
        # tol 0.1 stopped every λ at the constant predictor Newton starts from, `ok`, and
        # called λ = 0 separable (its J below tol)
        ("name: x\ndataset: {name: iris}\nmodel: {name: logistic, tol: 0.1}\nlambdas: [0]\n", "{p}: model.tol: must be ≤ 0.0001: a looser tolerance can stop at the constant predictor that Newton starts from, whose gradient is often that small (Newton needs a step or two more for 1e-8, the default)"),
        # validation's members are told apart by kind: "validation.name: required key is missing"
        ("name: x\ndataset: {name: poly}\nmodel: {name: linear}\nlambdas: [0]\nvalidation: {folds: 5}\n", "{p}: validation.kind: required key is missing"),
        ("name: x\ndataset: {name: poly}\nmodel: {name: linear}\nlambdas: [0]\nvalidation: kfold\n", "{p}: validation: must be a mapping: write {{kind: kfold}}"),
        ("name: x\ndataset: {name: poly}\nmodel: {name: linear}\nlambdas: {auto: false, num: 5}\n", "{p}: lambdas.auto: must be true (a grid chosen from the data); for a grid of your own drop auto and give start, stop and num, or a list"),
        # ... and so were the values of an axis over it: every point repeated the same runs
        ("name: x\ndataset: {name: poly}\nmodel: {name: mlp}\nlambdas: [0]\ngrid: {model.momentum: [0.5, 0.9]}\n", "{p}: grid model.momentum: acts only with optimizer: momentum, and this config's optimizer is adam, so it would change nothing (every value repeats the same runs); set optimizer or remove the axis"),
        ("name: x\ndataset: {name: poly}\nmodel: {name: mlp}\nlambdas: [0]\ngrid: {model.optimizer: [sgd, momentum], model.beta1: [0.5, 0.9]}\n", "{p}: grid model.beta1: acts only with optimizer: adam, and this config's optimizer is sgd or momentum, so it would change nothing (every value repeats the same runs); set optimizer or remove the axis"),
        ("name: x\ndataset: {name: poly, n_train: 30}\nmodel: {name: linear}\nlambdas: [0]\ngrid: {dataset.test_size: [0.3, 0.5]}\n", "{p}: grid dataset.test_size: dataset.n_train sets the split at every point, so its values would change nothing (every value repeats the same runs); remove the axis or n_train"),
        ("name: x\ndataset: {name: poly}\nmodel: {name: mlp, optimizer: sgd}\nlambdas: [0]\ntune: {model.beta1: [0.8, 0.9]}\n", "{p}: tune model.beta1: acts only with optimizer: adam, and this config's optimizer is sgd, so it would change nothing (every value repeats the same runs); set optimizer or remove the axis"),
        ("name: x\ndataset: {name: poly}\nmodel: {name: mlp, schedule: cosine, step_gamma: 0.5}\nlambdas: [0]\n", "{p}: model.step_gamma: acts only with schedule: step, and this config's schedule is cosine, so it would change nothing; set schedule or remove step_gamma (or --set model.step_gamma=0.1, its default)"),
        (
            "name: x\ndataset: {name: poly, a: 1, b: 2, c: 3}\nmodel: {name: linear, d: 1, e: 2, f: 3, g: 4}\nlambdas: [0]\n",
            "{p}: dataset.a: unknown key\n{p}: dataset.b: unknown key\n{p}: dataset.c: unknown key\n{p}: model.d: unknown key\n{p}: model.e: unknown key\n{p}: … and 2 more errors",
        ),
    ],
)  # fmt: skip
def test_validate_and_sweep_refuse_alike(write_config, tmp_path, text, message):
    path = write_config(text)
    expected = message.format(p=path) + "\n"
    checked = run("validate", str(path))
    assert (checked.exit_code, checked.stderr) == (2, expected)
    out = tmp_path / "out" / "r.json"
    out.parent.mkdir()
    swept = run("sweep", str(path), "--out", str(out))
    assert (swept.exit_code, swept.stderr) == (2, expected)
    assert list(out.parent.iterdir()) == []


def test_merge_keys_work_and_the_mapping_overrides(write_config):
    path = write_config("""\
        x-net: &net {name: mlp, hidden: [8], lr: 0.01, epochs: 5}
        x-grid: &grid {start: 1.0e-3, stop: 1, num: 4}
        name: merged
        dataset: {name: poly}
        model:
          <<: *net
          lr: 0.05
        lambdas: {<<: *grid, include_zero: true}
        """)
    config = load_config(path)
    assert (config.model.hidden, config.model.lr, config.model.epochs) == ([8], 0.05, 5)
    assert config.lambda_values() == [0.0, 1e-3, 1e-2, 1e-1, 1.0]
    assert "x-net" not in config.resolved()


def test_a_grid_whose_values_coincide_is_not_run_as_extra_seeds(write_config):
    """validate and sweep agree: the grid is refused by both, before any run."""
    path = write_config(BASE + "lambdas: {start: 0.1, stop: 0.1, num: 1}\nseeds: 2\n")
    result = run("validate", str(path))
    assert result.exit_code == 0
    assert result.stdout == f"{path}: ok (linear on poly, 1 λ × 2 seeds = 2 runs)\n"


# --------------------------------------------------------------------------- property tests

BAD_CONFIGS: set[str] = set()  # every bad config tried; conftest prints the count

NUMERIC_PLACES = [
    ("lambdas", "lambdas: [0, 0.01, {b}]", "lambdas[2]"),
    ("seeds", "seeds: {b}", "seeds"),
    ("seed list", "seeds: [0, {b}]", "seeds[1]"),
    ("grid num", "lambdas: {{start: 1.0e-3, stop: 1, num: {b}}}", "lambdas.num"),
    ("tolerance", "tolerance: {b}", "tolerance"),
    ("noise", "dataset: {{name: poly, n_samples: 30, noise: {b}}}", "dataset.noise"),
    ("n_samples", "dataset: {{name: poly, n_samples: {b}}}", "dataset.n_samples"),
    ("lr", "model: {{name: mlp, lr: {b}}}", "model.lr"),
    ("epochs", "model: {{name: mlp, epochs: {b}}}", "model.epochs"),
    ("hidden", "model: {{name: mlp, hidden: [4, {b}]}}", "model.hidden[1]"),
    ("max_iter", "model: {{name: logistic, max_iter: {b}}}", "model.max_iter"),
]
YAML_BOOLEANS = {"yes": "true", "no": "false", "on": "true", "off": "false", "true": "true",
                 "false": "false", "True": "true", "NO": "false"}  # fmt: skip


def _config_text(line: str) -> str:
    parts = {
        "name": "name: p",
        "dataset": "dataset: {name: poly, n_samples: 30}",
        "model": "model: {name: linear}",
        "lambdas": "lambdas: [0, 0.1]",
    }
    key = line.split(":")[0]
    if key == "model" and "logistic" in line:
        parts["dataset"] = "dataset: {name: moons, n_samples: 30}"
    parts[key] = line
    return "\n".join(parts.values()) + "\n"


def _both_refuse(text: str, expected_lines: list[str]) -> None:
    BAD_CONFIGS.add(text)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "c.yaml"
        path.write_text(text)
        expected = "".join(f"{path}: {line}\n" for line in expected_lines)
        checked = run("validate", str(path))
        assert (checked.exit_code, checked.stderr) == (2, expected)
        out = Path(folder) / "out" / "r.json"
        out.parent.mkdir()
        swept = run("sweep", str(path), "--out", str(out))
        assert (swept.exit_code, swept.stderr) == (2, expected)
        assert list(out.parent.iterdir()) == []


@pytest.mark.slow
@settings(max_examples=60, deadline=None)
@given(st.sampled_from(NUMERIC_PLACES), st.sampled_from(sorted(YAML_BOOLEANS)))
def test_a_boolean_anywhere_a_number_belongs_is_refused(place, word):
    _, template, field = place
    text = _config_text(template.format(b=word))
    _both_refuse(text, [f"{field}: must be a number, not {YAML_BOOLEANS[word]}{BOOLEAN}"])


@pytest.mark.slow
@settings(max_examples=40, deadline=None)
@given(
    st.floats(1e-12, 1e3, allow_nan=False),
    st.integers(2, 50),
    st.sampled_from(["log", "linear"]),
    st.booleans(),
)
def test_a_grid_of_one_value_repeated_is_refused(start, num, scale, zero):
    text = _config_text(
        f"lambdas: {{start: {start!r}, stop: {start!r}, num: {num}, scale: {scale}, "
        f"include_zero: {str(zero).lower()}}}"
    )
    _both_refuse(
        text,
        [
            f"lambdas: only 1 of the num: {num} values from {start:g} to {start:g} are "
            "distinct; set num: 1 or widen start…stop"
        ],
    )


@pytest.mark.slow
@settings(max_examples=30, deadline=None)
@given(st.lists(st.integers(0, 20), min_size=2, max_size=8).filter(lambda s: len(set(s)) < len(s)))
def test_repeated_seeds_are_refused(seeds):
    text = _config_text("lambdas: [0, 0.1]") + f"seeds: {seeds}\n"
    repeated = next(s for i, s in enumerate(seeds) if s in seeds[:i])
    _both_refuse(text, [f"seeds: duplicate value {repeated}"])


@pytest.mark.parametrize(
    "extra",
    [
        "model: {name: mlp, momentum: 0.5}\ngrid: {model.optimizer: [momentum, adam]}\n",
        "model: {name: mlp, warmup_epochs: 1, epochs: 3}\ntune: {model.schedule: [cosine, constant]}\n",
        "model: {name: mlp, schedule: cosine, warmup_epochs: 1, epochs: 3}\n",
        "model: {name: mlp, warmup_epochs: 0}\n",  # its default, written out: harmless
    ],
)
def test_an_option_whose_owner_an_axis_varies_is_allowed(write_config, extra):
    path = write_config("name: x\ndataset: {name: poly, n_samples: 80}\nlambdas: [0]\n" + extra)
    checked = run("validate", str(path))
    assert (checked.exit_code, checked.stderr) == (0, "")


def test_n_train_beside_test_size_is_noted(write_config):
    # the split used n_train; the results file recorded test_size 0.3 without a word
    path = write_config("name: x\ndataset: {name: poly, n_samples: 60, n_train: 20, test_size: 0.3}\n"
                        "model: {name: linear}\nlambdas: [0.1]\n")  # fmt: skip
    checked = run("validate", str(path))
    assert (checked.exit_code, checked.stderr) == (
        0, "note: dataset.n_train (20) sets the split, so test_size (0.3) is not used\n")  # fmt: skip


def test_n_train_beside_train_fraction_is_noted(write_config):
    # modular's train_fraction gave way to n_train without a word
    path = write_config("name: x\ndataset: {name: modular, p: 31, train_fraction: 0.3, "
                        "n_train: 700, seed: 0}\nmodel: {name: mlp}\nlambdas: [0.1]\n")  # fmt: skip
    checked = run("validate", str(path))
    assert checked.exit_code == 0
    assert checked.stderr == (
        "note: dataset.n_train (700) sets the split, so train_fraction (0.3) is not used\n"
    )
