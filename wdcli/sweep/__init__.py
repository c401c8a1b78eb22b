"""A sweep: points × λ × seeds × folds cut into work units, run by an executor, journalled.

    plan.py      the units and their run keys (wdcli.runkey); what a crash left to do
    datasets.py  each seed's and fold's data, built once per process
    unit.py      one unit trained as stacked models (stacking.py), one record per run key
    run.py       the checks before anything is written, the run, the results document
    schedule.py  the default executor and its workers; budget.py memory and time;
    autogrid.py  `lambdas: auto`

Units are independent, so any executor can run them in any order: the numbers of a run depend
only on its key (point, λ, seed, fold) and the config.
"""

from wdcli.sweep.datasets import check_folds, dataset_for, split_for, unit_dataset
from wdcli.sweep.plan import (
    Unit,
    check_task,
    chunks_per_seed,
    plan_units,
    planned_keys,
    run_key,
    split_done,
)
from wdcli.sweep.run import (
    Prepared,
    check_points,
    combined_fingerprint,
    execute,
    finish,
    prepare,
    selection_fields,
)
from wdcli.sweep.unit import run_record, run_unit, warm_worker

__all__ = [
    "Prepared",
    "Unit",
    "check_folds",
    "check_points",
    "check_task",
    "chunks_per_seed",
    "combined_fingerprint",
    "dataset_for",
    "execute",
    "finish",
    "plan_units",
    "planned_keys",
    "prepare",
    "run_key",
    "run_record",
    "run_unit",
    "selection_fields",
    "split_done",
    "split_for",
    "unit_dataset",
    "warm_worker",
]
