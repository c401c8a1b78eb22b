"""The `model:` section: one model per model name, in MODEL_CONFIGS."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import (
    Field,
    field_validator,
    model_validator,
)

from wdcli.activations import ACTIVATIONS
from wdcli.config.base import Strict, subclasses_by_name, tagged_union
from wdcli.optim import OPTIMIZERS

# The choices are the registries' keys, in their order: a new activation or optimiser is one
# entry there (mypy sees plain strings).
if TYPE_CHECKING:
    ActivationName = str
    OptimizerName = str
else:
    ActivationName = Literal[tuple(ACTIVATIONS)]
    OptimizerName = Literal[tuple(OPTIMIZERS)]

# --------------------------------------------------------------------------- models


class ModelBase(Strict):
    """A `model:` section; each subclass below is one model of wdcli.models.MODELS."""


class LinearModel(ModelBase):
    """Ridge regression: the exact λ path from one factorisation."""

    name: Literal["linear"]
    solver: Literal["auto", "svd", "eigh"] = Field(
        "auto",
        description="svd: thin SVD of X (safe on ill-conditioned X); eigh: eigendecomposition "
        "of the Gram matrix (faster); auto: eigh when X is well conditioned, else svd.",
    )


MAX_TOL = 1e-4  # logistic's loosest tolerance (scikit-learn's default)


class LogisticModel(ModelBase):
    """L2-regularised logistic (two classes) or softmax (more) regression."""

    name: Literal["logistic"]
    tol: float = Field(
        1e-8,
        gt=0,
        description="Stop when the gradient's max-norm is below this and the Newton step "
        "is small (at λ = 0 on separable data no minimiser exists: not_converged).",
    )
    max_iter: int = Field(100, ge=1, description="Most Newton iterations per λ.")

    @field_validator("tol")
    @classmethod
    def _tight_enough(cls, value: float) -> float:
        if value > MAX_TOL:  # tol 0.1 stopped every λ at the constant predictor it starts
            raise ValueError(  # from (its gradient 0.02), ok, and called λ = 0 separable
                f"must be ≤ {MAX_TOL:g}: a looser tolerance can stop at the constant predictor "
                "that Newton starts from, whose gradient is often that small (Newton needs a "
                "step or two more for 1e-8, the default)"
            )
        return value


class MLPModel(ModelBase):
    """A small fully connected network trained by mini-batch gradient descent."""

    name: Literal["mlp"]
    hidden: list[Annotated[int, Field(ge=1)]] = Field(
        [64, 64], description="Units in each hidden layer."
    )
    activation: ActivationName = Field("relu", description="Activation of the hidden layers.")
    init: Literal["auto", "sklearn", "he", "glorot"] = Field(
        "auto",
        description="Initial weights. sklearn: scikit-learn's MLP, W and b uniform in "
        "±√(6/(fan_in + fan_out)) (2 for sigmoid); he: normal, variance 2/fan_in, b = 0; "
        "glorot: uniform in ±√(6/(fan_in + fan_out)), b = 0; auto: he for sigmoid, sklearn "
        "otherwise.",
    )
    optimizer: OptimizerName = Field("adam", description="Update rule.")
    lr: float = Field(1e-3, gt=0, description="Learning rate.")
    momentum: float = Field(0.9, ge=0, lt=1, description="Momentum (optimizer: momentum).")
    nesterov: bool = Field(False, description="Nesterov momentum (optimizer: momentum).")
    beta1: float = Field(0.9, ge=0, lt=1, description="Adam's first-moment decay.")
    beta2: float = Field(0.999, ge=0, lt=1, description="Adam's second-moment decay.")
    eps: float = Field(1e-8, gt=0, description="Adam's epsilon.")
    batch_size: Annotated[int, Field(ge=1)] | Literal["full"] = Field(
        32,
        description="Samples per mini-batch (capped at n_train); full: every step is one "
        "gradient step on the whole training split, in a fixed order (one epoch = one step).",
    )
    epochs: int = Field(200, ge=1, description="Passes over the training data.")
    regularization: Literal["l2", "decoupled"] = Field(
        "l2",
        description="l2: λΣw² added to the loss; decoupled: w ← w − lr·2λ·w beside the "
        "optimiser step (AdamW-style).",
    )
    decay_convention: Literal["torch", "paper"] = Field(
        "torch",
        description="decoupled only. torch: w ← w − lr·η_t·2λ·w (PyTorch's AdamW with "
        "weight_decay = 2λ: the decay follows the learning rate); paper: w ← w − η_t·2λ·w "
        "(Loshchilov & Hutter: only the schedule multiplier η_t scales the decay).",
    )
    schedule: Literal["constant", "cosine", "step"] = Field(
        "constant",
        description="Learning-rate multiplier η_t per mini-batch step: constant 1; cosine "
        "from 1 to 0 over training (after the warm-up); step: × step_gamma every step_epochs.",
    )
    warmup_epochs: int = Field(
        0, ge=0, description="cosine: epochs of linear warm-up from 0 to 1 before the decay."
    )
    step_epochs: int = Field(50, ge=1, description="step: epochs between two drops of η_t.")
    step_gamma: float = Field(0.1, gt=0, le=1, description="step: factor of each drop.")
    dtype: Literal["float64", "float32"] = Field("float64", description="Floating point type.")

    @model_validator(mode="after")
    def _warmup_fits(self) -> MLPModel:
        if self.schedule == "cosine" and self.warmup_epochs >= self.epochs:
            raise ValueError(
                f"warmup_epochs ({self.warmup_epochs}) must be < epochs ({self.epochs})"
            )
        if self.schedule == "step" and self.step_epochs >= self.epochs:
            raise ValueError(  # it trained as constant, and the results said step
                f"step_epochs ({self.step_epochs}) must be < epochs ({self.epochs}): the "
                "learning rate would never drop"
            )
        if self.schedule == "step" and self.step_gamma == 1:
            raise ValueError(
                "step_gamma: 1 drops nothing, so schedule: step would train as constant; set "
                "step_gamma < 1 or schedule: constant"
            )
        if self.eval_points is not None and self.eval_every != "auto":
            raise ValueError(  # one of them sets where the curves are recorded
                f"eval_every ({self.eval_every}) and eval_points ({self.eval_points}): set one; "
                "eval_points records log-spaced epochs instead of every eval_every-th "
                "(eval_points: null to use eval_every)"
            )
        return self

    eval_every: Annotated[int, Field(ge=1)] | Literal["auto"] = Field(
        "auto",
        description="Record train/test loss (and accuracy) in the curve every this many epochs, "
        "i.e. steps with batch_size: full (each point evaluates every row of both splits). "
        "auto: the smallest stride that keeps evaluation within about 8 % of training time "
        "(1 evaluates after every epoch).",
    )

    eval_points: int | None = Field(
        None,
        ge=2,
        le=10_000,
        description="Instead of every eval_every epochs, record the curves at about this many "
        "epochs (steps) spaced evenly on a log scale, plus epoch 0: dense early, where a "
        "full-batch network memorises, sparse late, compact for long runs.",
    )

    eval_rows: int | None = Field(
        None,
        ge=64,
        description="Cheaper curves: points between the first, the late (start of the last "
        "tenth) and the last epoch are estimated on every s-th row of a split larger than this "
        "(at most this many rows); those three points and every reported loss use the whole "
        "split. null (default): every point on the whole split. Full-batch runs always use "
        "the whole split.",
    )

    @field_validator("batch_size", "eval_every", mode="before")
    @classmethod
    def _count_or_word(cls, value, info):
        word = {"batch_size": "full", "eval_every": "auto"}[info.field_name]
        if value == word or (isinstance(value, int) and not isinstance(value, bool) and value >= 1):
            return value
        raise ValueError(f"must be an integer ≥ 1 or '{word}', got {value!r}")

    @field_validator("hidden", mode="before")
    @classmethod
    def _widths(cls, value):
        if not isinstance(value, list):
            raise ValueError(f"must be a list of layer widths such as [64, 64], got {value!r}")
        return value

    def batch_rows(self, n_train: int) -> int:
        """Rows per step on n_train training rows: batch_size capped at n_train, or all."""
        return n_train if self.batch_size == "full" else min(self.batch_size, n_train)


# The `model:` classes by the name each declares, in the order defined above: a new model is
# one more subclass of ModelBase here; every name is a model of wdcli.models.MODELS
# (tests/test_architecture.py checks that the two registries hold the same names, in order).
MODEL_CONFIGS: dict[str, type[ModelBase]] = subclasses_by_name(ModelBase)

if TYPE_CHECKING:  # one of the classes above; mypy cannot follow a union built at run time
    ModelConfig = Any
else:
    ModelConfig = tagged_union(MODEL_CONFIGS)
