"""Data: sources (one module each), the split, folds and preprocessing.

Only the numpy containers are imported here (`wdcli.data.dataset`); building a dataset from a
config is `wdcli.data.build`.
"""

from wdcli.data.dataset import (
    CLASSIFICATION,
    REGRESSION,
    Dataset,
    Split,
    copied_rows,
    standardise,
    target_scale,
)

__all__ = [
    "CLASSIFICATION",
    "REGRESSION",
    "Dataset",
    "Split",
    "copied_rows",
    "standardise",
    "target_scale",
]


def __getattr__(name: str):
    """`wdcli.data.build_dataset` (the name scripts used before `build` had its module),
    imported on first use so that importing `wdcli.data` still loads no config schema."""
    if name == "build_dataset":
        from wdcli.data.build import build_dataset

        return build_dataset
    raise AttributeError(f"module 'wdcli.data' has no attribute {name!r}")
