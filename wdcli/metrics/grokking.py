"""Steps to 99 % accuracy: when a full-batch classifier memorises, when it generalises.

Grokking (Power et al. 2022) is a long delay between the step at which the training accuracy
reaches ~100 % and the step at which the test accuracy does. From a run's accuracy curves this
module finds the first recorded step at which each reached THRESHOLD and the delay between
them, and summarises them per λ over the seeds that reached it. The resolution is the
curve's: `model.eval_every` steps.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the records are pydantic models, which the math does not load
    from wdcli.records import Results, SummaryRow

THRESHOLD = 0.99
FIELDS = ("train_acc_99_step", "test_acc_99_step", "grok_delay")


def first_reached(steps: Sequence[int], values: Sequence[float | None], threshold: float):
    """The first step after step 0 whose value is ≥ threshold, or None. Step 0 is the network
    before any training: a tiny test split it gets right by chance (2 pairs of p = 3) is no
    generalisation (it read as step 0, a delay of −35, for a run that ended at accuracy 0)."""
    for step, value in zip(steps, values, strict=True):
        if step > 0 and value is not None and value >= threshold:
            return int(step)
    return None


def run_fields(curve: dict) -> dict:
    """{train_acc_99_step, test_acc_99_step, grok_delay} of one run's curve (None: not
    reached); {} when the curve holds no accuracy."""
    if "train_accuracy" not in curve or "test_accuracy" not in curve:
        return {}
    steps = curve["epoch"]
    train = first_reached(steps, curve["train_accuracy"], THRESHOLD)
    test = first_reached(steps, curve["test_accuracy"], THRESHOLD)
    delay = test - train if train is not None and test is not None else None
    return {"train_acc_99_step": train, "test_acc_99_step": test, "grok_delay": delay}


def summarise(runs: list[dict]) -> dict:
    """Per-λ summary of the runs' FIELDS: mean and sample std over the runs that reached the
    threshold, and how many did (`n_<field>`); {} when the runs have no such fields."""
    if not any(FIELDS[0] in run for run in runs):
        return {}
    row = {}
    for key in FIELDS:
        values = [run[key] for run in runs if run.get(key) is not None]
        mean = math.fsum(values) / len(values) if values else None
        std = None
        if len(values) > 1:
            std = math.sqrt(math.fsum((v - mean) ** 2 for v in values) / (len(values) - 1))
        row.update({f"{key}_mean": mean, f"{key}_std": std, f"n_{key}": len(values)})
    return row


def applies(document: Results) -> bool:
    """Whether a results document has the step columns (a full-batch classifier's sweep)."""
    return document.config.model.value("batch_size") == "full" and any(
        row.has(f"n_{FIELDS[0]}") for row in document.summary
    )


def cell(row: SummaryRow, key: str, steps: int | None) -> str:
    """A table cell: '1200', '1200 ± 310', '1200 (2 of 3)', 'not within 20000', or '–'
    where no run trained (a λ refused before training did not fail to reach anything)."""
    mean, reached, runs = row.stat(key), row.value(f"n_{key}") or 0, _runs(row)
    if mean is None:
        if key == "grok_delay" or runs == 0:
            return "–"
        return f"not within {steps}" if steps is not None else "not reached"
    # a mean of whole steps: 7.5 is not 8 (rounded half to even, 7.5 and 6.5 read as 8 and 6,
    # and the delay no longer matched the steps)
    text = f"{mean:.0f}" if mean == round(mean) else f"{mean:.1f}"
    std = row.stat(key, "std")
    if std is not None:
        text += f" ± {std:.2g}"
    if reached < runs:  # the delay too: it exists where both steps were reached
        text += f" ({reached} of {runs})"
    return text


def _runs(row: SummaryRow) -> int:
    return (row.n_runs or 0) - (row.n_diverged or 0)
