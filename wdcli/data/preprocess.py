"""Features to a standardised float matrix, fitted on training rows only.

`Preprocessing(impute).fit(X_train)` learns everything from the training rows (the imputed
values, the categories, the mean and std) and `transform(X)` applies it to any rows: the
training split, the test split, or the training and validation parts of a fold. Nothing is
ever learnt from the rows it is applied to, so test rows cannot leak into training.

X is either a float array (synthetic and bundled datasets: only standardised) or a `Frame`
(a CSV's columns): numbers are imputed with scikit-learn's SimpleImputer (`mean` or
`median`), categories with the most frequent one, then one-hot encoded with its
OneHotEncoder (a category unseen in the training rows becomes all zeros).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from wdcli.errors import DataError


@dataclass(frozen=True)
class Frame:
    """A CSV's feature columns: `numeric` (n, p) floats with NaN where missing, and
    `categorical` (n, q) text cells with None where missing, named in `names`."""

    numeric: np.ndarray
    categorical: np.ndarray
    numeric_names: list[str]
    categorical_names: list[str]

    def __len__(self) -> int:
        return len(self.numeric)

    def __getitem__(self, rows) -> Frame:
        return Frame(
            self.numeric[rows], self.categorical[rows], self.numeric_names, self.categorical_names
        )


def row_tuples(X: np.ndarray | Frame, y: np.ndarray) -> list[tuple]:
    """The rows of (X, y) as tuples of their values as read (features, then the target), a
    missing cell None: rows compare equal however their file wrote the numbers, and a NaN
    matches a NaN."""
    numeric = X.numeric if isinstance(X, Frame) else X
    cells = [[None if v != v else v for v in row] for row in numeric.tolist()]  # NaN: None
    text = X.categorical.tolist() if isinstance(X, Frame) else [[] for _ in cells]
    return [(*a, *b, t) for a, b, t in zip(cells, text, y.tolist(), strict=True)]


def column_scale(X: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each column's mean and standard deviation, the deviation 1 for a constant column, and
    which columns are constant.

    Constant is decided as scikit-learn's StandardScaler does, relative to the column's own
    size: a feature measured in tiny units (values near 1e-15, or 1e-160 whose variance
    is subnormal) is standardised like any other, not mistaken for a constant."""
    peak = np.abs(X).max(axis=0, initial=0.0)
    peak = np.where(peak > 0, peak, 1.0)
    unit = X / peak  # columns of size 1, so that their variance cannot underflow
    n, eps = len(X), np.finfo(np.float64).eps
    var = unit.var(axis=0)
    constant = var <= n * eps * var + (n * eps * unit.mean(axis=0)) ** 2
    # X's own std as StandardScaler computes it, unless its variance is subnormal (values
    # near 1e-160: digits lost, every number 20 % off) or zero: then the unit columns'
    std = np.where(X.var(axis=0) >= np.finfo(np.float64).tiny, X.std(axis=0), np.sqrt(var) * peak)
    return X.mean(axis=0), np.where(constant, 1.0, std), constant


@dataclass
class Preprocessing:
    """Impute, one-hot encode (Frames) and standardise: `fit` on training rows, then
    `transform` any rows. `impute`: refuse | mean | median."""

    impute: str = "refuse"
    _steps: dict = field(default_factory=dict, repr=False)

    def fit(self, X_train) -> Preprocessing:
        encoded = self._fit_encoding(X_train) if isinstance(X_train, Frame) else X_train
        self._steps["scale"] = column_scale(encoded)
        return self

    def transform(self, X) -> np.ndarray:
        encoded = self._encode(X) if isinstance(X, Frame) else X
        mean, std, _ = self._steps["scale"]
        return (encoded - mean) / std

    @property
    def constant(self) -> np.ndarray:
        """Which columns are constant in the training rows (the fitted ones)."""
        return self._steps["scale"][2]

    def _fit_encoding(self, X: Frame) -> np.ndarray:
        if self.impute != "refuse":
            from sklearn.impute import SimpleImputer

            empty = empty_columns(X)
            if empty:
                raise DataError(
                    f"dataset.impute: column '{empty[0]}' has no value in the training rows to "
                    "fill its missing cells from; leave it out of dataset.features"
                )
            if X.numeric.shape[1]:
                self._steps["numbers"] = SimpleImputer(strategy=self.impute).fit(X.numeric)
            if X.categorical.shape[1]:
                self._steps["categories"] = SimpleImputer(
                    missing_values=None, strategy="most_frequent"
                ).fit(X.categorical)
        if X.categorical.shape[1]:
            from sklearn.preprocessing import OneHotEncoder

            cells = self._impute(X.categorical, "categories")
            encoder = OneHotEncoder(handle_unknown="ignore", sparse_output=False, dtype=float)
            self._steps["onehot"] = encoder.fit(cells)
            _check_width(X, encoder)
        return self._encode(X)

    def _encode(self, X: Frame) -> np.ndarray:
        parts = [self._impute(X.numeric, "numbers").astype(float, copy=False)]
        if "onehot" in self._steps:
            parts.append(self._steps["onehot"].transform(self._impute(X.categorical, "categories")))
        return np.hstack(parts) if len(parts) > 1 else parts[0]

    def _impute(self, values: np.ndarray, step: str) -> np.ndarray:
        imputer = self._steps.get(step)
        return imputer.transform(values) if imputer is not None else values


def empty_columns(X: Frame) -> list[str]:
    """The columns with no value at all in these rows: imputing cannot fill them from them."""
    if not len(X):
        return []
    numeric = np.all(np.isnan(X.numeric), axis=0)
    categorical = np.all(X.categorical == None, axis=0)  # noqa: E711
    return [name for name, empty in zip(X.numeric_names, numeric, strict=True) if empty] + [
        name for name, empty in zip(X.categorical_names, categorical, strict=True) if empty
    ]


def _check_width(X: Frame, encoder) -> None:
    """Refuse one-hot columns that cannot fit in memory (a column of IDs, say)."""
    from wdcli.memory import available_memory, human

    widths = [len(categories) for categories in encoder.categories_]
    nbytes = 4 * 8 * len(X) * (X.numeric.shape[1] + sum(widths))  # splits, copies: × 4
    if nbytes > available_memory():
        j = max(range(len(widths)), key=widths.__getitem__)
        raise DataError(
            f"dataset.categorical: column '{X.categorical_names[j]}' has {widths[j]} categories; "
            f"one-hot encoded the data would need about {human(nbytes)} of memory, more than "
            "is available"
        )


def prepare(X_train, others=(), impute: str = "refuse") -> tuple[np.ndarray, list[np.ndarray]]:
    """Fit the preprocessing on X_train and apply it to X_train and to each of `others`; a
    column constant in the training rows is 0 there, centred and not divided elsewhere."""
    step = Preprocessing(impute).fit(X_train)
    train = step.transform(X_train)
    # what varies in a constant column's training rows is rounding (0.3 beside
    # 0.30000000000000004): exactly 0, so that no model reads it as a feature (an MLP's
    # first-layer weights on it start at 0 and stay there)
    train[:, step.constant] = 0.0
    return train, [step.transform(X) for X in others]
