"""The modular-arithmetic dataset: (a ∘ b) mod p over every pair of residues.

Each of the p² pairs (a, b), 0 ≤ a, b < p, is one sample, labelled c = (a ∘ b) mod p (class
c of p). Its input is one-hot(a) ‖ one-hot(b), 2p columns of 0/1. A random permutation of
the pairs (from the data seed) puts the first n_train in the training split, the rest in the
test split, so every pair appears exactly once. The inputs are left as 0/1 codes, not
standardised: they are category codes, not measurements (docs/grokking.md).
"""

from __future__ import annotations

import numpy as np

from wdcli.config import CLASSIFICATION, ModularData
from wdcli.data.dataset import Split
from wdcli.data.sources import source

OPERATIONS = {
    "add": np.add,
    "subtract": np.subtract,
    "multiply": np.multiply,
}


def pairs(p: int, operation: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """a, b and (a ∘ b) mod p for all p² pairs, a major: pair i is (i // p, i % p)."""
    a, b = np.divmod(np.arange(p * p), p)
    return a, b, OPERATIONS[operation](a, b) % p


def one_hot_pairs(a: np.ndarray, b: np.ndarray, p: int) -> np.ndarray:
    """(n, 2p) float inputs: one-hot(a) in columns 0…p−1, one-hot(b) in p…2p−1."""
    X = np.zeros((len(a), 2 * p))
    rows = np.arange(len(a))
    X[rows, a] = 1.0
    X[rows, p + b] = 1.0
    return X


def split_pairs(cfg: ModularData, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices of the training and test pairs (each ascending), a partition of range(p²)."""
    n_train = cfg.n_train_pairs()  # 1 ≤ n_train < p², checked by the config
    order = np.random.default_rng([seed, 1]).permutation(cfg.p * cfg.p)
    return np.sort(order[:n_train]), np.sort(order[n_train:])


@source("modular", splits=True)
def split_modular(cfg: ModularData, seed: int) -> Split:
    """The train/test Split of `cfg` for the data seed `seed` (cfg.seed, when set, wins)."""
    data_seed = cfg.seed if cfg.seed is not None else seed
    a, b, c = pairs(cfg.p, cfg.operation)
    train, test = split_pairs(cfg, data_seed)
    X = one_hot_pairs(a, b, cfg.p)
    classes = [str(k) for k in range(cfg.p)]
    return Split(X[train], c[train], X[test], c[test], CLASSIFICATION, classes)
