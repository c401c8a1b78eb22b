"""The two tasks a dataset can pose; every layer names them by these constants."""

REGRESSION = "regression"
CLASSIFICATION = "classification"
TASKS = (REGRESSION, CLASSIFICATION)
