"""Data: sources (one module each), the split, folds and preprocessing.

Only the numpy containers are imported here (`wdcli.data.dataset`); building a dataset from a
config is `wdcli.data.build`.
"""

from wdcli.data.dataset import (
    CLASSIFICATION,
    REGRESSION,
    Dataset,
    Split,
    standardise,
    target_scale,
)

__all__ = ["CLASSIFICATION", "REGRESSION", "Dataset", "Split", "standardise", "target_scale"]
