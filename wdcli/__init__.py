"""wdcli: see what L2 regularisation / weight decay does to a model."""

__version__ = "0.1.0"

# One sentence that every table, results file and figure carries, so a λ means one thing.
CONVENTION = "J = mean data loss + λ·Σw² (weights only, biases unpenalised)"
