"""`wdcli init`: commented starter configs, one per model (each is tested to validate).

A model may have one written by hand below (WRITTEN); any other model's starter is derived
from its `model:` class: every key with its default and the start of its description,
on a dataset of the first task the model learns.
"""

from __future__ import annotations

import re

import yaml

from wdcli.config import MODEL_CONFIGS
from wdcli.models import MODELS
from wdcli.tasks import CLASSIFICATION, REGRESSION

_HEAD = """\
# A wdcli config. Run it with:  wdcli sweep THIS_FILE
# Check it without running:     wdcli validate THIS_FILE
# Every key and its default:    wdcli list datasets · wdcli list models · wdcli schema
# Convention: J = mean data loss + λ·Σw² (weights only, biases unpenalised).
"""

_GRID = """\
lambdas:                    # the grid of λ: an explicit list such as [0, 1e-4, 1e-2], or
                            #   auto (chosen from the data), or
  start: 1e-6               #   smallest nonzero λ
  stop: 1.0                 #   largest λ
  num: 13                   #   how many nonzero λ
  scale: log                #   log or linear spacing
  include_zero: true        #   also run λ = 0 (no penalty) as its own row
seeds: 3                    # seeds 0, 1, 2: each draws its own data and split (an MLP: its start too)
tolerance: 0.05             # a λ is 'good' within 5 % of the best mean test loss
validation:                 # holdout: choose λ on the test split; or {kind: kfold, folds: 10}
  kind: holdout             #   to choose it on folds of the training split (loo: ridge only)
"""


def _grid(task: str) -> str:
    """The λ grid and what follows it; a classifier's starter trains on separable classes
    (breast_cancer), where λ = 0 has no minimiser, so it runs λ > 0 only."""
    if task != CLASSIFICATION:
        return _GRID
    return _GRID.replace(
        "  include_zero: true        #   also run λ = 0 (no penalty) as its own row",
        "  include_zero: false       #   true adds λ = 0: no minimiser on these separable classes",
    )


WRITTEN = {
    "mlp": _HEAD
    + """\
name: my-mlp                # names the results file: results/my-mlp-TIME.json
dataset:
  name: friedman1           # a smooth nonlinear regression target
  n_samples: 400
  noise: 1.0
  test_size: 0.5
model:
  name: mlp
  hidden: [64, 64]          # two hidden layers of 64 units
  activation: relu
  optimizer: adam           # sgd | momentum | adam
  lr: 0.001
  batch_size: 32
  epochs: 200
  regularization: l2        # l2 (penalty in the loss) | decoupled (AdamW-style decay)
"""
    + _GRID,
    "linear": _HEAD
    + """\
name: my-ridge
dataset:
  name: regression          # a random linear target plus noise
  n_samples: 200
  n_features: 100
  noise: 10.0
  test_size: 0.5
model:
  name: linear              # exact ridge: every λ from one factorisation
"""
    + _GRID,
    "logistic": _HEAD
    + """\
name: my-logistic
dataset:
  name: breast_cancer       # bundled with scikit-learn, two classes
  n_train: 100              # a small training set shows overfitting clearly
model:
  name: logistic
  tol: 1.0e-8               # stop when the gradient's max-norm is below this
"""
    + _grid(CLASSIFICATION),
}

# The dataset of a derived starter, by the first task its model learns.
_DATASETS = {
    REGRESSION: """\
dataset:
  name: friedman1           # a smooth nonlinear regression target
  n_samples: 400
  noise: 1.0
  test_size: 0.5
""",
    CLASSIFICATION: """\
dataset:
  name: breast_cancer       # bundled with scikit-learn, two classes
  n_train: 100              # a small training set shows overfitting clearly
""",
}


def derived(name: str) -> str:
    """The starter of model `name` from its `model:` class's defaults."""
    lines = [f"name: my-{name}", _DATASETS[MODELS[name].tasks[0]].rstrip("\n"), "model:"]
    lines.append(f"  name: {name}")
    for key, field in MODEL_CONFIGS[name].model_fields.items():
        if key == "name" or field.is_required():
            continue
        value = yaml.safe_dump(field.default, default_flow_style=True).removesuffix("\n...\n")
        about = re.split(r"\. |; | \(", field.description or "")[0].rstrip(".")
        setting = f"  {key}: {value.strip()}"
        lines.append(f"{setting:<27} # {about}" if about else setting)
    return _HEAD + "\n".join(lines) + "\n" + _grid(MODELS[name].tasks[0])


STARTERS = {name: WRITTEN.get(name) or derived(name) for name in MODELS}
