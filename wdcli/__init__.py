"""wdcli: see what L2 regularisation / weight decay does to a model."""

__version__ = "0.1.0"

# One sentence that every table, results file and figure carries, so a λ means one thing.
CONVENTION = "J = mean data loss + λ·Σw² (weights only, biases unpenalised)"


def versions() -> dict:
    """The versions a run's numbers depend on beyond its config and data: a journal records
    them, and its runs are resumed (or a Dask worker's taken) only under the same."""
    from importlib.metadata import version

    import numpy

    return {"wdcli": __version__, "numpy": numpy.__version__,
            "scikit_learn": version("scikit-learn")}  # fmt: skip
